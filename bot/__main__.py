"""`python -m bot`: the same entry point as the `statsbot` console script."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
