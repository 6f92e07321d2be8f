"""Settings: the TOML file plus STATSBOT_* environment variables, validated with errors that name the key."""

from __future__ import annotations

import logging
import os
import typing
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.config_fields import (
    ExpandedPath,
    Model,
    NonEmpty,
    Port,
    ServerName,
    read_secret_file,
)
from bot.config_sources import (
    KeyedError,
    config_error,
    merge,
    read_environment,
    read_toml,
    reject_inline_secrets,
)
from bot.config_storage import DatabaseConfig, PathsConfig
from bot.errors import ConfigError

ENV_PREFIX = "STATSBOT_"


class ServerConfig(Model):
    name: ServerName
    host: NonEmpty
    port: Port = 22
    username: NonEmpty
    private_key: ExpandedPath
    private_key_passphrase: SecretStr | None = None
    # Read at load into private_key_passphrase: keeps the passphrase out of the TOML file.
    private_key_passphrase_file: ExpandedPath | None = None
    known_hosts: ExpandedPath
    remote_dir: NonEmpty
    recursive: bool = False
    exec_listing: bool = True  # `find` over SSH exec when the account allows it (probed); else SFTP
    poll_seconds: PositiveFloat = 10.0
    min_file_age_seconds: NonNegativeFloat = 2.0
    full_listing_seconds: PositiveFloat = 300.0
    connect_timeout_seconds: PositiveFloat = 15.0
    operation_timeout_seconds: PositiveFloat = 30.0
    keepalive_interval_seconds: NonNegativeFloat = 15.0
    keepalive_count_max: PositiveInt = 3
    max_parallel_downloads: PositiveInt = 2
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _passphrase_from_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("private_key_passphrase") == "":
            data = {**data, "private_key_passphrase": None}  # an empty env placeholder means "none"
        if isinstance(data, dict) and data.get("private_key_passphrase") is None:
            path = data.get("private_key_passphrase_file")
            if path is not None:
                secret = read_secret_file(Path(path), ("private_key_passphrase_file",))
                data = {**data, "private_key_passphrase": secret}
        return data


class IngestConfig(Model):
    session_gap_minutes: PositiveFloat = 60.0
    pairing_window_minutes: PositiveFloat = 45.0
    max_attempts: PositiveInt = 5
    retry_base_seconds: PositiveFloat = 30.0
    retry_max_seconds: PositiveFloat = 3600.0
    max_file_bytes: PositiveInt = 1_048_576

    @model_validator(mode="after")
    def _retry_bounds(self) -> Self:
        if self.retry_max_seconds < self.retry_base_seconds:
            raise KeyedError(("retry_max_seconds",), "must be >= retry_base_seconds")
        return self


POST_MODES = {  # `[discord] posts = "..."` → which stats posts are made (alerts always are)
    "all": {"rounds": True, "matches": True, "sessions": True},
    "matches": {"rounds": False, "matches": True, "sessions": True},
    "sessions": {"rounds": False, "matches": False, "sessions": True},
}


class PostsConfig(Model):
    """Which posts are made. Set as `posts = "all" | "matches" | "sessions"` (default "matches": one match
    post per map and the session post, no round posts), or per kind as a `[discord.posts]` table."""

    rounds: bool = False
    matches: bool = True
    sessions: bool = True
    alerts: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_mode(cls, data: Any) -> Any:
        if isinstance(data, str):
            mode = POST_MODES.get(data.strip().lower())
            if mode is None:
                raise ValueError(f"must be one of {', '.join(POST_MODES)} (or a table), not {data!r}")
            return dict(mode)
        return data

    @property
    def mode(self) -> str:
        """The named mode these toggles equal, else "custom"."""
        picked = {"rounds": self.rounds, "matches": self.matches, "sessions": self.sessions}
        return next((name for name, toggles in POST_MODES.items() if toggles == picked), "custom")


class DiscordConfig(Model):
    token: SecretStr | None = None
    # Read at load into token when the environment gave none (systemd LoadCredential=, docker secrets).
    token_file: ExpandedPath | None = None
    guild_id: NonNegativeInt = 0
    stats_channel_id: NonNegativeInt = 0
    admin_channel_id: NonNegativeInt = 0
    admin_role_id: NonNegativeInt = 0
    # false: files already on a server when statsbot first lists it are imported without posts (one
    # admin summary instead); true: every round, match and session of that history is posted.
    post_history: bool = False
    posts: PostsConfig = PostsConfig()

    @model_validator(mode="before")
    @classmethod
    def _token_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        token = data.get("token")
        if isinstance(token, SecretStr):
            token = token.get_secret_value()
        # An empty STATSBOT_DISCORD__TOKEN= (the env.example placeholder) means "no token".
        if isinstance(token, str) and not token.strip():
            data = {**data, "token": None}
        if data.get("token") is None and data.get("token_file") is not None:
            data = {**data, "token": read_secret_file(Path(data["token_file"]), ("token_file",))}
        return data

    @model_validator(mode="after")
    def _ids_when_enabled(self) -> Self:
        if self.enabled:
            for key in ("guild_id", "stats_channel_id"):
                if getattr(self, key) == 0:
                    raise KeyedError((key,), "must be set (non-zero) when a Discord token is configured")
        return self

    @property
    def enabled(self) -> bool:
        return self.token is not None


class HealthConfig(Model):
    http_host: NonEmpty = "127.0.0.1"
    http_port: Port | None = None
    unreachable_alert_polls: PositiveInt = 3
    min_free_disk_mb: NonNegativeInt = 200
    outbox_backlog_alert: PositiveInt = 50
    # The daemon's scheduled four-location comparison (diagnose); 0 turns the watch off.
    drift_check_minutes: NonNegativeFloat = 60.0


class RetentionConfig(Model):
    local_days: PositiveInt | None = None
    local_action: Literal["compress", "delete"] = "compress"
    remote_delete_days: PositiveInt | None = None
    remote_batch: PositiveInt = 100
    # Delete the local copy of a done file once the server no longer has it (deleted there, or by
    # remote_delete_days). Rounds in the database are history: never deleted by retention.
    mirror_remote_deletions: bool = False


class BackupConfig(Model):
    enabled: bool = True
    interval_hours: PositiveFloat = 24.0
    keep: PositiveInt = 7
    dir: ExpandedPath | None = None


# The TOML key is `json` (the contract); pydantic warns that it shadows the deprecated BaseModel.json().
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "json"', category=UserWarning)

    class LogConfig(Model):
        level: str = "INFO"
        json: bool | None = None  # type: ignore[assignment]  # None = auto: JSON when stderr is not a TTY

        @field_validator("level")
        @classmethod
        def _known_level(cls, value: str) -> str:
            level = value.strip().upper()
            if level not in logging.getLevelNamesMapping() or level == "NOTSET":
                raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
            return level


class Settings(BaseSettings):
    """The whole configuration. `Settings(...)` / `from_values` use only the arguments given."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    paths: PathsConfig = PathsConfig()
    database: DatabaseConfig = DatabaseConfig()
    servers: list[ServerConfig] = []
    ingest: IngestConfig = IngestConfig()
    discord: DiscordConfig = DiscordConfig()
    health: HealthConfig = HealthConfig()
    retention: RetentionConfig = RetentionConfig()
    backup: BackupConfig = BackupConfig()
    log: LogConfig = LogConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Direct construction never reads the process environment: load_settings merges file + env itself,
        # so tests and the demo can build Settings from plain values without interference.
        return (init_settings,)

    @model_validator(mode="after")
    def _sqlite_url_is_the_path(self) -> Self:
        # `[database] url = "sqlite:///x.db"` and `[paths] database = "x.db"` say the same thing: one place.
        url = self.database.url
        if url is None or not url.startswith("sqlite:///"):
            return self
        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if self.paths.database is not None and self.paths.database != path:
            raise ValueError(f"database.url names {path} but paths.database names {self.paths.database}")
        object.__setattr__(self.paths, "database", path)  # frozen model: set once, while validating
        return self

    @model_validator(mode="after")
    def _unique_server_names(self) -> Self:
        seen: set[str] = set()
        for index, server in enumerate(self.servers):
            if server.name in seen:
                raise KeyedError(("servers", index, "name"), f"duplicate server name {server.name!r}")
            seen.add(server.name)
        return self

    @classmethod
    def from_values(cls, **values: Any) -> Settings:
        """Build settings in code (demo, tests): defaults + the given values, no file, no environment."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise config_error(exc, _known_keys()) from None

    def server(self, name: str) -> ServerConfig:
        for server in self.servers:
            if server.name == name:
                return server
        known = ", ".join(s.name for s in self.servers) or "none configured"
        raise ConfigError("servers", f"unknown server {name!r} (known: {known})")

    @property
    def enabled_servers(self) -> list[ServerConfig]:
        return [s for s in self.servers if s.enabled]

    @property
    def db_target(self) -> Path | str:
        """Where the database is: a SQLite file's path, or a PostgreSQL URL (`[database] url`)."""
        url = self.database.url
        if url is None or url.startswith("sqlite:///"):
            return self.paths.db_path  # a sqlite:/// url was folded into paths.database at load
        return url

    @property
    def on_postgresql(self) -> bool:
        return self.database.is_postgresql

    @property
    def backup_dir(self) -> Path:
        return self.backup.dir if self.backup.dir is not None else self.paths.data_dir / "backups"


def _known_keys() -> list[str]:
    """Every setting as a dotted path without list indexes (`paths.database`, `servers.host`)."""
    return list(_field_paths(Settings, ""))


def _field_paths(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path
        annotation = field.annotation
        inner = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            yield from _field_paths(inner, f"{path}.")


def load_settings(
    path: Path, *, require_file: bool = True, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file, overlay STATSBOT_* variables (env wins), validate; raises ConfigError."""
    file_data = read_toml(path, require_file=require_file)
    reject_inline_secrets(file_data)
    env_data = read_environment(Settings, os.environ if environ is None else environ)
    try:
        return Settings(**merge(file_data, env_data))
    except ValidationError as exc:
        raise config_error(exc, _known_keys()) from None
