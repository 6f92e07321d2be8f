"""Config plumbing for bot.config: read the TOML file and the environment, merge them, name the bad key."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsError

from bot.errors import ConfigError


class KeyedError(ValueError):
    """A validator's complaint about a specific sub-key, so the ConfigError names it, not just its parent."""

    def __init__(self, loc: tuple[str | int, ...], reason: str) -> None:
        self.loc = loc
        super().__init__(reason)


def read_toml(path: Path, *, require_file: bool) -> dict[str, Any]:
    # Checked here because pydantic-settings' TOML source treats a missing file as empty.
    if not path.is_file():
        if require_file:
            raise ConfigError("config", f"file not found: {path}")
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"invalid TOML in {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError("config", f"cannot read {path}: {exc.strerror or exc}") from None


def reject_inline_secrets(data: dict[str, Any]) -> None:
    """Secrets belong in the environment or a secret file, never in the (often world-readable) TOML."""
    discord = data.get("discord")
    if isinstance(discord, dict) and "token" in discord:
        raise ConfigError(
            "discord.token",
            "do not put the token in the config file; set STATSBOT_DISCORD__TOKEN or discord.token_file",
        )
    database = data.get("database")
    url = database.get("url") if isinstance(database, dict) else None
    if isinstance(url, str) and re.match(r"^[a-z]+://[^/@]*:[^/@]*@", url, re.I):
        raise ConfigError(
            "database.url",
            "do not put the database password in the config file; set STATSBOT_DATABASE__URL,"
            " PGPASSWORD or a ~/.pgpass file",
        )
    servers = data.get("servers")
    for index, server in enumerate(servers if isinstance(servers, list) else []):
        if isinstance(server, dict) and "private_key_passphrase" in server:
            raise ConfigError(
                f"servers[{index}].private_key_passphrase",
                "do not put passphrases in the config file; use private_key_passphrase_file",
            )


class _MappingEnvSource(EnvSettingsSource):
    """The stock environment source (prefix, `__` nesting, JSON for lists), reading a given mapping."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # set first: the base __init__ calls _load_env_vars
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self.case_sensitive:
            return dict(self._environ)
        return {key.lower(): value for key, value in self._environ.items()}


def read_environment(settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings found in `environ` under the class's prefix, as nested dicts."""
    try:
        return _MappingEnvSource(settings_cls, environ)()
    except SettingsError as exc:
        # The message is 'error parsing value for field "servers" from source ...': name the variable.
        field = re.search(r'field "([^"]+)"', str(exc))
        prefix = str(settings_cls.model_config.get("env_prefix", ""))
        key = f"{prefix}{field.group(1).upper()}" if field else "environment"
        raise ConfigError(key, "cannot parse the environment value (lists and tables must be JSON)") from None


def merge(base: Any, override: Any) -> Any:
    """Deep-merge env values over file values; `servers__0__x` env keys patch the file's list by index."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, dict) and all(k.isdigit() for k in override):
        patched = list(base)
        for key, value in override.items():
            index = int(key)
            if index >= len(patched):
                raise ConfigError(f"servers[{index}]", "environment override for a server not in the file")
            patched[index] = merge(patched[index], value)
        return patched
    return override


def config_error(exc: ValidationError, known_keys: Iterable[str]) -> ConfigError:
    """The first problem as ConfigError(dotted key, reason); the other keys are listed in the reason."""
    errors = exc.errors(include_url=False, include_input=False)
    # A typo'd key also makes the real key "required": name the typo first, it is the cause.
    errors.sort(key=lambda error: error["type"] != "extra_forbidden")
    keys = sorted(set(known_keys))
    described = [_describe(error, keys) for error in errors]
    key, reason = described[0]
    if len(described) > 1:
        others = ", ".join(k for k, _ in described[1:6])
        more = "" if len(described) <= 6 else ", ..."
        reason = f"{reason} (also invalid: {others}{more})"
    return ConfigError(key, reason)


def _describe(error: ErrorDetails, known_keys: list[str]) -> tuple[str, str]:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, KeyedError):
        return dotted(loc + cause.loc), str(cause)
    if isinstance(cause, ValueError):  # a plain validator complaint: pydantic's msg adds "Value error, "
        return dotted(loc), str(cause)
    if error["type"] == "extra_forbidden":
        hint = _suggestion(loc, known_keys)
        return dotted(loc), "unknown key" + (f" (did you mean {hint}?)" if hint else "")
    return dotted(loc), "required" if error["type"] == "missing" else error["msg"]


def _suggestion(loc: tuple[str | int, ...], known_keys: list[str]) -> str | None:
    """A key of the same section spelt alike (`known_hosts`), else the same key in the section it
    belongs to (`paths.database` for a top-level `database`), else a dotted key spelt alike."""
    name = str(loc[-1])
    section = ".".join(str(part) for part in loc[:-1] if not isinstance(part, int))
    siblings = [k.rsplit(".", 1)[-1] for k in known_keys if k.rpartition(".")[0] == section]
    close = difflib.get_close_matches(name, siblings, n=1)
    if close:
        return close[0]
    elsewhere = [k for k in known_keys if k.rsplit(".", 1)[-1] == name]
    if elsewhere:
        return " or ".join(elsewhere[:2])
    leaves = {k.rsplit(".", 1)[-1]: k for k in known_keys}
    close = difflib.get_close_matches(name, list(leaves), n=1)
    return leaves[close[0]] if close else None


def dotted(loc: tuple[str | int, ...]) -> str:
    """('servers', 0, 'known_hosts') -> 'servers[0].known_hosts'."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
    return key or "config"
