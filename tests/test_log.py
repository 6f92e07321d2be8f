"""bot.log: one handler for structlog and stdlib records, JSON vs console, contextvars, redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from bot.log import REDACTED, configure_logging

log = structlog.get_logger("tests.test_log")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-global state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = ("asyncssh", "discord", "apscheduler", "aiosqlite", "apscheduler.executors.default")
    levels = {name: logging.getLogger(name).level for name in names}
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)
    structlog.configure(**config)
    structlog.contextvars.clear_contextvars()


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_structlog_events_render_as_json_lines() -> None:
    buffer = io.StringIO()
    configure_logging("INFO", json=True, stream=buffer)
    log.info("file_imported", server="main", file="a.txt", players=12)
    (line,) = json_lines(buffer)
    assert line["event"] == "file_imported"
    assert (line["server"], line["file"], line["players"]) == ("main", "a.txt", 12)
    assert line["level"] == "info"
    assert line["logger"] == "tests.test_log"
    assert line["timestamp"].endswith("Z")


def test_json_is_chosen_automatically_when_not_a_tty() -> None:
    buffer = io.StringIO()  # isatty() is False, like journald or a docker log pipe
    configure_logging(stream=buffer)
    log.info("auto_format")
    assert json_lines(buffer)[0]["event"] == "auto_format"


def test_console_format_is_not_json() -> None:
    buffer = io.StringIO()
    configure_logging("INFO", json=False, stream=buffer)
    log.warning("poll_failed", server="eu-1")
    text = buffer.getvalue()
    assert "poll_failed" in text
    assert "server" in text
    assert "eu-1" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_stdlib_records_carry_bound_context() -> None:
    buffer = io.StringIO()
    configure_logging("INFO", json=True, stream=buffer)
    structlog.contextvars.bind_contextvars(server="eu-1", job="poll:eu-1")
    logging.getLogger("bot.somewhere").warning("plain %s record", "stdlib")
    (line,) = json_lines(buffer)
    assert line["event"] == "plain stdlib record"
    assert (line["server"], line["job"], line["level"]) == ("eu-1", "poll:eu-1", "warning")


def test_chatty_libraries_are_held_at_warning() -> None:
    buffer = io.StringIO()
    configure_logging("DEBUG", json=True, stream=buffer)
    for name in ("asyncssh", "discord.http", "apscheduler.scheduler"):
        logging.getLogger(name).info("noise")
        logging.getLogger(name).warning("signal")
    log.debug("ours_at_debug")
    events = [(line["logger"], line["event"]) for line in json_lines(buffer)]
    assert events == [
        ("asyncssh", "signal"),
        ("discord.http", "signal"),
        ("apscheduler.scheduler", "signal"),
        ("tests.test_log", "ours_at_debug"),
    ]


def test_level_filters_our_events() -> None:
    buffer = io.StringIO()
    configure_logging("warning", json=True, stream=buffer)
    log.info("dropped")
    log.warning("kept")
    assert [line["event"] for line in json_lines(buffer)] == ["kept"]


def test_secret_looking_keys_are_redacted_in_both_chains() -> None:
    buffer = io.StringIO()
    configure_logging("INFO", json=True, stream=buffer)
    log.info("login", token="abc123", private_key_passphrase="pp", params={"password": "pw", "host": "h"})
    logging.getLogger("discord.client").warning("auth", extra={"bot_token": "xyz", "user": "bob"})
    first, second = json_lines(buffer)
    assert first["token"] == REDACTED
    assert first["private_key_passphrase"] == REDACTED
    assert first["params"] == {"password": REDACTED, "host": "h"}
    assert second["bot_token"] == REDACTED
    assert second["user"] == "bob"
    assert all(secret not in buffer.getvalue() for secret in ("abc123", 'pp"', "pw", "xyz"))


def test_exceptions_are_structured_in_json() -> None:
    buffer = io.StringIO()
    configure_logging("INFO", json=True, stream=buffer)
    try:
        raise ValueError("bad value")
    except ValueError:
        log.exception("import_failed", file="x.txt")
    (line,) = json_lines(buffer)
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert line["exception"][0]["exc_value"] == "bad value"


def test_calling_twice_keeps_one_handler_and_other_handlers() -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", json=True, stream=first)
    configure_logging("INFO", json=True, stream=second)
    log.info("once")
    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once"]
    assert foreign in root.handlers


def test_logger_created_before_configuration_follows_it() -> None:
    early = structlog.get_logger("tests.early")
    early.info("before_configure_is_fine")
    buffer = io.StringIO()
    configure_logging("INFO", json=True, stream=buffer)
    early.info("after_configure")
    assert [line["event"] for line in json_lines(buffer)] == ["after_configure"]


def test_capture_logs_still_works_after_configuration() -> None:
    """Other tests use structlog.testing.capture_logs: configuring must not pin loggers to old processors."""
    configure_logging("INFO", json=True, stream=io.StringIO())
    log.info("warm_up")
    with structlog.testing.capture_logs() as captured:
        log.info("captured_event", server="main")
    assert [entry["event"] for entry in captured] == ["captured_event"]
