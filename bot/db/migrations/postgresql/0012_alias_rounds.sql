-- PostgreSQL twin of ../0012_alias_rounds.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0012: the name autocomplete reads aliases most played first (bot/db/player_lookup.py): walking this
-- index from the top, a search for text inside a name or for letters in order stops at its 100th hit.
CREATE INDEX player_aliases_rounds ON player_aliases(rounds, alias);
