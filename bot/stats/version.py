"""The parser's version: stored with every round, so rounds made before a parser fix can be found again.

Policy: bump PARSER_VERSION by one in the same commit as any change that alters what is stored for some
input file — a value, a flag, a derived field (duration, outcome), pairing or the round-2 differential —
and say in the commit message which files are affected. A refactor or speed-up whose output is identical
does not bump it (the ground-truth and property tests show that). After a bump, `statsbot diagnose`
counts the stale rounds and `statsbot reprocess --stale` re-derives them from their stored raw content.

History:
  1  the parser as of migration 0005 (rounds imported before versioning was added count as version 1)
"""

from __future__ import annotations

from typing import Final

PARSER_VERSION: Final = 1
