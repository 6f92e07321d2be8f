-- PLACEHOLDER, not for main: keeps 0001..N without a gap on branch chatpg until the 0013 being written
-- on another branch (statement_triggers) reaches main; dropped at that rebase. Does nothing.
SELECT 1;
