"""`statsbot session show`: the CLI twin of the session post (text and the README's JSON)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from tests.helpers.engines import NewStore

EVENING = [  # 2025-11-01 23:11 → 00:06: slomix vs ripaZha, a broken fullhold then a double fullhold
    "2025-11-01-231128-etl_sp_delivery-round-1.txt",
    "2025-11-01-231748-etl_sp_delivery-round-2.txt",
    "2025-11-01-235515-etl_adlernest-round-1.txt",
    "2025-11-02-000624-etl_adlernest-round-2.txt",
]
EARLIER = ["2025-10-14-232828-etl_ice-round-1.txt", "2025-10-14-233150-etl_ice-round-2.txt"]


@pytest.fixture
def config(tmp_path: Path, samples_dir: Path, new_store: NewStore) -> Path:
    """Imported through the CLI into a SQLite file, or into PostgreSQL (`[database] url`)."""
    folder = tmp_path / "files"
    folder.mkdir()
    for name in EARLIER + EVENING:
        shutil.copy(samples_dir / name, folder / name)
    path = tmp_path / "statsbot.toml"
    store = new_store()
    database = f'[database]\nurl = "{store}"\n' if isinstance(store, str) else ""
    path.write_text(
        f'{database}[paths]\ndata_dir = "{tmp_path / "data"}"\nlocal_stats = "{tmp_path / "ls"}"\n'
    )
    assert main(["--config", str(path), "import", "--no-posts", "--server", "main", str(folder)]) == EXIT_OK
    return path


def test_session_show_json_latest(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--config", str(config), "session", "show", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert (data["server"], data["rounds"], data["started_at"]) == ("main", 4, "2025-11-01T23:11:28")
    teams = {t["name"]: t for t in data["teams"]}
    assert {n: t["maps_won"] for n, t in teams.items()} == {"ripaZha": 1, "slomix": 0}
    assert data["draws"] == 1
    assert [(m["map"], m["result"]) for m in data["maps"]] == [
        ("etl_sp_delivery", "win"),
        ("etl_adlernest", "draw"),
    ]
    first = data["maps"][0]
    assert first["winner"] == teams["ripaZha"]["team"]
    assert first["attacked_first"] == teams["slomix"]["team"]
    assert (first["r1_held"], first["r1_time_s"], first["r2_time_s"]) == (True, 720, 331)
    assert data["mvp"]["name"] in {p["name"] for p in data["players"]}
    assert 4 <= len(data["awards"]) <= 6
    assert set(data) >= {"chart", "players", "closed", "notes", "ended_at", "session_id"}


def test_session_show_text_by_id_and_server(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--config", str(config), "session", "show", "1", "--server", "main"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "Team endekk 1 – 0 Team olz" in text  # 2025-10-14 23:28: the first etl_ice
    assert "etl_ice — Team endekk beat Team olz" in text


def test_session_show_unknown(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "session", "show", "99"]) == EXIT_FAILURE
    assert main(["--config", str(config), "session", "show", "--server", "nowhere"]) == EXIT_FAILURE
    assert main(["--config", str(config), "session", "show", "1", "--last"]) == EXIT_USAGE
