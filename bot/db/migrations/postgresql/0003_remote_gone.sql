-- PostgreSQL twin of ../0003_remote_gone.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0003: deletions are part of the registry. A file the server no longer lists (noticed by a complete,
-- successful listing, or deleted by retention) gets remote_gone_at; a file that reappears clears it.
-- Each change is also a file_events row (remote_gone / remote_back / retention_delete_remote).
-- remote_gone_by: 'server' (deleted by someone else), 'retention' (our own deletion), 'operator'
-- (`statsbot registry repair --apply` recorded a deletion on the server as intended).
ALTER TABLE processed_files ADD COLUMN remote_gone_at DOUBLE PRECISION;           -- UTC epoch; NULL = on the server
ALTER TABLE processed_files ADD COLUMN remote_gone_by TEXT COLLATE "C"
    CHECK (remote_gone_by IS NULL OR remote_gone_by IN ('server', 'retention', 'operator'));
-- The few rows gone from the server, found without scanning the registry (poller start, diagnose).
CREATE INDEX processed_files_gone ON processed_files(server, filename) WHERE remote_gone_at IS NOT NULL;
