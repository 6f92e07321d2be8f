-- Functions SQLite has and PostgreSQL lacks, created in statsbot's PostgreSQL database at every start
-- (bot/db/pg_engine.py apply_compat) so the SQL in bot/db is written once. Same results as SQLite's.

-- instr(haystack, needle): 1-based position, 0 when absent.
CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT strpos($1, $2)';

-- Two-argument max/min are scalar in SQLite (NULL if any argument is NULL, unlike greatest/least).
CREATE OR REPLACE FUNCTION max(anycompatible, anycompatible) RETURNS anycompatible
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    'SELECT CASE WHEN $1 IS NULL OR $2 IS NULL THEN NULL ELSE greatest($1, $2) END';
CREATE OR REPLACE FUNCTION min(anycompatible, anycompatible) RETURNS anycompatible
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    'SELECT CASE WHEN $1 IS NULL OR $2 IS NULL THEN NULL ELSE least($1, $2) END';

-- round(double, digits): PostgreSQL rounds only numeric to a number of digits.
CREATE OR REPLACE FUNCTION round(double precision, integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT round($1::numeric, $2)::double precision';

-- sum(condition): SQLite counts true comparisons (1/0); NULL over no rows, as SQLite's sum.
CREATE OR REPLACE FUNCTION statsbot_add_flag(bigint, boolean) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT coalesce($1, 0) + coalesce($2::integer, 0)';
CREATE OR REPLACE AGGREGATE sum(boolean) (SFUNC = statsbot_add_flag, STYPE = bigint);
