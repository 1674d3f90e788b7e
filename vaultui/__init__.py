"""vaultui: the Textual app and the ``--batch`` CLI on top of :mod:`core`.

Importing this package imports nothing heavy: ``--batch`` must start fast, so Textual
is imported only by :mod:`vaultui.app` and the screens.
"""

__version__ = "0.1.0"
