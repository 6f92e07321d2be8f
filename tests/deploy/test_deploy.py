"""deploy/: the example config and env load and cover every key; the unit passes systemd-analyze verify."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from bot.cli import EXIT_OK, main
from bot.config import (
    BackupConfig,
    DatabaseConfig,
    DiscordConfig,
    HealthConfig,
    IngestConfig,
    LogConfig,
    PathsConfig,
    PostsConfig,
    RetentionConfig,
    ServerConfig,
    load_settings,
)
from tests.helpers.keys import make_ssh_files

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROJECT = DEPLOY.parent
EXAMPLE = DEPLOY / "config.example.toml"
UNIT = DEPLOY / "statsbot.service"
SECTIONS: dict[str, type[BaseModel]] = {
    "paths": PathsConfig,
    "database": DatabaseConfig,
    "servers": ServerConfig,
    "ingest": IngestConfig,
    "discord": DiscordConfig,
    "discord.posts": PostsConfig,
    "health": HealthConfig,
    "retention": RetentionConfig,
    "backup": BackupConfig,
    "log": LogConfig,
}
# Secrets are deliberately absent from the example file (they come from the environment).
NOT_IN_FILE = {("discord", "token"), ("servers", "private_key_passphrase")}


def env_file_values(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def test_example_config_loads_with_documented_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings(EXAMPLE, environ={})
    assert [s.name for s in settings.servers] == ["main"]
    assert settings.servers[0].known_hosts == tmp_path / ".ssh" / "known_hosts"
    assert settings.servers[0].remote_dir == "/home/et/.etlegacy/legacy/gamestats"
    assert settings.discord.enabled is False
    assert settings.paths.db_path == Path("data/statsbot.db")


def test_example_config_with_example_env_passes_config_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    make_ssh_files(tmp_path)  # the key files the example names must exist and parse
    values = env_file_values(DEPLOY / "env.example")
    assert values == {"STATSBOT_DISCORD__TOKEN": ""}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    assert main(["--config", str(EXAMPLE), "config", "check"]) == EXIT_OK
    assert "configuration OK" in capsys.readouterr().err


def example_keys() -> dict[str, set[str]]:
    """Keys per section, set or commented out (`# key = ...`), as they appear in the example file."""
    found: dict[str, set[str]] = {}
    section = ""
    for raw in EXAMPLE.read_text().splitlines():
        line = raw.strip()
        header = re.match(r"^\[\[?([a-z.]+)\]\]?", line)
        if header:
            section = header.group(1)
            found.setdefault(section, set())
            continue
        key = re.match(r"^#?\s*([a-z_]+)\s*=", line)
        if key and section:
            found[section].add(key.group(1))
    return found


def test_example_config_documents_every_key_and_nothing_else() -> None:
    found = example_keys()
    assert set(found) == set(SECTIONS)
    for section, model in SECTIONS.items():
        nested = {name for name, f in model.model_fields.items() if f.annotation is PostsConfig}
        expected = {name for name in model.model_fields if (section, name) not in NOT_IN_FILE} - nested
        assert found[section] == expected, section


def test_unit_file_has_the_required_service_settings() -> None:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "60",
        "Restart": "on-failure",
        "RestartSec": "10",
        "ExecStart": "/opt/statsbot/.venv/bin/statsbot --config /etc/statsbot/statsbot.toml run",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "DynamicUser": "yes",
        "StateDirectory": "statsbot",
        "ReadWritePaths": "/var/lib/statsbot",
        "EnvironmentFile": "-/etc/statsbot/env",
        "LoadCredential": "ssh-key:/etc/statsbot/ssh-key",
    }
    for key, value in expected.items():
        assert settings.get(key) == [value], key


def verify(unit_text: str, folder: Path) -> subprocess.CompletedProcess[str]:
    unit = folder / "statsbot.service"
    unit.write_text(unit_text)
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    statsbot = Path(sys.executable).parent / "statsbot"
    assert statsbot.exists(), "the venv's statsbot console script (make install)"
    # verify checks that ExecStart's binary exists: point it at this venv's instead of /opt/statsbot's.
    text = UNIT.read_text().replace("/opt/statsbot/.venv/bin/statsbot", str(statsbot))
    result = verify(text, tmp_path)
    assert result.returncode == 0, result.stderr
    # Unknown keys or bad values are only warnings (exit 0): any line about our unit is a failure.
    assert [line for line in result.stderr.splitlines() if "statsbot.service" in line] == []
    # The same check does catch a mistake.
    broken = verify(text.replace("Type=notify", "Type=notfy"), tmp_path)
    assert "notfy" in broken.stderr


def test_dockerfile_builds_from_the_lock_as_a_non_root_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["python:3.11-slim", "python:3.11-slim"]
    assert "--require-hashes -r requirements-runtime.lock" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users
    assert users[-1] not in {"root", "0"}
    assert 'VOLUME ["/data", "/app/local_stats"]' in text
    assert (
        'HEALTHCHECK --interval=60s --timeout=20s --start-period=90s --retries=3 CMD ["statsbot", "health"]'
        in text
    )
    assert re.findall(r"^CMD (.+)$", text, re.M) == ['["statsbot", "run"]']


def test_docker_build_context_has_what_the_dockerfile_copies() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    sources = [src for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M) for src in line.split()[:-1]]
    assert sources
    for src in sources:
        assert (PROJECT / src).exists(), src
        assert src.rstrip("/") in kept, f"{src} is excluded by Dockerfile.dockerignore"


def test_compose_mounts_the_volumes_and_env_file() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    for needle in ("statsbot-data:/data", "statsbot-local-stats:/app/local_stats", "env_file:", "- ./env"):
        assert needle in text
    context = re.search(r"context: (\S+)", text)
    dockerfile = re.search(r"dockerfile: (\S+)", text)
    assert context
    assert dockerfile
    assert (DEPLOY / context.group(1) / dockerfile.group(1)).resolve() == DEPLOY / "Dockerfile"


def test_dockerfile_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = [pair for line in re.findall(r"^ENV (.+)$", text, re.M) for pair in line.split()]
    environ = dict(pair.split("=", 1) for pair in pairs if pair.startswith("STATSBOT_"))
    assert environ.pop("STATSBOT_CONFIG") == "/etc/statsbot/statsbot.toml"
    settings = load_settings(EXAMPLE, environ=environ)
    assert settings.paths.data_dir == Path("/data")
    assert settings.paths.local_stats == Path("/app/local_stats")


def compose(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / name).read_text())  # merge keys (<<) resolved as compose does
    assert isinstance(data, dict)
    return data


def test_single_instance_compose_parses_as_yaml() -> None:
    services = compose("docker-compose.yml")["services"]
    assert set(services) == {"statsbot"}
    assert services["statsbot"]["restart"] == "unless-stopped"


def test_postgres_compose_runs_postgresql_15_and_two_bots_on_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = compose("docker-compose.postgres.yml")
    services = data["services"]
    assert set(services) == {"postgres", "statsbot-a", "statsbot-b"}
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert postgres["restart"] == "unless-stopped"
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    password = postgres["environment"]["POSTGRES_PASSWORD"]
    assert password.startswith("${PG_PASSWORD:?")
    single = compose("docker-compose.yml")["services"]["statsbot"]
    monkeypatch.setenv("HOME", str(tmp_path))
    mounts: list[str] = []
    for name in ("statsbot-a", "statsbot-b"):
        bot = services[name]
        assert bot["hostname"] == name
        assert bot["build"] == single["build"]
        assert bot["image"] == single["image"]
        assert bot["env_file"] == single["env_file"]
        assert bot["restart"] == "unless-stopped"
        assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert bot["environment"]["PGPASSWORD"] == password, "the password the database was created with"
        environ = {k: v for k, v in bot["environment"].items() if k.startswith("STATSBOT_")}
        settings = load_settings(EXAMPLE, environ=environ)
        assert settings.database.url == "postgresql://statsbot@postgres/statsbot"
        assert settings.database.is_postgresql
        assert {"/data", "/app/local_stats"} <= {v.split(":")[1] for v in bot["volumes"]}
        mounts += [v.split(":")[0] for v in bot["volumes"] if not v.startswith("./")]
    assert len(mounts) == len(set(mounts)) == 4, "each instance has its own data and local_stats"
    declared = set(data["volumes"])
    assert set(mounts) | {"postgres-data"} == declared
    assert set(data["secrets"]) == {"ssh_key"}
