"""Build runtime objects from the config: SSH sources and importer settings, for every caller."""

from __future__ import annotations

from bot.config import ServerConfig, Settings
from bot.db.continuity import Continuity
from bot.ingest.importer import ImportSettings
from bot.ingest.source import StatsSource


def make_source(server: ServerConfig, settings: Settings) -> StatsSource:
    """The production source of `server`: one SSH/SFTP connection with strict host-key checking."""
    from bot.ingest.ssh_source import SshParams, SshSource  # asyncssh only when a server is contacted

    passphrase = server.private_key_passphrase
    return SshSource(
        SshParams(
            server=server.name,
            host=server.host,
            port=server.port,
            username=server.username,
            private_key=server.private_key,
            passphrase=None if passphrase is None else passphrase.get_secret_value(),
            known_hosts=server.known_hosts,
            remote_dir=server.remote_dir,
            recursive=server.recursive,
            exec_listing=server.exec_listing,
            connect_timeout=server.connect_timeout_seconds,
            op_timeout=server.operation_timeout_seconds,
            keepalive_interval=server.keepalive_interval_seconds,
            keepalive_count_max=server.keepalive_count_max,
            max_file_bytes=settings.ingest.max_file_bytes,
        )
    )


def continuity(settings: Settings, *, accept_data_loss: bool = False) -> Continuity:
    """The never-forget check for a command that writes (bot/db/continuity.py)."""
    return Continuity(
        backup_dir=settings.backup_dir,
        local_stats=settings.paths.local_stats,
        accept_data_loss=accept_data_loss,
        data_dir=settings.paths.data_dir,  # PostgreSQL: this instance's record of the database is kept here
    )


def import_settings(settings: Settings) -> ImportSettings:
    """The importer's knobs from [ingest], in seconds."""
    ing = settings.ingest
    return ImportSettings(
        session_gap=ing.session_gap_minutes * 60,
        pairing_window=ing.pairing_window_minutes * 60,
        max_attempts=ing.max_attempts,
        retry_base_seconds=ing.retry_base_seconds,
        retry_max_seconds=ing.retry_max_seconds,
    )
