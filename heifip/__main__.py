"""``python -m heifip``: the ``fip`` command line (heifip/cli.py, docs/cli.md)."""

import sys

from heifip.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m heifip"))
