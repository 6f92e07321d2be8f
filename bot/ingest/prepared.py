"""An import's pure work (parse, row values, posts, round-2 derivations): in-process or in a worker."""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.db.outbox import encode_payload
from bot.db.rows import PlayerRows, RoundValues, compress_raw, player_rows, round_values
from bot.errors import IncompleteFileError, ParseError
from bot.ingest import match_posts, posts
from bot.stats.anomalies import NO_FINAL_NEWLINE
from bot.stats.derived import duration_s
from bot.stats.differential import match_totals, round2_only
from bot.stats.model import FileKind, ParsedRound
from bot.stats.names import parse_filename
from bot.stats.outcome import match_outcome
from bot.stats.pairing import pair_rounds, round_ref
from bot.stats.parser import parse_round

ORPHAN_FLAG = "orphan"  # round flag of a round 2 whose round 1 never came (raw cumulative values)

# (server, round 1 file name, round 2 file name)
PairKey = tuple[str, str, str]


@functools.lru_cache(maxsize=256)  # ~5 MB; holds a whole import_batch of 200 files
def parse_cached(filename: str, data: bytes) -> ParsedRound:
    """parse_round, remembered for recent files: a round 2 arrives minutes after the round 1 it needs.

    Safe to share: the parse is deterministic for (name, bytes) and ParsedRound is immutable.
    """
    return parse_round(filename, data)


@dataclass(frozen=True, slots=True)
class FileError:
    """A ParseError as plain values (exceptions with several arguments do not survive pickling)."""

    file: str
    line: int
    field: str
    reason: str
    retryable: bool  # the file may still be being written: retry with backoff

    def exception(self) -> ParseError:
        cls = IncompleteFileError if self.retryable else ParseError
        return cls(self.file, self.line, self.field, self.reason)


@dataclass(frozen=True, slots=True)
class PreparedRound:
    """What the import transaction writes for a new round, made before it (cumulative values for an R2)."""

    values: RoundValues
    players: PlayerRows
    raw_compressed: bytes
    duration_s: int | None  # derived.duration_s of the file alone
    pairable: bool
    player_count: int
    r1_post: str | None  # the encoded round-1 post (round 1s only)


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """Result of the pure step for one file: exactly one of round / companion kind / error."""

    round: PreparedRound | None = None
    companion: str | None = None  # FileKind value of a companion file (endstats, _ws)
    error: FileError | None = None


@dataclass(frozen=True, slots=True)
class PreparedPair:
    """A round 2 derived against its round 1: round-2-only rows, the match, both posts (encoded)."""

    flags: frozenset[str]  # the round 2's flags the posts were made with
    players: PlayerRows
    duration_s: int | None
    outcome: str
    winner_team: int | None
    r1_time_s: int | None
    r2_time_s: int | None
    round_post: str
    match_post: str


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """prepare_batch's answer: a PreparedFile per input file, in order, and the pairs foreseen among them."""

    files: tuple[PreparedFile, ...]
    pairs: Mapping[PairKey, PreparedPair] = field(default_factory=dict)


def _parse(filename: str, data: bytes) -> ParsedRound | PreparedFile:
    try:
        name = parse_filename(filename)
        if name.kind is not FileKind.STATS:
            return PreparedFile(companion=name.kind.value)
        parsed = parse_cached(filename, data)
    except ParseError as exc:
        retryable = isinstance(exc, IncompleteFileError)
        return PreparedFile(error=FileError(exc.file, exc.line, exc.field, exc.reason, retryable))
    if NO_FINAL_NEWLINE in parsed.flags:
        reason = "no final newline: possibly still being written"
        return PreparedFile(error=FileError(filename, 0, "file", reason, True))
    return parsed


def prepare_round(server: str, parsed: ParsedRound, data: bytes) -> PreparedRound:
    """Row values, compressed bytes and (for a round 1) the post of a parsed file."""
    seconds = duration_s(parsed)
    r1_post = None
    if parsed.name.round_number == 1:
        payload = posts.round_payload(server, parsed, status="r1", duration_s=seconds, paired_with=None)
        r1_post = encode_payload(payload)
    return PreparedRound(
        values=round_values(parsed),
        players=player_rows(parsed.players),
        raw_compressed=compress_raw(data),
        duration_s=seconds,
        pairable=round_ref(parsed).pairable,
        player_count=len(parsed.players),
        r1_post=r1_post,
    )


def prepare_pair(server: str, r1p: ParsedRound, r2p: ParsedRound, flags: frozenset[str]) -> PreparedPair:
    """`r2p` as round-2-only values against `r1p`, the match outcome and both posts."""
    only = round2_only(r1p, r2p)
    seconds = duration_s(r2p, r1p)
    result = match_outcome(r1p.header, r2p.header)
    round_post = posts.round_payload(
        server, only, status="paired", duration_s=seconds, paired_with=r1p.filename, flags=flags
    )
    match_post = match_posts.match_payload(server, r1p, r2p, result, totals=match_totals(r1p, r2p))
    return PreparedPair(
        flags=flags,
        players=player_rows(only.players),
        duration_s=seconds,
        outcome=result.outcome,
        winner_team=result.winner_team,
        r1_time_s=result.r1_time_s,
        r2_time_s=result.r2_time_s,
        round_post=encode_payload(round_post),
        match_post=encode_payload(match_post),
    )


def exit_with_parent(parent_pid: int) -> None:
    """Worker-process initializer: exit as soon as the process that started the pool is gone.

    A pool worker blocks on its task queue, whose pipe it holds both ends of, so it never sees its
    parent die (SIGKILL, OOM): it would live on, holding the parent's stdout/stderr open.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def worker_ready() -> bool:
    """A no-op task: its answer tells the backfill that a worker process is up."""
    return True


def prepare_batch(
    files: Sequence[tuple[str, str, bytes]], window_seconds: float, *, foresee_pairs: bool = True
) -> PreparedBatch:
    """Prepare (server, filename, bytes) files, and derive the R1/R2 pairs pair_rounds finds among them.

    Runs in a worker process during a backfill (its arguments and answer are plain values). The pairs
    are a forecast: the transaction uses one only when both rounds were inserted from these very bytes
    and pairing in the database chose the same partner; anything else is derived there and then.
    """
    out: list[PreparedFile] = []
    parsed_by_server: dict[str, list[ParsedRound]] = {}
    for server, filename, data in files:
        parsed = _parse(filename, data)
        if isinstance(parsed, PreparedFile):
            out.append(parsed)
            continue
        out.append(PreparedFile(round=prepare_round(server, parsed, data)))
        parsed_by_server.setdefault(server, []).append(parsed)
    pairs: dict[PairKey, PreparedPair] = {}
    if foresee_pairs:
        window = dt.timedelta(seconds=window_seconds)
        for server, rounds in parsed_by_server.items():
            by_name = {p.filename: p for p in rounds}
            if len(by_name) != len(rounds):
                continue  # a name twice (two folders): which bytes get imported is the transaction's call
            found = pair_rounds([round_ref(p) for p in rounds], window=window).pairs
            for r2_name, r1_name in found.items():
                r1p, r2p = by_name[r1_name], by_name[r2_name]
                flags = frozenset(r2p.flags) - {ORPHAN_FLAG}
                pairs[(server, r1_name, r2_name)] = prepare_pair(server, r1p, r2p, flags)
    return PreparedBatch(tuple(out), pairs)
