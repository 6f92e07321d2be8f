-- PostgreSQL twin of ../0005_parser_version_drift.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0005: which parser made each round (reprocess --stale), and the drift watch's latest counts.

-- bot.stats.version.PARSER_VERSION of the parser that derived the round. Rounds imported before this
-- migration were made by the parser that version 1 names.
ALTER TABLE rounds ADD COLUMN parser_version BIGINT NOT NULL DEFAULT 1;

-- The last scheduled four-location comparison, per server and kind of difference (bot.ops.findings.Kind):
-- /metrics reads it, so the figures survive a restart and agree with the alerts.
CREATE TABLE drift_counts (
    server     TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    files      BIGINT NOT NULL,
    first_date TEXT COLLATE "C",                    -- YYYY-MM-DD from the file names; NULL when none has a date
    last_date  TEXT COLLATE "C",
    checked_at DOUBLE PRECISION NOT NULL,           -- UTC epoch of the check that found it
    PRIMARY KEY (server, kind)
);
