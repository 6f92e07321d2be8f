"""The SQLite-to-PostgreSQL rewrite (bot/db/dialect.py): each rule, and what it must leave alone."""

from __future__ import annotations

import pytest

from bot.db.dialect import is_postgresql_url, to_postgresql


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
        ("UPDATE t SET a = :value WHERE id = :id", "UPDATE t SET a = %(value)s WHERE id = %(id)s"),
        ("SELECT a % 2 FROM t WHERE b = ?", "SELECT a %% 2 FROM t WHERE b = %s"),
        ("SELECT 1 WHERE k NOT LIKE 'OMNIBOT0:%'", "SELECT 1 WHERE k NOT ILIKE 'OMNIBOT0:%%'"),
        # Text and pattern both lower case (the statement says so): a plain, case-sensitive LIKE.
        ("SELECT 1 WHERE a LIKE /* lower-case */ ? ESCAPE '\\'", "SELECT 1 WHERE a LIKE %s ESCAPE '\\'"),
        ("SELECT 1 WHERE a LIKE/*lower-case*/? AND b LIKE ?", "SELECT 1 WHERE a LIKE %s AND b ILIKE %s"),
        ("SELECT '?' || ':x', a FROM t WHERE b = ?", "SELECT '?' || ':x', a FROM t WHERE b = %s"),
        ("SELECT 'it''s ?' FROM t", "SELECT 'it''s ?' FROM t"),
        ('SELECT "we?ird" FROM t', 'SELECT "we?ird" FROM t'),
        (
            "SELECT id FROM r WHERE f IN (SELECT value FROM json_each(?))",
            "SELECT id FROM r WHERE f IN (SELECT value FROM json_array_elements_text(CAST(%s AS json)))",
        ),
        ("SELECT CAST(a AS REAL) / b FROM t", "SELECT CAST(a AS DOUBLE PRECISION) / b FROM t"),
        ("SELECT x::jsonb FROM t -- comment with ? and %", "SELECT x::jsonb FROM t -- comment with ? and %%"),
        ("SELECT realm, likes FROM t", "SELECT realm, likes FROM t"),
        ("SELECT k FROM p INDEXED BY p_kills WHERE k > ?", "SELECT k FROM p WHERE k > %s"),
        (
            "SELECT 1 FROM json_each(?) j CROSS JOIN a ON a.k = j.value ->> 0",
            "SELECT 1 FROM json_array_elements_text(CAST(%s AS json)) j "
            "JOIN a ON a.k = (CAST(j.value AS json) ->> 0)",
        ),
        (
            "SELECT a + 1, b FROM t WHERE +t.r >= ? GROUP BY +k",
            "SELECT a + 1, b FROM t WHERE t.r >= %s GROUP BY k",
        ),
        (
            "SELECT 1 WHERE (k, a) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))",
            "SELECT 1 WHERE (k, a) IN (SELECT (CAST(value AS json) ->> 0), (CAST(value AS json) ->> 1) "
            "FROM json_array_elements_text(CAST(%s AS json)))",
        ),
        (
            "SELECT 1 WHERE a IS NOT ? AND b IS ?",
            "SELECT 1 WHERE a IS DISTINCT FROM %s AND b IS NOT DISTINCT FROM %s",
        ),
        ("SELECT 1 WHERE a IS NOT NULL OR b IS NULL", "SELECT 1 WHERE a IS NOT NULL OR b IS NULL"),
    ],
)
def test_rewrites_what_differs_and_nothing_else(sqlite: str, postgresql: str) -> None:
    assert to_postgresql(sqlite) == postgresql


def test_urls_are_told_from_paths() -> None:
    assert is_postgresql_url("postgresql://statsbot@db/statsbot")
    assert is_postgresql_url("postgres://u@h/d")
    assert is_postgresql_url("PostgreSQL://u@h/d")  # the scheme is case-insensitive, as config accepts it
    assert not is_postgresql_url("data/statsbot.db")
    assert not is_postgresql_url(None)
