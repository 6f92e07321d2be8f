-- 0009: history. Files already on a server when statsbot first listed it are imported without posts
-- (the rounds up to `until` are quiet through instance.quiet_until, set in the same transaction), and
-- once they are all imported ONE summary is queued. `until` is the newest played_at of that first
-- complete listing ('' when it held no stats file: nothing to import quietly), `horizon` the same
-- instant as the file-name prefix 'YYYY-MM-DD-HHMMSS' (to find that listing's files still to import);
-- `announced_at` is set in the transaction that queues the summary (or finds nothing to summarise).
CREATE TABLE history_imports (
    server       TEXT PRIMARY KEY,
    until        TEXT NOT NULL,
    horizon      TEXT NOT NULL,
    started_at   REAL NOT NULL,
    announced_at REAL
);
