"""The few differences between the SQL statsbot writes (SQLite's) and what PostgreSQL accepts.

The SQL in bot/db is written once, in the portable subset both engines share (`ON CONFLICT`,
`RETURNING`, `CAST(value AS INTEGER)`). What remains is rewritten here, for PostgreSQL only, once per
distinct statement text (cached):

- placeholders: `?` becomes `%s`, `:name` becomes `%(name)s`, and a literal `%` becomes `%%`
  (psycopg reads `%` as the start of a placeholder anywhere in a statement that has parameters);
- `json_each(?)` (how a Python list is passed as ONE parameter) becomes
  `json_array_elements_text(CAST(%s AS json))`: the same single column, called `value`, as text;
- `LIKE` becomes `ILIKE` (SQLite's LIKE ignores ASCII case; PostgreSQL's does not), except
  `LIKE /* lower-case */`, which stays `LIKE` and loses the comment: the statement's author says that
  neither the text nor the pattern holds an ASCII capital (the `alias` column, lower(trim(clean_name)),
  against a `normalise`d query), so SQLite's folding changes nothing and PostgreSQL compares bytes
  instead of folding the case of every row it tests (ILIKE) — the same rows on both engines;
- `a IS b` / `a IS NOT b` with b not NULL become `IS [NOT] DISTINCT FROM` (PostgreSQL's IS takes
  only NULL, TRUE and FALSE);
- `CAST(… AS REAL)` becomes `AS DOUBLE PRECISION` (PostgreSQL's REAL is a 4-byte float);
- SQLite's planner hints `INDEXED BY name` and `+column` (no index for this term) are dropped;
- `value ->> 0` of a `json_each(?)` row (an inner array, text on PostgreSQL) reads it as json;
- `CROSS JOIN` becomes `JOIN`: statsbot writes CROSS JOIN only as SQLite's way to keep the join order
  (always with an ON clause), which PostgreSQL's planner decides by itself.

Functions SQLite has and PostgreSQL lacks (`instr`, two-argument `max`/`min`, `round` of a double)
are created in the PostgreSQL database itself (bot/db/postgresql_compat.sql), so the text stays as
written. String literals and quoted identifiers are copied untouched but for `%` doubling.
"""

from __future__ import annotations

import functools
import re

# Tokens outside literals the rewriter cares about; everything else is copied as is.
_TOKEN = re.compile(
    r"""
      (?P<string>'(?:[^']|'')*')                 # 'text' ('' is a quote inside)
    | (?P<ident>"(?:[^"]|"")*")                  # "identifier"
    | (?P<comment>--[^\n]*)                      # -- comment
    | (?P<cast>::)                               # PostgreSQL cast: not a named parameter
    | (?P<named>(?<![\w:]):[A-Za-z_]\w*)         # :name
    | (?P<qmark>\?)                              # ?
    | (?P<percent>%)                             # a literal percent sign
    | (?P<json_each>\bjson_each\s*\(\s*\?\s*\))  # json_each(?)
    | (?P<like_lower>\bLIKE\s*/\*\s*lower-case\s*\*/\s*)  # LIKE of lower-case text: kept as LIKE
    | (?P<like>\bLIKE\b)                         # LIKE (case-insensitive in SQLite)
    | (?P<is_not>\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b))  # a IS NOT b (b not NULL)
    | (?P<is_>\bIS\s+(?!NOT\b|NULL\b|TRUE\b|FALSE\b|DISTINCT\b))      # a IS b
    | (?P<real>\bAS\s+REAL\b)                    # CAST(x AS REAL)
    | (?P<unary_plus>(?<=[\s(,])\+(?=[A-Za-z_]))    # +column: SQLite's "do not use an index" idiom
    | (?P<json_index>\b(?:\w+\.)?value\s*->>\s*\d+)   # [j.]value ->> 0 of a json_each(?) row
    | (?P<cross_join>\bCROSS\s+JOIN\b)             # SQLite's join-order hint (always with ON here)
    | (?P<indexed>\s+INDEXED\s+BY\s+\w+)          # SQLite's planner hint
    """,
    re.VERBOSE | re.IGNORECASE,
)


def is_postgresql_url(target: object) -> bool:
    """Whether a database location is a PostgreSQL URL (else it is a SQLite file's path)."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in ("postgresql", "postgres")


# What each token kind becomes when the replacement does not depend on the token's text.
_FIXED = {
    "qmark": "%s",
    "percent": "%%",
    "json_each": "json_array_elements_text(CAST(%s AS json))",
    "is_not": "IS DISTINCT FROM ",
    "is_": "IS NOT DISTINCT FROM ",
    "like": "ILIKE",
    "like_lower": "LIKE ",
    "cross_join": "JOIN",
    "real": "AS DOUBLE PRECISION",
    "unary_plus": "",
    "indexed": "",  # PostgreSQL's planner picks indexes by itself
}


def _rewrite(kind: str, text: str) -> str:
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in ("string", "ident", "comment"):
        return text.replace("%", "%%")
    if kind == "named":
        return f"%({text[1:]})s"
    if kind == "json_index":
        column, index = (part.strip() for part in text.split("->>"))
        return f"(CAST({column} AS json) ->> {index})"
    return text  # cast (::): unchanged


@functools.lru_cache(maxsize=4096)
def to_postgresql(sql: str) -> str:
    """`sql` as PostgreSQL (psycopg, `%s` parameters) accepts it, with the same meaning."""
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(sql):
        out.append(sql[pos : match.start()])
        pos = match.end()
        out.append(_rewrite(str(match.lastgroup), match.group()))
    out.append(sql[pos:])
    return "".join(out)
