"""bot.config and `statsbot config check`: TOML + environment, validation errors naming the key, secrets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.cli import EXIT_OK, EXIT_USAGE, main
from bot.config import ServerConfig, Settings, load_settings
from bot.errors import ConfigError
from tests.helpers.keys import make_ssh_files

SERVER = """
[[servers]]
name = "main"
host = "et.example.org"
username = "et"
private_key = "~/.ssh/statsbot_ed25519"
known_hosts = "~/.ssh/known_hosts"
remote_dir = "/home/et/.etlegacy/legacy/gamestats"
"""


def write(tmp_path: Path, text: str, name: str = "statsbot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, **environ: str) -> Settings:
    return load_settings(write(tmp_path, text), environ=environ)


def error_of(tmp_path: Path, text: str, **environ: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, **environ)
    return info.value


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_minimal_file_gets_documented_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path, SERVER)
    server = settings.servers[0]
    assert (server.port, server.poll_seconds, server.min_file_age_seconds) == (22, 10, 2)
    assert (server.full_listing_seconds, server.max_parallel_downloads, server.enabled) == (300, 2, True)
    assert (server.keepalive_interval_seconds, server.keepalive_count_max, server.recursive) == (15, 3, False)
    assert server.private_key == tmp_path / "home" / ".ssh" / "statsbot_ed25519"
    assert server.known_hosts == tmp_path / "home" / ".ssh" / "known_hosts"
    assert settings.paths.db_path == Path("data/statsbot.db")
    assert settings.backup_dir == Path("data/backups")
    assert settings.ingest.max_file_bytes == 1_048_576
    assert settings.discord.enabled is False
    assert settings.health.http_port is None
    assert settings.retention.local_action == "compress"
    assert (settings.log.level, settings.log.json) == ("INFO", None)


def test_explicit_database_and_backup_dir_win_over_derived(tmp_path: Path) -> None:
    settings = load(tmp_path, '[paths]\ndatabase = "/srv/x.db"\n[backup]\ndir = "~/bk"\n')
    assert settings.paths.db_path == Path("/srv/x.db")
    assert settings.backup_dir == tmp_path / "home" / "bk"


def test_environment_overrides_file_per_nested_key(tmp_path: Path) -> None:
    text = SERVER + '[discord]\nguild_id = 1\nstats_channel_id = 2\n[log]\nlevel = "INFO"\n'
    settings = load(
        tmp_path,
        text,
        STATSBOT_LOG__LEVEL="debug",
        STATSBOT_DISCORD__STATS_CHANNEL_ID="99",
        STATSBOT_SERVERS__0__PORT="2222",
    )
    assert settings.log.level == "DEBUG"
    assert (settings.discord.guild_id, settings.discord.stats_channel_id) == (1, 99)
    assert settings.servers[0].port == 2222
    assert settings.servers[0].host == "et.example.org"


def test_environ_argument_isolates_from_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSBOT_LOG__LEVEL", "ERROR")
    path = write(tmp_path, SERVER)
    assert load_settings(path, environ={}).log.level == "INFO"
    assert load_settings(path).log.level == "ERROR"


def test_cli_config_path_variable_is_not_a_setting(tmp_path: Path) -> None:
    settings = load(tmp_path, SERVER, STATSBOT_CONFIG="/etc/statsbot/statsbot.toml")
    assert settings.servers[0].name == "main"


def test_direct_construction_reads_neither_file_nor_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSBOT_LOG__LEVEL", "ERROR")
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '[log]\nlevel = "DEBUG"\n')
    assert Settings().log.level == "INFO"
    server = ServerConfig(
        name="demo", host="127.0.0.1", port=2022, username="u", private_key=tmp_path / "k",
        known_hosts=tmp_path / "kh", remote_dir="/gamestats",
    )  # fmt: skip
    built = Settings.from_values(servers=[server], paths={"data_dir": tmp_path / "d"})
    assert built.server("demo").port == 2022
    assert built.paths.db_path == tmp_path / "d" / "statsbot.db"


def test_from_values_raises_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_values(ingest={"max_attempts": 0})
    assert info.value.key == "ingest.max_attempts"


def test_missing_file_is_an_error_unless_optional(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml", environ={})
    assert info.value.key == "config"
    assert "file not found" in info.value.reason
    assert str(tmp_path / "nope.toml") in info.value.reason
    optional = load_settings(
        tmp_path / "nope.toml", require_file=False, environ={"STATSBOT_LOG__LEVEL": "WARNING"}
    )
    assert optional.log.level == "WARNING"
    assert optional.servers == []


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    error = error_of(tmp_path, "[paths\n")
    assert error.key == "config"
    assert "invalid TOML" in error.reason


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (SERVER.replace('known_hosts = "~/.ssh/known_hosts"\n', ""), "servers[0].known_hosts", "required"),
        (SERVER.replace("known_hosts", "knwon_hosts"), "servers[0].knwon_hosts", "did you mean known_hosts?"),
        (SERVER.replace('"main"', '"Main Server"'), "servers[0].name", "pattern"),
        (SERVER + "poll_seconds = 0\n", "servers[0].poll_seconds", "greater than 0"),
        (SERVER + "min_file_age_seconds = -1\n", "servers[0].min_file_age_seconds", "greater than or equal"),
        (SERVER + "port = 70000\n", "servers[0].port", "less than or equal"),
        (SERVER + SERVER, "servers[1].name", "duplicate server name 'main'"),
        ("[paths]\ndata_dri = 'x'\n", "paths.data_dri", "unknown key (did you mean data_dir?)"),
        ("[discrod]\n", "discrod", "unknown key (did you mean discord?)"),
        # A real key in the wrong section: point at where it belongs, not at itself.
        ("[paths]\nurl = 'x'\n", "paths.url", "unknown key (did you mean database.url?)"),
        ("[database]\nurl = 'mysql://x'\n", "database.url", "must start with sqlite:/// or postgresql://"),
        (
            "[database]\nurl = 'postgresql://statsbot:hunter2@db/statsbot'\n",
            "database.url",
            "do not put the database password in the config file",
        ),
        ("poll_seconds = 5\n", "poll_seconds", "unknown key (did you mean servers.poll_seconds?)"),
        ("[ingest]\nmax_attempt = 3\n", "ingest.max_attempt", "unknown key (did you mean max_attempts?)"),
        ("[log]\nlevel = 'LOUD'\n", "log.level", "must be one of"),
        ("[retention]\nlocal_action = 'shred'\n", "retention.local_action", "compress"),
        ("[ingest]\nretry_base_seconds = 60\nretry_max_seconds = 10\n", "ingest.retry_max_seconds", ">="),
        ("[health]\nhttp_port = 0\n", "health.http_port", "greater than or equal"),
    ],
)
def test_validation_errors_name_the_dotted_key(tmp_path: Path, text: str, key: str, reason: str) -> None:
    error = error_of(tmp_path, text)
    assert error.key == key
    assert reason in error.reason
    assert str(error).startswith(f"config {key}: ")


def test_several_errors_are_all_mentioned(tmp_path: Path) -> None:
    error = error_of(tmp_path, SERVER + "poll_seconds = 0\nport = 0\n")
    # Reported in field order: port is declared before poll_seconds.
    assert error.key == "servers[0].port"
    assert "also invalid: servers[0].poll_seconds" in error.reason


def test_unknown_nested_environment_key_is_named(tmp_path: Path) -> None:
    assert error_of(tmp_path, SERVER, STATSBOT_DISCORD__TOKN="x").key == "discord.tokn"


def test_unparseable_environment_list_names_the_variable(tmp_path: Path) -> None:
    error = error_of(tmp_path, SERVER, STATSBOT_SERVERS="not json")
    assert error.key == "STATSBOT_SERVERS"


def test_environment_override_for_absent_server_is_rejected(tmp_path: Path) -> None:
    assert error_of(tmp_path, SERVER, STATSBOT_SERVERS__3__PORT="1").key == "servers[3]"


def test_token_from_environment_enables_discord_and_requires_ids(tmp_path: Path) -> None:
    error = error_of(tmp_path, SERVER + "[discord]\nguild_id = 5\n", STATSBOT_DISCORD__TOKEN="t0k")
    assert error.key == "discord.stats_channel_id"
    error = error_of(tmp_path, SERVER, STATSBOT_DISCORD__TOKEN="t0k")
    assert error.key == "discord.guild_id"
    settings = load(
        tmp_path, SERVER + "[discord]\nguild_id = 5\nstats_channel_id = 6\n", STATSBOT_DISCORD__TOKEN="t0k"
    )
    assert settings.discord.enabled
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "t0k"


def test_empty_token_variable_means_no_token(tmp_path: Path) -> None:
    assert not load(tmp_path, SERVER, STATSBOT_DISCORD__TOKEN="").discord.enabled


def test_token_file_is_read_at_load_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("file-token\n", encoding="utf-8")
    text = f'[discord]\ntoken_file = "{tmp_path / "token"}"\nguild_id = 1\nstats_channel_id = 2\n'
    settings = load(tmp_path, text)
    assert settings.discord.token == SecretStr("file-token")
    # The environment's token wins over the file.
    assert load(tmp_path, text, STATSBOT_DISCORD__TOKEN="env").discord.token == SecretStr("env")


def test_unreadable_or_empty_token_file_names_token_file(tmp_path: Path) -> None:
    error = error_of(tmp_path, f'[discord]\ntoken_file = "{tmp_path / "missing"}"\n')
    assert error.key == "discord.token_file"
    assert "cannot read" in error.reason
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    assert "empty" in error_of(tmp_path, f'[discord]\ntoken_file = "{tmp_path / "empty"}"\n').reason


def test_secrets_in_the_file_are_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, '[discord]\ntoken = "abc"\n')
    assert error.key == "discord.token"
    assert "abc" not in str(error)
    error = error_of(tmp_path, SERVER + 'private_key_passphrase = "pw"\n')
    assert error.key == "servers[0].private_key_passphrase"


def test_passphrase_from_file_or_environment(tmp_path: Path) -> None:
    (tmp_path / "pp").write_text("from-file\n", encoding="utf-8")
    settings = load(tmp_path, SERVER + f'private_key_passphrase_file = "{tmp_path / "pp"}"\n')
    assert settings.servers[0].private_key_passphrase == SecretStr("from-file")
    settings = load(tmp_path, SERVER, STATSBOT_SERVERS__0__PRIVATE_KEY_PASSPHRASE="from-env")
    assert settings.servers[0].private_key_passphrase == SecretStr("from-env")


def test_secret_values_never_appear_in_repr_or_errors(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        SERVER + "[discord]\nguild_id = 1\nstats_channel_id = 2\n",
        STATSBOT_DISCORD__TOKEN="hunter2",
    )
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    # An invalid value is not echoed back in the error (it could be a mis-placed secret).
    error = error_of(tmp_path, SERVER, STATSBOT_SERVERS__0__PORT="hunter2")
    assert error.key == "servers[0].port"
    assert "hunter2" not in str(error)


def test_environment_variables_expand_in_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "/run/credentials/statsbot.service")
    settings = load(tmp_path, SERVER.replace('"~/.ssh/statsbot_ed25519"', '"$CREDENTIALS_DIRECTORY/ssh-key"'))
    assert settings.servers[0].private_key == Path("/run/credentials/statsbot.service/ssh-key")


def test_server_lookup(tmp_path: Path) -> None:
    settings = load(tmp_path, SERVER + SERVER.replace('"main"', '"eu-2"') + "enabled = false\n")
    assert settings.server("eu-2").enabled is False
    assert [s.name for s in settings.enabled_servers] == ["main"]
    with pytest.raises(ConfigError) as info:
        settings.server("nope")
    assert info.value.key == "servers"
    assert "main, eu-2" in info.value.reason


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load(tmp_path, SERVER)
    with pytest.raises(ValidationError):
        settings.servers[0].port = 1


# --- statsbot config check ---------------------------------------------------------------------------


def test_config_check_prints_effective_config_with_secrets_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATSBOT_DISCORD__TOKEN", "super-secret-token")
    monkeypatch.setenv("STATSBOT_SERVERS__0__PORT", "2200")
    make_ssh_files(tmp_path / "home")
    path = write(tmp_path, SERVER + "[discord]\nguild_id = 10\nstats_channel_id = 20\n")
    assert main(["--config", str(path), "config", "check"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "super-secret-token" not in out + err
    rendered = tomllib.loads(out)
    assert rendered["discord"]["token"] == "**********"
    assert rendered["discord"]["stats_channel_id"] == 20
    assert rendered["servers"][0]["port"] == 2200
    assert rendered["servers"][0]["known_hosts"] == str(tmp_path / "home" / ".ssh" / "known_hosts")
    posts = {"rounds": False, "matches": True, "sessions": True, "alerts": True}  # posts = "matches"
    assert rendered["discord"]["posts"] == posts
    assert "configuration OK" in err


def test_config_check_invalid_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, SERVER.replace('known_hosts = "~/.ssh/known_hosts"\n', ""))
    assert main(["--config", str(path), "config", "check"]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert "servers[0].known_hosts: required" in err


def test_config_check_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "absent.toml"), "config", "check"]) == EXIT_USAGE
    assert "file not found" in capsys.readouterr().err


def test_config_check_uses_statsbot_config_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATSBOT_CONFIG", str(write(tmp_path, SERVER, name="other.toml")))
    make_ssh_files(tmp_path / "home")
    assert main(["config", "check"]) == EXIT_OK
    assert 'name = "main"' in capsys.readouterr().out


def test_config_without_subcommand_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == EXIT_USAGE
    assert "check" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("missing key", "servers[0].private_key: file not found"),
        ("garbage key", "servers[0].private_key: not a usable private key"),
        ("missing known_hosts", "servers[0].known_hosts: file not found"),
        ("garbage known_hosts", "servers[0].known_hosts: "),
        ("empty known_hosts", "servers[0].known_hosts: "),
    ],
)
def test_config_check_refuses_unusable_key_files_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, named: str
) -> None:
    key, known_hosts = make_ssh_files(tmp_path / "home")
    if damage == "missing key":
        key.unlink()
    elif damage == "garbage key":
        key.write_text(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n"
        )
    elif damage == "missing known_hosts":
        known_hosts.unlink()
    elif damage == "garbage known_hosts":
        known_hosts.write_text("et.example.org ssh-ed25519 AAAAgarbage\n")
    else:
        known_hosts.write_text("# nothing pinned yet\n")
    assert main(["--config", str(write(tmp_path, SERVER)), "config", "check"]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert named in err
    assert "configuration OK" not in err


def test_config_check_warns_when_known_hosts_does_not_pin_the_servers_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, known_hosts = make_ssh_files(tmp_path / "home", host="[127.0.0.1]:2222")  # pinned by address
    path = write(tmp_path, SERVER.replace('username = "et"', 'username = "et"\nport = 2222'))
    assert main(["--config", str(path), "config", "check"]) == EXIT_OK  # a warning, not an error
    err = capsys.readouterr().err
    named = f"servers[0].known_hosts: {known_hosts} has no key for [et.example.org]:2222 (unless it is "
    assert named in err, err
    assert "ssh-keyscan -p 2222 et.example.org" in err, err

    by_ip = SERVER.replace('host = "et.example.org"', 'host = "127.0.0.1"\nport = 2223')
    ip = write(tmp_path, by_ip, name="ip.toml")
    assert main(["--config", str(ip), "config", "check"]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"{known_hosts} has no key for [127.0.0.1]:2223: every connection would be refused" in err, err

    known_hosts.write_text(
        known_hosts.read_text() + known_hosts.read_text().replace("127.0.0.1", "et.example.org")
    )
    assert main(["--config", str(path), "config", "check"]) == EXIT_OK
    assert "known_hosts" not in capsys.readouterr().err


def test_encrypted_key_without_its_passphrase_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncssh

    key, _ = make_ssh_files(tmp_path / "home")
    key.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key(passphrase="pw"))
    assert main(["--config", str(write(tmp_path, SERVER)), "config", "check"]) == EXIT_USAGE
    assert "servers[0].private_key" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["once", "run"])
def test_start_with_a_garbage_key_exits_2_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    key, _ = make_ssh_files(tmp_path / "home")
    key.write_text("garbage\n")
    data = tmp_path / "data"
    text = f'[paths]\ndata_dir = "{data}"\nlocal_stats = "{tmp_path / "local_stats"}"\n' + SERVER
    assert main(["--config", str(write(tmp_path, text)), command]) == EXIT_USAGE
    assert "servers[0].private_key: not a usable private key" in capsys.readouterr().err
    assert not data.exists()
    assert not (tmp_path / "local_stats").exists()


def test_leadership_timing_defaults_meet_the_two_poll_bound_and_bad_values_are_refused(
    tmp_path: Path,
) -> None:
    from bot.db.leadership import Leadership

    settings = load(tmp_path, SERVER)
    db = settings.database
    probe = Leadership("postgresql://x@h/d", instance="x")  # the module's own defaults, no connection
    assert (db.leader_retry_seconds, db.leader_heartbeat_seconds) == (
        probe.retry_seconds,
        probe.heartbeat_seconds,
    )
    assert db.takeover_bound_seconds == probe.session_timeout_seconds + probe.retry_seconds
    assert db.takeover_bound_seconds <= 2 * settings.servers[0].poll_seconds
    tuned = load(tmp_path, '[database]\nleader_retry_seconds = 0.5\ninstance = "bot-b"\n' + SERVER)
    assert (tuned.database.leader_retry_seconds, tuned.database.instance) == (0.5, "bot-b")
    error = error_of(tmp_path, "[database]\nleader_heartbeat_seconds = 0\n" + SERVER)
    assert "database.leader_heartbeat_seconds" in str(error)
    error = error_of(tmp_path, SERVER, STATSBOT_DATABASE__LEADER_RETRY_SECONDS="-1")
    assert "database.leader_retry_seconds" in str(error)
