"""statsbot: exactly-once ingestion of ET:Legacy c0rnp0rn round stats."""

__version__ = "0.1.0"
