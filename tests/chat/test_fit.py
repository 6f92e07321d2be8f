"""fit_embed at and around Discord's limits; embeds of posts stay within them and keep their marker."""

from __future__ import annotations

import discord
import pytest

from bot.chat.embeds import footer_marker, post_embed
from bot.chat.fit import LIMITS, embed_length, fit_embed, truncate
from bot.chat.sinks import Post
from tests.helpers.chat import round_post

NONCE = "A" * 24 + "z"


def total(embed: discord.Embed) -> int:
    return embed_length(dict(embed.to_dict()))


@pytest.mark.parametrize(("size", "limit"), [(10, 10), (0, 5), (1024, 1024)])
def test_truncate_leaves_text_within_limit_alone(size: int, limit: int) -> None:
    assert truncate("x" * size, limit) == "x" * size


def test_truncate_one_over_is_visible_and_exact() -> None:
    out = truncate("x" * 1025, 1024)
    assert len(out) == 1024
    assert out.endswith("…")


def test_truncate_closes_a_cut_code_block() -> None:
    text = "```\n" + "\n".join(f"row {i:04d}" for i in range(200)) + "\n```"
    out = truncate(text, 100)
    assert len(out) <= 100
    assert out.count("```") == 2
    assert out.endswith("…\n```")


def test_fit_leaves_a_small_embed_unchanged() -> None:
    embed = discord.Embed(title="t", description="d").add_field(name="n", value="v")
    assert fit_embed(embed).to_dict() == embed.to_dict()


def test_fit_enforces_every_part_limit() -> None:
    embed = discord.Embed(title="T" * 300, description="D" * 5000)
    embed.set_author(name="A" * 300)
    embed.set_footer(text="F" * 3000)
    out = fit_embed(embed).to_dict()
    assert len(out["title"]) == LIMITS.title
    assert len(out["author"]["name"]) == LIMITS.author
    assert out["title"].endswith("…")
    assert embed_length(dict(out)) <= LIMITS.total


def test_fit_caps_fields_at_25_with_a_visible_note() -> None:
    embed = discord.Embed(title="many")
    for i in range(30):
        embed.add_field(name=f"f{i}", value="v" * 2000)
    out = fit_embed(embed)
    assert len(out.fields) <= LIMITS.fields
    assert all(len(f.value or "") <= LIMITS.field_value for f in out.fields)
    assert total(out) <= LIMITS.total
    assert out.fields[-1].name == "…"
    assert out.fields[-1].value is not None
    assert out.fields[-1].value.endswith("more not shown")


def test_fit_exactly_at_total_is_untouched_and_one_over_is_cut() -> None:
    def build(extra: int) -> discord.Embed:
        embed = discord.Embed(title="t" * 200, description="d" * (4000 + extra))
        for _ in range(2):
            embed.add_field(name="n" * 100, value="v" * 800)
        return embed.set_footer(text="f" * 100)

    at_limit = build(-100)
    assert total(at_limit) == LIMITS.total
    assert fit_embed(at_limit).to_dict() == at_limit.to_dict()
    over = build(-99)
    fitted = fit_embed(over)
    assert total(fitted) == LIMITS.total
    assert len(fitted.fields) == 2  # one character over costs one character of the description
    assert (fitted.description or "").endswith("…")
    assert fitted.footer.text == "f" * 100  # the footer (marker) survives


def test_fit_is_deterministic() -> None:
    embed = discord.Embed(title="x", description="y" * 9000)
    assert fit_embed(embed).to_dict() == fit_embed(embed).to_dict()


def post(kind: str, payload: dict[str, object]) -> Post:
    return Post(id=1, kind=kind, channel="stats", payload=payload, nonce=NONCE, attempts=0, created_at=0.0)


def test_round_embed_with_64_players_fits_and_keeps_its_marker() -> None:
    payload = dict(round_post(players=64))
    embed = post_embed(post("round", payload))
    assert total(embed) <= LIMITS.total
    assert len(embed.fields) <= LIMITS.fields
    assert footer_marker(embed.footer.text) == NONCE
    tables = [f.value or "" for f in embed.fields]
    assert all(t.startswith("```\nPlayer") and t.endswith("```") for t in tables)
    assert "player0" in tables[0]
    assert embed.title == "supply · round 1"


def test_round2_embed_says_round2_only() -> None:
    embed = post_embed(post("round", dict(round_post(round_number=2))))
    assert "Round 2 numbers only." in (embed.description or "")


def test_unknown_kind_still_renders() -> None:
    embed = post_embed(post("digest", {"files": 3}))
    assert embed.title == "digest"
    assert "**files**: 3" in (embed.description or "")


def test_footer_marker_ignores_foreign_footers() -> None:
    assert footer_marker("some other bot " + NONCE) is None
    assert footer_marker(None) is None


def test_internal_flags_file_names_and_nonce_stay_out_of_player_posts() -> None:
    payload = dict(round_post(round_number=2, flags=["round2_only", "next_time_limit_invalid", "orphan"]))
    embed = post_embed(post("round", payload))
    shown = str(embed.to_dict())
    for internal in ("round2_only", "next_time_limit_invalid", "orphan", payload["filename"], NONCE):
        assert internal not in shown
    assert "Round 2 numbers only." in (embed.description or "")
    assert footer_marker(embed.footer.text) == NONCE  # carried invisibly
    assert (embed.footer.text or "").isprintable() is False
    assert "".join(c for c in embed.footer.text or "" if c.isprintable()) == "statsbot"


def test_ago_words_read_like_a_person() -> None:
    from bot.chat.views import ago_words

    assert [ago_words(s) for s in (5, 180, 7200, 3 * 86400)] == [
        "just now",
        "3 min ago",
        "2 h ago",
        "3 days ago",
    ]
