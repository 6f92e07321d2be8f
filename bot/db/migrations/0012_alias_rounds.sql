-- 0012: the name autocomplete reads aliases most played first (bot/db/player_lookup.py): walking this
-- index from the top, a search for text inside a name or for letters in order stops at its 100th hit
-- instead of testing and sorting every alias. (The table is WITHOUT ROWID: its key, player_key, rides
-- along, so the index covers player_key, alias and rounds.)
CREATE INDEX player_aliases_rounds ON player_aliases(rounds, alias);
