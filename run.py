"""Mirox account security: `python run.py` serves; `python run.py --help` lists the commands."""

import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main())
