"""The database: connection, numbered migrations, and ALL the SQL of the project."""
