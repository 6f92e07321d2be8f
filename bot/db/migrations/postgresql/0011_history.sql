-- PostgreSQL twin of ../0011_history.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0011: history. Files already on a server when statsbot first listed it are imported without posts
-- (the rounds up to `until` are quiet through instance.quiet_until, set in the same transaction), and
-- once they are all imported ONE summary is queued. `until` is the newest played_at of that first
-- complete listing ('' when it held no stats file: nothing to import quietly); `started_at` is that
-- listing's time, the `first_seen_at` of the files it recorded (those still to import hold the summary
-- back); `announced_at` is set in the transaction that queues the summary (or finds nothing to say).
CREATE TABLE history_imports (
    server       TEXT COLLATE "C" PRIMARY KEY,
    until        TEXT COLLATE "C" NOT NULL,
    started_at   DOUBLE PRECISION NOT NULL,
    announced_at DOUBLE PRECISION
);
