"""Import stats files that were never processed and (optionally) re-download missing local copies.

Nothing already imported is imported again. Exit 0 on success, 1 if a server was unreachable or a file
failed, 2 for bad input or configuration. Same as `statsbot sync`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python tools/sync_stats.py`: make `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.commands.common import ACCEPT_DATA_LOSS_HELP, parse_date
from bot.commands.ops import cmd_sync
from tools._common import parser, run


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--server", help="only this server")
    p.add_argument("--since", type=parse_date, help="only files named on or after this date (YYYY-MM-DD)")
    p.add_argument("--restore-local", action="store_true", help="bring back missing local copies (no import)")
    p.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
    p.add_argument("--no-posts", action="store_true", help="import without posting the rounds to the channel")
    p.add_argument("--accept-data-loss", action="store_true", help=ACCEPT_DATA_LOSS_HELP)
    return run(p, cmd_sync, argv)


if __name__ == "__main__":
    sys.exit(main())
