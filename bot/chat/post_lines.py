"""What round, match and session posts say, as plain text pieces (pure; embeds and console share them).

Tables are sized for a phone: at most PHONE_COLUMNS monospace columns, the name column takes what the
numbers leave. Internal flags, file names and nonces never appear here: they are for admins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.chat.format import DASH, duration, num, team_name
from bot.stats.clan import without_tag

PHONE_COLUMNS = 40
ROUND_COLUMNS = ("K", "D", "G", "DPM", "ACC", "HS", "REV")
TEAM_COLUMNS = ("K", "D", "G", "DPM", "ACC", "REV")
OBJECTIVES = (
    ("dynamites_planted", "planted"),
    ("dynamites_defused", "defused"),
    ("objectives_stolen", "stolen"),
    ("objectives_returned", "returned"),
    ("repairs", "repairs"),
)


def fit_tables(
    headers: Sequence[str], groups: Sequence[Sequence[Sequence[str]]], width: int = PHONE_COLUMNS
) -> list[list[str]]:
    """Several tables with the same columns, aligned alike (one width for all): header + rows each."""
    flat = fit_table(headers, [row for rows in groups for row in rows], width)
    out, at = [], 1
    for rows in groups:
        out.append([flat[0], *flat[at : at + len(rows)]])
        at += len(rows)
    return out


def fit_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int = PHONE_COLUMNS) -> list[str]:
    """Right-aligned number columns, the first (name) column cut to what is left of `width`."""
    numbers = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers) if i > 0]
    room = width - sum(numbers) - len(numbers)
    longest = max([len(headers[0]), *(len(r[0]) for r in rows)])
    name_width = max(4, min(longest, room))

    def line(cells: Sequence[str]) -> str:
        name = cells[0] if len(cells[0]) <= name_width else cells[0][: name_width - 1] + "…"
        parts = [name.ljust(name_width), *(c.rjust(w) for c, w in zip(cells[1:], numbers, strict=True))]
        return " ".join(parts).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{round(value)}%"


def shown(pl: Mapping[str, Any]) -> bool:
    """On a team and on it for some time: spectators and zero-time lines are left out of posts."""
    return pl.get("team") in (1, 2) and pl.get("time_played_s") != 0


# ---- round -------------------------------------------------------------------------------------------


def round_title(p: Mapping[str, Any]) -> str:
    return f"{p['map']} · round {p['round_number']}"


def round_outcome(p: Mapping[str, Any]) -> str:
    """One sentence: who did what, how fast, against which limit."""
    defender = int(p.get("defender") or 0)
    attacker = {1: 2, 2: 1}.get(defender)
    limit = f" (limit {duration(p.get('time_limit_s'))})"
    if p.get("result") == "held":
        return f"{team_name(defender)} held the objective{limit}"
    return f"{team_name(attacker)} completed the objective in {duration(p.get('duration_s'))}{limit}"


def round_note(p: Mapping[str, Any]) -> str | None:
    """A short note when the numbers are not a whole normal round's: partial, cut short, round 2 only."""
    flags = set(p.get("flags") or [])
    if p.get("status") == "orphan":
        return "Round 1 is missing: numbers are totals of both rounds, partly unknown."
    notes = []
    limit, took = p.get("time_limit_s"), p.get("duration_s")
    if "shutdown_path" in flags:
        notes.append("Written at a map change or restart: numbers may be partial.")
    elif p.get("result") == "held" and limit and took is not None and took < limit - 30:
        notes.append(f"The round ended early ({duration(took)} of {duration(limit)}).")
    if p.get("status") == "paired":
        notes.append("Round 2 numbers only.")
    return " ".join(notes) or None


def side_role(p: Mapping[str, Any], side: int) -> str:
    return "defending" if side == int(p.get("defender") or 0) else "attacking"


def _round_cells(players: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    return [
        (
            str(pl.get("clean_name") or pl.get("name")),
            str(pl["kills"]),
            str(pl["deaths"]),
            num(pl.get("gibs")),
            num(pl.get("dpm")),
            _pct(pl.get("accuracy")),
            str(pl.get("headshot_hits", DASH)),
            num(pl.get("revives_given")),
        )
        for pl in players
    ]


def round_blocks(p: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(title, table lines) for Axis then Allies; a side without players is left out."""
    sides = []
    for side in (1, 2):
        players = [pl for pl in p.get("players") or [] if pl.get("team") == side and shown(pl)]
        if players:
            sides.append((f"{team_name(side)} · {side_role(p, side)}", _round_cells(players)))
    tables = fit_tables(("Player", *ROUND_COLUMNS), [cells for _, cells in sides])
    return [(title, table) for (title, _), table in zip(sides, tables, strict=True)]


def objectives_line(p: Mapping[str, Any]) -> str | None:
    """`Objectives: Axis 1 defused · Allies 2 planted, 3 repairs`; None when nothing happened."""
    parts = []
    for side in (1, 2):
        players = [pl for pl in p.get("players") or [] if pl.get("team") == side]
        done = [(sum(int(pl.get(k) or 0) for pl in players), word) for k, word in OBJECTIVES]
        said = ", ".join(plural(n, "repair") if word == "repairs" else f"{n} {word}" for n, word in done if n)
        if said:
            parts.append(f"{team_name(side)} {said}")
    return "Objectives: " + " · ".join(parts) if parts else None


# ---- match and session results ------------------------------------------------------------------------


def _time(seconds: int | None, held: bool) -> str:
    return "fullhold" if held else duration(seconds)


def result_phrase(
    names: Sequence[str], winner: int | None, times: tuple[int | None, int | None], held: tuple[bool, bool]
) -> str:
    """`A beat B — 4:12 vs 5:30`: names[0] attacked first, names[1] second; `winner` is 0, 1 or None."""
    t1, t2 = _time(times[0], held[0]), _time(times[1], held[1])
    if winner is None:
        return f"{names[0]} and {names[1]} drew — {t1} vs {t2}"
    mine, theirs = (t1, t2) if winner == 0 else (t2, t1)
    return f"{names[winner]} beat {names[1 - winner]} — {mine} vs {theirs}"


def match_story(names: Sequence[str], winner: int | None, times: tuple[int | None, int | None],
                held: tuple[bool, bool]) -> str:  # fmt: skip
    """The two attacks in order, for readers who want the detail."""
    first = (
        f"{names[0]} attacked first and were held ({duration(times[0])})"
        if held[0]
        else f"{names[0]} attacked first and set {duration(times[0])}"
    )
    if held[1]:
        second = f"{names[1]} did not beat it" if not held[0] else f"{names[1]} were held too"
    else:
        second = f"{names[1]} did it in {duration(times[1])}"
    return f"{first}; {second}."


def match_headline(p: Mapping[str, Any]) -> str:
    teams = list(p.get("teams") or [])
    if len(teams) != 2:
        return f"Stopwatch: R1 {duration(p.get('r1_time_s'))} · R2 {duration(p.get('r2_time_s'))}"
    names = [f"**{t['name']}**" for t in teams]
    times = (p.get("r1_time_s"), p.get("r2_time_s"))
    held = (bool(p.get("r1_held")), bool(p.get("r2_held")))
    winner = p.get("winner")
    plain = [str(t["name"]) for t in teams]
    return result_phrase(names, winner, times, held) + "\n" + match_story(plain, winner, times, held)


def team_tables(teams: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> list[list[str]]:
    """(team name, players) → one aligned roster table each, with every player's numbers."""
    return fit_tables(("Player", *TEAM_COLUMNS), [_team_cells(players, name) for name, players in teams])


def _team_cells(players: Sequence[Mapping[str, Any]], team: str) -> list[tuple[str, ...]]:
    tag = "" if not team or team.startswith("Team ") else team
    return [
        (
            without_tag(str(pl.get("clean_name") or pl.get("name")), tag)
            if tag
            else str(pl.get("clean_name") or pl.get("name")),
            str(pl["kills"]),
            str(pl["deaths"]),
            num(pl.get("gibs")),
            num(pl.get("dpm")),
            _pct(pl.get("accuracy")),
            num(pl.get("revives_given")),
        )
        for pl in players
    ]


def match_teams(p: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(title, table) for the team that attacked first, then the other, aligned alike."""
    teams = list(p.get("teams") or [])
    titles = [f"{t['name']} · attacked {'first' if i == 0 else 'second'}" for i, t in enumerate(teams)]
    tables = team_tables([(str(t["name"]), list(t.get("players") or [])) for t in teams])
    return list(zip(titles, tables, strict=True))


def performer(pl: Mapping[str, Any]) -> str:
    """`endekk — 24 K · 9 D · 512 DPM · 2 obj`"""
    bits = [f"{pl['kills']} K", f"{pl['deaths']} D"]
    if pl.get("dpm") is not None:
        bits.append(f"{num(pl.get('dpm'))} DPM")
    if pl.get("objectives"):
        bits.append(f"{pl['objectives']} obj")
    if pl.get("revives_given"):
        bits.append(f"{pl['revives_given']} rev")
    return f"{pl.get('clean_name') or pl.get('name')} — " + " · ".join(bits)


def _ranked(p: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted(p.get("teams") or [], key=lambda t: (-int(t["maps_won"]), int(t["team"])))


def session_title(p: Mapping[str, Any]) -> str:
    """The score as the post's headline: `Team endekk 3 – 0 Team olz` (leader first)."""
    teams = _ranked(p)
    if len(teams) == 2:
        a, b = teams
        return f"{a['name']} {a['maps_won']} – {b['maps_won']} {b['name']}"
    return f"Session #{p['session_id']}"


def session_counts(p: Mapping[str, Any]) -> str:
    """`3 maps · 6 rounds · 1 draw`"""
    parts = [plural(len(p.get("maps") or []), "map"), plural(int(p.get("rounds") or 0), "round")]
    draws = int(p.get("draws") or 0)
    if draws:
        parts.append(plural(draws, "draw"))
    if len(p.get("teams") or []) < 2:
        parts.append("no two teams on record")
    return " · ".join(parts)


def session_map_line(p: Mapping[str, Any], m: Mapping[str, Any]) -> str:
    names = {int(t["team"]): str(t["name"]) for t in p.get("teams") or []}
    first = m.get("attacked_first")
    if first is None or len(names) < 2:
        return f"**{m['map']}** — {m.get('note') or 'no result'}"
    order = [names[first], names[3 - first]]
    times = (m.get("r1_time_s"), m.get("r2_time_s"))
    held = (bool(m.get("r1_held")), bool(m.get("r2_held")))
    if m.get("result") == "no_result":
        return f"**{m['map']}** — {m.get('note') or 'no result'}"
    winner = None if m.get("winner") is None else (0 if m["winner"] == first else 1)
    note = f" ({m['note']})" if m.get("note") else ""
    if m.get("note") == "round 1 missing" and winner is not None:
        return f"**{m['map']}** — {order[winner]} won{note}"
    return f"**{m['map']}** — {result_phrase(order, winner, times, held)}{note}"


def mvp_line(p: Mapping[str, Any]) -> str | None:
    mvp = p.get("mvp")
    if not mvp:
        return None
    team = {int(t["team"]): str(t["name"]) for t in p.get("teams") or []}.get(mvp.get("team") or 0)
    where = f" ({team})" if team else ""
    return (
        f"🏆 MVP: **{mvp['name']}**{where} · {performer(mvp).split(' — ', 1)[1]} · {round(mvp['points'])} pts"
    )


def award_lines(p: Mapping[str, Any]) -> list[str]:
    return [f"**{a['title']}** — {a['name']} ({a['value']})" for a in p.get("awards") or []]


def session_teams(p: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(title, table) per team: the roster with each player's session line, aligned alike."""
    groups: list[tuple[str, str, list[Mapping[str, Any]]]] = []
    for t in _ranked(p):
        players = [pl for pl in p.get("players") or [] if pl.get("team") == t["team"]]
        groups.append((f"{t['name']} · {plural(len(players), 'player')}", str(t["name"]), players))
    others = [pl for pl in p.get("players") or [] if pl.get("team") not in (1, 2)]
    if others:
        groups.append(("Others", "", others))
    tables = team_tables([(name, players) for _, name, players in groups])
    return [(title, table) for (title, _, _), table in zip(groups, tables, strict=True)]
