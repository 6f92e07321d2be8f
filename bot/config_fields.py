"""What every config section shares: the base model, path and name types, secrets read from files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from bot.config_sources import KeyedError

SERVER_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


def expand_path(path: Path) -> Path:
    # `$CREDENTIALS_DIRECTORY/ssh-key` lets a systemd LoadCredential= path be named in the TOML file.
    return Path(os.path.expanduser(os.path.expandvars(path)))


ExpandedPath = Annotated[Path, AfterValidator(expand_path)]
ServerName = Annotated[str, StringConstraints(pattern=SERVER_NAME_PATTERN)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Port = Annotated[int, Field(ge=1, le=65535)]


def read_secret_file(path: Path, loc: tuple[str | int, ...]) -> SecretStr:
    try:
        text = expand_path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KeyedError(loc, f"cannot read secret file {path}: {exc.strerror or exc}") from None
    if not text:
        raise KeyedError(loc, f"secret file {path} is empty")
    return SecretStr(text)


class Model(BaseModel):
    """Every config section: unknown keys refused, values frozen, no inf/nan."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
