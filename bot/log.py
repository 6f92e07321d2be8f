"""Logging setup: structlog and stdlib records through one handler, JSON off a TTY, secrets redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "**********"
SECRET_KEY_PARTS = ("token", "passphrase", "password", "secret")
# Libraries that log every connection, SFTP open or job run at INFO: our own events say what matters.
QUIET_LOGGERS = ("asyncssh", "discord", "apscheduler", "aiosqlite")
# bot.scheduler's listener logs failed jobs with their traceback; the executor's own copy would double them.
SILENCED_LOGGERS = ("apscheduler.executors.default",)

_HANDLER_MARK = "_statsbot_handler"


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_secret_key(str(k)) else v for k, v in value.items()}
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Mask values whose key looks like a secret (token, passphrase, password, secret), one level deep."""
    for key, value in list(event_dict.items()):
        if key == "event":
            continue
        event_dict[key] = REDACTED if _is_secret_key(key) else _redact_value(value)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,  # server=..., job=... bound per asyncio task
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]


def configure_logging(level: str = "INFO", json: bool | None = None, *, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to one stderr handler; safe to call again (replaces the handler).

    `json=None` picks JSON when the stream is not a terminal (journald, docker, pipes) and the
    human console format otherwise. `stream` defaults to sys.stderr at call time (tests pass a buffer).
    """
    out = sys.stderr if stream is None else stream
    if json is None:
        json = not out.isatty()
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a module-level logger first used before configure_logging (or under
        # structlog.testing.capture_logs in tests) must still follow the current configuration.
        cache_logger_on_first_use=False,
    )
    renderer: Processor = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final.append(structlog.processors.dict_tracebacks)
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer])
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    # Replace only our own previous handler: pytest's capture handlers (or an embedding app's) stay.
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in SILENCED_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
