"""StatsSource over SSH/SFTP: one persistent asyncssh connection per server, strict host keys, backoff."""

from __future__ import annotations

import asyncio
import contextlib
import random
import stat as statmod
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar, cast

import asyncssh
import structlog

from bot.errors import RemoteDirMissing, RemoteFileChanged, SourceError, SourceUnavailable
from bot.ingest import exec_listing, sftp_listing
from bot.ingest.files import CHUNK_BYTES, FileTooLarge, PartFile, UnsafeName, unsafe_relpath_reason
from bot.ingest.source import Changes, Downloaded, RemoteEntry
from bot.ingest.ssh_connect import Backoff, Session, SshParams, describe, open_session

__all__ = ["SshParams", "SshSource"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
_Entries = list[RemoteEntry]  # spelled once here: inside SshSource, `list` is the method
_Listed = list[sftp_listing.Entry]

MAX_DEPTH = 16  # recursive listings: a hostile server could otherwise nest directories without end

# SFTP status errors that mean "the session is gone", as opposed to "this one file failed".
_SESSION_LOST = (asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection, asyncssh.SFTPBadMessage)


class SshSource:
    """The StatsSource protocol over SFTP. Library errors never escape: they become SourceError subclasses.

    The connection opens lazily and is reused. A connection-level failure drops it, and further calls
    fail fast with SourceUnavailable until the backoff delay (`next_retry_in()`) has passed.
    """

    def __init__(
        self,
        params: SshParams,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._p = params
        self._backoff = Backoff(params.backoff_initial, params.backoff_max, clock=clock, jitter=jitter)
        self._session: Session | None = None
        self._connect_lock = asyncio.Lock()
        self._last_error: SourceUnavailable | None = None
        # May this account run `find` over SSH exec? None: not probed yet. Probed once, then cached for
        # the life of the source (an account does not change kind between reconnects).
        self._exec_ok: bool | None = None if params.exec_listing and not params.recursive else False
        # Lean SFTP listings (bot/ingest/sftp_listing.py) until one fails in a way it does not expect;
        # asyncssh's listing from then on, for the life of the source.
        self._lean_ok = True

    @property
    def server(self) -> str:
        return self._p.server

    @property
    def params(self) -> SshParams:
        return self._p

    @property
    def connected(self) -> bool:
        return self._session is not None and not self._session.conn.is_closed()

    def next_retry_in(self) -> float:
        """Seconds until the next connection attempt is allowed (0 = now); lets a poller skip, not block."""
        return 0.0 if self._session is not None else self._backoff.remaining()

    async def dir_mtime(self) -> int | None:
        session = await self._connected()
        async with self._guard(session, "stat of remote_dir"):
            try:
                attrs = await self._timed(session, session.sftp.stat(self._remote_path("")))
            except asyncssh.SFTPNoSuchFile as exc:
                raise self._no_dir() from exc
        return None if attrs.mtime is None else int(attrs.mtime)

    async def list(self) -> list[RemoteEntry]:
        session = await self._connected()
        entries: list[RemoteEntry] = []
        await self._walk(session, "", 0, entries)
        return entries

    async def list_changed(self, since: int | None) -> Changes | None:
        """One `find` over SSH exec (bot/ingest/exec_listing.py); None when the account cannot run it."""
        if self._exec_ok is False:
            return None
        session = await self._connected()
        if self._exec_ok is None:
            self._exec_ok = await self._probe_exec(session)
            if not self._exec_ok:
                return None
        folder = self._remote_path("").decode("utf-8", "surrogateescape")
        command = exec_listing.listing_command(folder, since)
        async with self._guard(session, "find listing"):
            done = await self._timed(session, _run(session, command))
        stdout, stderr = cast(bytes, done.stdout or b""), cast(bytes, done.stderr or b"")
        try:
            if done.exit_status != 0:
                reason = stderr.decode("utf-8", "replace").strip()[:200]
                raise exec_listing.ListingFormatError(reason or f"exit status {done.exit_status}")
            cursor, entries = exec_listing.parse_listing(stdout)
        except exec_listing.ListingFormatError as exc:
            # Never required: SFTP lists from now on (and says what is wrong if the folder itself is).
            self._exec_ok = False
            log.warning("exec_listing_failed", server=self.server, reason=str(exc), fallback="sftp")
            return None
        return Changes(entries, cursor, complete=since is None)

    async def _probe_exec(self, session: Session) -> bool:
        refused: asyncssh.ChannelOpenError | None = None
        async with self._guard(session, "exec probe"):  # a lost connection: probed again once it is back
            try:
                done = await self._timed(session, _run(session, exec_listing.PROBE_COMMAND))
            except asyncssh.ChannelOpenError as exc:  # the server refuses commands: SFTP only
                refused = exc
        ok = refused is None and exec_listing.probe_ok(cast(bytes, done.stdout or b""), done.exit_status)
        why = None if refused is None else describe(refused)
        log.info("exec_listing_probed", server=self.server, available=ok, refused=why)
        return ok

    async def stat(self, name: str) -> RemoteEntry | None:
        path = self._checked_path(name)
        session = await self._connected()
        async with self._guard(session, f"lstat {name}"):
            try:
                attrs = await self._timed(session, session.sftp.lstat(path))
            except asyncssh.SFTPNoSuchFile:
                return None
        return _entry(name, attrs)

    async def download(self, name: str, dest: Path, expected_size: int) -> Downloaded:
        path = self._checked_path(name)
        if expected_size > self._p.max_file_bytes:
            raise FileTooLarge(self.server, name, expected_size, self._p.max_file_bytes)
        session = await self._connected()
        async with self._guard(session, f"download {name}"):
            before = await self._lstat_file(session, path, name)
            if before.size != expected_size:
                raise RemoteFileChanged(self.server, f"{name}: size {before.size}, listed {expected_size}")
            with PartFile(self.server, dest) as part:
                await self._fetch(session, path, name, part, expected_size)
                if part.size != expected_size:
                    raise RemoteFileChanged(self.server, f"{name}: got {part.size} of {expected_size} bytes")
                after = await self._lstat_file(session, path, name)
                if (after.size, after.mtime) != (before.size, before.mtime):
                    raise RemoteFileChanged(self.server, f"{name}: size or mtime changed during the transfer")
                done = await asyncio.to_thread(part.commit)
        log.debug("file_downloaded", server=self.server, file=name, size=done.size)
        return done

    async def _fetch(self, session: Session, path: bytes, name: str, part: PartFile, expected: int) -> None:
        remote = await self._timed(session, session.sftp.open(path, "rb", encoding=None))
        try:
            # Read at most one byte past the expected size: enough to detect growth, bounded memory.
            while chunk := await self._timed(session, remote.read(min(CHUNK_BYTES, expected + 1))):
                part.write(cast(bytes, chunk))  # opened without an encoding: bytes
                if part.size > expected:
                    raise RemoteFileChanged(self.server, f"{name}: grew during the transfer")
        except (TimeoutError, OSError, asyncssh.ConnectionLost, *_SESSION_LOST):
            raise  # the guard drops the session, which frees the handle; a close would wait on a dead link
        except Exception:
            with contextlib.suppress(TimeoutError, OSError, asyncssh.Error):
                await self._timed(session, remote.close())
            raise
        await self._timed(session, remote.close())

    async def delete(self, name: str) -> None:
        path = self._checked_path(name)
        session = await self._connected()
        async with self._guard(session, f"remove {name}"):
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):  # already gone: the goal is reached
                await self._timed(session, session.sftp.remove(path))

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        session.sftp.exit()
        session.conn.close()
        try:
            async with asyncio.timeout(self._p.op_timeout):
                await session.conn.wait_closed()
        except TimeoutError:
            session.conn.abort()

    # --- connection management ---

    async def _connected(self) -> Session:
        session = self._session
        if session is not None and not session.conn.is_closed():
            return session
        async with self._connect_lock:
            session = self._session
            if session is not None:
                if not session.conn.is_closed():
                    return session
                # Closed while idle (server restart, idle timeout, keepalive): reconnect at once.
                log.info("source_connection_closed", server=self.server)
                self._session = None
            wait = self.next_retry_in()
            if wait > 0 and self._last_error is not None:
                last = self._last_error
                raise type(last)(self.server, f"{last.reason} (retry in {wait:.1f}s)")
            try:
                session = await open_session(self._p)
            except SourceUnavailable as exc:
                self._failed(exc)
                raise
            if self._backoff.failures:
                log.info("source_reconnected", server=self.server, after_failures=self._backoff.failures)
            self._backoff.succeeded()
            self._last_error = None
            self._session = session
            return session

    def _failed(self, error: SourceUnavailable) -> None:
        delay = self._backoff.failed()
        self._last_error = error
        log.warning(
            "source_unavailable",
            server=self.server,
            error=type(error).__name__,
            reason=error.reason,
            failures=self._backoff.failures,
            retry_in=round(delay, 2),
        )

    def _drop(self, session: Session) -> None:
        if self._session is session:
            self._session = None
        session.conn.abort()

    @contextlib.asynccontextmanager
    async def _guard(self, session: Session, what: str) -> AsyncIterator[None]:
        """Translate library errors met while using `session`; connection-level ones drop it."""
        try:
            yield
        except Exception as exc:
            error = self._translate(session, what, exc)
            if error is exc:
                raise
            raise error from exc

    def _translate(self, session: Session, what: str, exc: Exception) -> Exception:
        if session.timed_out:  # whatever the abort surfaced as, the cause is the silent server
            lost = SourceUnavailable(self.server, f"{what}: no answer within {self._p.op_timeout}s")
        elif isinstance(exc, SourceError):
            return exc
        elif isinstance(exc, _SESSION_LOST):
            lost = SourceUnavailable(self.server, f"{what}: {describe(exc)}")
        elif isinstance(exc, asyncssh.SFTPNoSuchFile):
            return RemoteFileChanged(self.server, f"{what}: no such file")
        elif isinstance(exc, asyncssh.SFTPError):  # this file failed (permissions...), the session is fine
            return SourceError(self.server, f"{what}: {describe(exc)}")
        elif isinstance(exc, OSError | asyncssh.Error | TimeoutError):
            lost = SourceUnavailable(self.server, f"{what}: {describe(exc)}")
        else:
            return exc
        self._lost(session, lost)
        return lost

    def _lost(self, session: Session, error: SourceUnavailable) -> None:
        self._drop(session)
        self._failed(error)

    async def _timed(self, session: Session, awaitable: Awaitable[T]) -> T:
        """Await one SFTP request; past op_timeout the whole connection is aborted.

        Aborting, not cancelling: a cancelled asyncssh call may await a reply in its cleanup (closing a
        directory handle) that a stalled server never sends. An aborted connection fails every request.
        """
        timer = asyncio.get_running_loop().call_later(self._p.op_timeout, self._expire, session)
        try:
            return await awaitable
        finally:
            timer.cancel()

    def _expire(self, session: Session) -> None:
        session.timed_out = True
        session.conn.abort()

    # --- paths and listings ---

    def _remote_path(self, name: str) -> bytes:
        base = self._p.remote_dir.rstrip("/") or ("/" if self._p.remote_dir.startswith("/") else ".")
        path = base if not name else f"{base.rstrip('/')}/{name}"
        return path.encode("utf-8", "surrogateescape")

    def _checked_path(self, name: str) -> bytes:
        reason = unsafe_relpath_reason(name)
        if reason is None and "/" in name and not self._p.recursive:
            reason = "subfolders are not watched (recursive = false)"
        if reason is not None:
            raise UnsafeName(self.server, name, reason)
        return self._remote_path(name)

    def _no_dir(self) -> SourceError:
        # Not a vanished file (RemoteFileChanged): a server or configuration problem worth an alert.
        return RemoteDirMissing(self.server, f"remote_dir {self._p.remote_dir} not found on {self._p.host}")

    async def _lstat_file(self, session: Session, path: bytes, name: str) -> asyncssh.SFTPAttrs:
        try:
            attrs = await self._timed(session, session.sftp.lstat(path))
        except asyncssh.SFTPNoSuchFile as exc:
            raise RemoteFileChanged(self.server, f"{name}: vanished") from exc
        if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
            raise RemoteFileChanged(self.server, f"{name}: no longer a regular file")
        return attrs

    async def _walk(self, session: Session, prefix: str, depth: int, out: _Entries) -> None:
        async with self._guard(session, f"listing {prefix or self._p.remote_dir}"):
            try:
                items = await self._timed(session, self._readdir(session, self._remote_path(prefix)))
            except asyncssh.SFTPNoSuchFile as exc:
                if prefix:
                    return  # a subfolder removed since its parent was listed
                raise self._no_dir() from exc
        for raw, size, mtime, fmt in items:
            if raw in (b".", b".."):
                continue
            # surrogateescape keeps undecodable bytes round-trippable; such names are refused later.
            name = raw.decode("utf-8", "surrogateescape")
            rel = f"{prefix}/{name}" if prefix else name
            out.append(RemoteEntry(rel, size, mtime, fmt == statmod.S_IFREG))
            if self._p.recursive and fmt == statmod.S_IFDIR:
                if depth >= MAX_DEPTH or unsafe_relpath_reason(rel) is not None:
                    log.warning("remote_dir_skipped", server=self.server, dir=repr(rel), depth=depth)
                    continue
                await self._walk(session, rel, depth + 1, out)

    def _lean_failed(self, reason: str) -> None:
        self._lean_ok = False
        log.warning("lean_listing_failed", server=self.server, reason=reason, fallback="asyncssh")

    async def _readdir(self, session: Session, path: bytes) -> _Listed:
        """The lean reader; asyncssh's client once it met a reply it does not understand (logged once)."""
        if self._lean_ok:
            try:
                return await sftp_listing.read_dir(session.conn, path)
            except sftp_listing.LeanListingError as exc:
                self._lean_failed(str(exc))
            except Exception as exc:
                if isinstance(exc, OSError | asyncssh.Error | TimeoutError) or session.conn.is_closed():
                    raise  # the server's answer or a lost link: reported as for any other request
                self._lean_failed(f"{type(exc).__name__}: {exc}")  # a defect of ours: never fatal
        names = await session.sftp.readdir(path)
        return [
            (cast(bytes, n.filename), n.attrs.size or 0, int(n.attrs.mtime or 0), _fmt(n.attrs))
            for n in names
        ]


def _run(session: Session, command: str) -> Awaitable[asyncssh.SSHCompletedProcess]:
    # stdin at EOF at once: a ForceCommand internal-sftp answering the command ends instead of waiting.
    return session.conn.run(command, check=False, encoding=None, stdin=asyncssh.DEVNULL)


def _fmt(attrs: asyncssh.SFTPAttrs) -> int:
    """The S_IFMT bits the lean reader reports, from asyncssh's attributes (its own type if it has one)."""
    if attrs.type == asyncssh.FILEXFER_TYPE_REGULAR:
        return statmod.S_IFREG
    if attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
        return statmod.S_IFDIR
    return statmod.S_IFMT(attrs.permissions or 0)


def _entry(name: str, attrs: asyncssh.SFTPAttrs) -> RemoteEntry:
    is_file = attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
    if attrs.type == asyncssh.FILEXFER_TYPE_UNKNOWN and attrs.permissions is not None:
        is_file = statmod.S_ISREG(attrs.permissions)
    return RemoteEntry(name=name, size=attrs.size or 0, mtime=int(attrs.mtime or 0), is_file=is_file)
