-- PostgreSQL twin of ../0002_chat.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0002: chat-side state. Member ↔ player links for /stats and /link, and small key/value state such as
-- the hash of the slash-command definitions last synced to a guild (sync only when they change).

CREATE TABLE member_links (
    discord_user_id BIGINT PRIMARY KEY,
    guid            TEXT COLLATE "C" NOT NULL,
    linked_at       DOUBLE PRECISION NOT NULL
);
CREATE INDEX member_links_guid ON member_links(guid);

CREATE TABLE chat_state (
    key        TEXT COLLATE "C" PRIMARY KEY,
    value      TEXT COLLATE "C" NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
