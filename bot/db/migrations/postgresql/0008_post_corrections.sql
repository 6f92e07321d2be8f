-- PostgreSQL twin of ../0008_post_corrections.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0008: corrections of posts already made. A post about something that can change after it was posted
-- (a round 2 first posted as an orphan, then paired when its round 1 arrives; a match whose round 1
-- changed) names its `subject` ('round:<server>:<file>', 'match:<server>:<round-2 file>'). A later post
-- of the same subject with other contents is queued as a correction: `corrects` is the outbox id of the
-- subject's first post, and the drainer EDITS that message instead of posting a second one.

ALTER TABLE outbox ADD COLUMN subject TEXT COLLATE "C";
ALTER TABLE outbox ADD COLUMN corrects BIGINT REFERENCES outbox(id);
CREATE INDEX outbox_subject ON outbox(subject, id) WHERE subject IS NOT NULL;

-- Round 2 posts queued before this migration ('round:<server>:<file>:orphan', '…:paired:<round 1 file>';
-- file names never contain ':') get their subject, so a later change of their round 2 edits them too.
-- ILIKE: SQLite's LIKE ignores ASCII case (the columns are COLLATE "C", so ILIKE folds ASCII only too).
UPDATE outbox SET subject = substr(dedupe_key, 1, length(dedupe_key) - length(':orphan'))
WHERE kind = 'round' AND dedupe_key ILIKE 'round:%:orphan';
UPDATE outbox SET subject = substr(dedupe_key, 1, strpos(dedupe_key, ':paired:') - 1)
WHERE kind = 'round' AND dedupe_key ILIKE 'round:%:paired:%';
