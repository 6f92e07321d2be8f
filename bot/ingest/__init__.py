"""Ingestion: stats sources (SSH, local folder), the layered processed-check, settle, download, import."""
