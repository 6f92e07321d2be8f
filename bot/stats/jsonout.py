"""The `statsbot parse --json` object of one stats file (STATS_FORMAT.md, "JSON contract")."""

from __future__ import annotations

from bot.stats.model import ParsedRound, PlayerStats


def player_json(p: PlayerStats) -> dict[str, object]:
    """One player: identity, weapon sums, every extras field of the generation, weapons by slot name."""
    out: dict[str, object] = {
        "guid": p.guid,
        "name": p.name,
        "team": p.team,
        "kills": p.kills,
        "deaths": p.deaths,
        "shots": p.shots,
        "hits": p.hits,
        "headshot_hits": p.headshot_hits,
    }
    out.update(p.extras)
    out["weapons"] = {
        w.weapon: {
            "hits": w.hits,
            "shots": w.shots,
            "kills": w.kills,
            "deaths": w.deaths,
            "headshots": w.headshots,
        }
        for w in p.weapons
    }
    return out


def round_json(parsed: ParsedRound, paired_with: str | None) -> dict[str, object]:
    """The contract object. For a paired round 2 pass the round2_only result; `paired_with` names
    the other file of the pair (R1 for an R2, R2 for an R1) or is None."""
    return {
        "file": parsed.filename,
        "map": parsed.header.map,
        "round": parsed.header.round_number,
        "paired_with": paired_with,
        "extras_fields": parsed.extras_fields,
        "players": [player_json(p) for p in parsed.players],
    }
