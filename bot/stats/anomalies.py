"""Anomaly flags of rounds and players (STATS_FORMAT.md §12): known bugs are flagged, never silently fixed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.stats.model import BOT_GUID, Header, PlayerStats
from bot.stats.times import parse_time

# Round flags.
NO_FINAL_NEWLINE = "no_final_newline"  # B25: possibly still being written; the daemon waits
HEADER_ONLY = "header_only"  # B23: a valid round without player lines
NEXT_TIME_LIMIT_ZERO = "next_time_limit_zero"  # B4: field 7 `0:00`, the cvar was not set
NEXT_TIME_LIMIT_INVALID = "next_time_limit_invalid"  # B5: field 7 > field 6, the mod's broken repair
TIME_LIMIT_ZERO = "time_limit_zero"  # field 6 `0:00`: no usable limit
SHUTDOWN_PATH = "shutdown_path"  # B11: written on map change/restart; never paired
HAS_BOTS = "bots"  # B21: at least one omni-bot line
HAS_SPECTATORS = "spectators"  # B22: at least one line with TEAM = 3
ROUND2_ONLY = "round2_only"  # values are round-2-only (built by bot.stats.differential)

# Player flags.
BOT = "bot"
SPECTATOR = "spectator"
DEAD_TIME_ABOVE_PLAYED = "dead_time_above_played"  # B7
RATIO_ABOVE_100 = "ratio_above_100"  # B7: time_dead_ratio or time_played_pct above 100
DENIED_TIME_OUTLIER = "denied_time_outlier"  # B8
KD_MISMATCH = "kd_mismatch"  # B13: weapon sums disagree with the engine counters behind TAB 26
COUNTER_RESET = "counter_reset"  # §9.2 step 5: R2 line used raw
JOINED_IN_R2 = "joined_in_r2"  # §9.2 step 3: no R1 line, the R2 line already is R2-only

NO_FLAGS: frozenset[str] = frozenset()

# The mod prints kd with %0.1f; allow for its rounding of an exact half.
_KD_TOLERANCE = 0.051


def expected_kd(kills: int, deaths: int) -> float:
    """The mod's kd field for these counters: kills/deaths, or kills + 1 when deaths = 0 (§8.2 TAB 26)."""
    return float(kills + 1) if deaths == 0 else kills / deaths


def player_flags(
    guid: str, team: int, kills: int, deaths: int, extras: Mapping[str, int | float]
) -> frozenset[str]:
    """Flags that one player line carries on its own (no knowledge of the other lines needed)."""
    get = extras.get
    dead_above = get("time_dead_min", 0.0) > get("time_played_min", 0.0)
    ratio_above = get("time_dead_ratio", 0.0) > 100.0 or get("time_played_pct", 0.0) > 100.0
    kd_field = get("kd_ratio")
    kd_mismatch = kd_field is not None and abs(kd_field - expected_kd(kills, deaths)) > _KD_TOLERANCE
    if not (dead_above or ratio_above or kd_mismatch) and guid != BOT_GUID and team != 3:
        return NO_FLAGS  # nearly every line: no list, no new frozenset
    flags: list[str] = []
    if guid == BOT_GUID:
        flags.append(BOT)
    if team == 3:
        flags.append(SPECTATOR)
    if dead_above:
        flags.append(DEAD_TIME_ABOVE_PLAYED)
    if ratio_above:
        flags.append(RATIO_ABOVE_100)
    if kd_mismatch:
        flags.append(KD_MISMATCH)
    return frozenset(flags)


def denied_outliers(players: Iterable[PlayerStats], round_seconds: int) -> set[str]:
    """Keys of players whose denied_playtime exceeds enemies × round seconds (B8): impossible values."""
    listed = list(players)
    teams = [p.team for p in listed]
    # Per team, the most enemy-seconds its players can deny: enemies on the other team × round length.
    most = {1: teams.count(2) * round_seconds, 2: teams.count(1) * round_seconds}
    return {p.key for p in listed if p.team in most and p.extras.get("denied_playtime", 0) > most[p.team]}


def round_flags(header: Header, players: Iterable[PlayerStats], complete: bool) -> frozenset[str]:
    """Round-level flags from the header and the already flagged players."""
    flags: list[str] = []
    listed = list(players)
    if not complete:
        flags.append(NO_FINAL_NEWLINE)
    if not listed:
        flags.append(HEADER_ONLY)
    next_written = parse_time(header.next_time_limit_raw)
    if next_written == 0:
        flags.append(NEXT_TIME_LIMIT_ZERO)
    if parse_time(header.time_limit_raw) == 0:
        flags.append(TIME_LIMIT_ZERO)
    invalid_next = is_next_limit_invalid(header, next_written)
    if invalid_next:
        flags.append(NEXT_TIME_LIMIT_INVALID)
    if is_shutdown_path(header, listed) or (invalid_next and header.round_number == 2):
        flags.append(SHUTDOWN_PATH)
    if any(p.guid == BOT_GUID for p in listed):
        flags.append(HAS_BOTS)
    if any(p.team == 3 for p in listed):
        flags.append(HAS_SPECTATORS)
    return frozenset(flags) if flags else NO_FLAGS


def is_next_limit_invalid(header: Header, next_written: int | None = None) -> bool:
    """Field 7 above field 6 can never be legitimate (B5). `next_written`: field 7 already parsed."""
    if next_written is None:
        next_written = parse_time(header.next_time_limit_raw)
    limit = parse_time(header.time_limit_raw)  # as written: Header keeps None for a `0:00` limit
    return limit is not None and next_written is not None and next_written > limit


def is_shutdown_path(header: Header, players: Iterable[PlayerStats]) -> bool:
    """B11: a 9-field header with duration ≤ 0, or a round-2 file whose players all have ROUNDS = 0."""
    if header.field_count == 9 and header.duration_ms is None:
        return True
    if header.round_number != 2:
        return False
    listed = list(players)
    return bool(listed) and all(p.rounds == 0 for p in listed)
