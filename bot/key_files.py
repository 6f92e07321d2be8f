"""The SSH files a server's config names: the private key and known_hosts must exist and parse.

Checked by `statsbot config check` and before `run` / `once` touch anything (no database is created):
a missing or garbage key is a configuration error (exit 2) naming `servers[N].private_key`, not a
"server unreachable" warning three polls later.
"""

from __future__ import annotations

from pathlib import Path

from bot.config import ServerConfig, Settings
from bot.errors import ConfigError

_MARKERS = ("@cert-authority", "@revoked")


def check_key_files(settings: Settings) -> list[ConfigError]:
    """One error per unusable file of an enabled server, in config order (empty: all good)."""
    errors: list[ConfigError] = []
    for index, server in enumerate(settings.servers):
        if not server.enabled:
            continue
        for key, problem in (
            ("private_key", private_key_problem(server)),
            ("known_hosts", known_hosts_problem(server.known_hosts)),
        ):
            if problem is not None:
                errors.append(ConfigError(f"servers[{index}].{key}", problem))
    return errors


def raise_for_key_files(settings: Settings) -> None:
    """ConfigError (exit 2) for the first unusable key or known_hosts file."""
    errors = check_key_files(settings)
    if errors:
        raise errors[0]


def private_key_problem(server: ServerConfig) -> str | None:
    import asyncssh  # only when a key is checked

    path = server.private_key
    secret = server.private_key_passphrase
    passphrase = None if secret is None else secret.get_secret_value()
    try:
        asyncssh.read_private_key(path, passphrase)
    except FileNotFoundError:
        return f"file not found: {path}"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except (asyncssh.KeyImportError, ValueError) as exc:
        hint = "" if "assphrase" in str(exc) else " (an OpenSSH or PEM private key file is expected)"
        return f"not a usable private key: {path}: {exc}{hint}"
    return None


def known_hosts_problem(path: Path) -> str | None:
    """known_hosts must hold at least one host key line and nothing else but comments and blank lines
    (asyncssh skips a line it cannot parse, so a garbled pin would only fail at connect time)."""
    import asyncssh

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"file not found: {path}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
    keys = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if fields[0] in _MARKERS:
            fields = fields[1:]
        if len(fields) < 3:
            return f"{path} line {number}: not a known_hosts line (hosts, key type, key expected)"
        try:
            asyncssh.import_public_key(f"{fields[1]} {fields[2]}")
        except (asyncssh.KeyImportError, ValueError) as exc:
            return f"{path} line {number}: not a host key: {exc}"
        keys += 1
    if keys == 0:
        return f"{path} holds no host key: add the server's (ssh-keyscan -p PORT HOST, then verify it)"
    return None


def unpinned_servers(settings: Settings) -> list[str]:
    """Warnings for enabled servers whose known_hosts parses but holds no key for their host and port:
    the connection would be refused ("host key unknown") at every poll. A warning, not an error: a host
    name pinned by its IP address only still matches at connect time (the address is known then)."""
    import ipaddress

    import asyncssh

    found: list[str] = []
    for index, server in enumerate(settings.servers):
        if not server.enabled or known_hosts_problem(server.known_hosts) is not None:
            continue
        try:
            addr = str(ipaddress.ip_address(server.host))
        except ValueError:
            addr = ""
        pins = asyncssh.import_known_hosts(server.known_hosts.read_text(encoding="utf-8"))
        trusted, authorities, *_ = pins.match(server.host, addr, server.port)
        if trusted or authorities:
            continue
        target = server.host if server.port == 22 else f"[{server.host}]:{server.port}"
        by_ip = "" if addr else " (unless it is pinned by its IP address only)"
        found.append(
            f"servers[{index}].known_hosts: {server.known_hosts} has no key for {target}{by_ip}: every "
            f"connection would be refused as 'host key unknown'. Add it: ssh-keyscan -p {server.port} "
            f"{server.host} >> {server.known_hosts}, then verify the fingerprint (ssh-keygen -lf)"
        )
    return found
