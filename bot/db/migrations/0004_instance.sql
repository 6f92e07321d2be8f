-- 0004: which database this is. A random instance id made once, copied into every backup; the record
-- kept outside the database (bot/db/continuity.py) names it, so an emptied or swapped database file is
-- told apart from the one the record describes. `quiet_until` is set when an operator accepts a data
-- loss: per server, the newest round the lost database held; rounds not newer are imported again
-- without their posts (they were posted before).
CREATE TABLE instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    instance_id TEXT NOT NULL,
    created_at  REAL NOT NULL,
    quiet_until TEXT            -- JSON object {server: played_at}, NULL when nothing was ever lost
);
INSERT INTO instance(id, instance_id, created_at)
VALUES (1, lower(hex(randomblob(16))), (julianday('now') - 2440587.5) * 86400.0);
