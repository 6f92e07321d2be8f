"""Bring the processed-files registry back in line with the imported data (dry run unless --apply).

Rounds without a correct registry row are recorded as imported (nothing is imported again); rows that say
imported but whose round is gone are forgotten, so `tools/sync_stats.py` can import those files again;
imported files deleted on the server by someone else than retention are recorded as deleted on purpose.
Exit 0 when consistent or repaired, 1 when changes are needed (dry run, like `statsbot registry check`) or
on failure, 2 for bad input or configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python tools/reconcile_registry.py`: make `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.commands.ops import cmd_registry
from tools._common import parser, run


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--server", help="only this server")
    p.add_argument("--apply", action="store_true", help="make the changes (default: only list them)")
    p.add_argument("--no-remote", action="store_true", help="do not list the servers")
    return run(p, cmd_registry, argv, registry_command="repair")


if __name__ == "__main__":
    sys.exit(main())
