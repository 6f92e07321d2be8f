"""Where is every stats file? Server, local_stats/, registry and imported rounds compared, with advice.

Exit 0: all four locations agree (harmless differences allowed); 1: something needs attention; 2: bad
input or configuration. Same report as `statsbot diagnose`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python tools/diagnose_file_sync.py`: make `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.commands.ops import cmd_diagnose
from tools._common import parser, run


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--server", help="only this server")
    p.add_argument("--json", action="store_true", help="JSON output (every file listed)")
    p.add_argument("--no-remote", action="store_true", help="do not contact the servers")
    return run(p, cmd_diagnose, argv)


if __name__ == "__main__":
    sys.exit(main())
