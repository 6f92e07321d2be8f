-- 0002: chat-side state. Member ↔ player links for /stats and /link, and small key/value state such as
-- the hash of the slash-command definitions last synced to a guild (sync only when they change).

CREATE TABLE member_links (
    discord_user_id INTEGER PRIMARY KEY,
    guid            TEXT NOT NULL,
    linked_at       REAL NOT NULL
);
CREATE INDEX member_links_guid ON member_links(guid);

CREATE TABLE chat_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
);
