-- PostgreSQL twin of ../0004_instance.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0004: which database this is. A random instance id made once, copied into every backup; the record
-- kept outside the database (bot/db/continuity.py) names it, so an emptied or swapped database file is
-- told apart from the one the record describes. `quiet_until` is set when an operator accepts a data
-- loss: per server, the newest round the lost database held; rounds not newer are imported again
-- without their posts (they were posted before).
CREATE TABLE instance (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    instance_id TEXT COLLATE "C" NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    quiet_until TEXT COLLATE "C"            -- JSON object {server: played_at}, NULL when nothing was ever lost
);
INSERT INTO instance(id, instance_id, created_at)
-- SQLite: lower(hex(randomblob(16))) and julianday('now'): 32 random lowercase hex digits, UTC epoch seconds.
VALUES (1, replace(gen_random_uuid()::text, '-', ''), extract(epoch FROM clock_timestamp())::double precision);
