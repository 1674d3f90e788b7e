"""``python -m vaultui``: the same as the ``vaultui`` console script."""

import sys

from vaultui.cli import main

if __name__ == "__main__":
    sys.exit(main())
