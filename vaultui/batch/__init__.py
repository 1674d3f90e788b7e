"""The headless mode, ``vaultui --batch COMMAND``: parser, unlocking, commands.

- :mod:`vaultui.batch.fast`: ``get``/``set`` through a running agent with built-ins only;
- :mod:`vaultui.batch.runner`: the full command line (argparse, plugins, errors);
- :mod:`vaultui.batch.context`: sessions (agent or local) and unlocking;
- :mod:`vaultui.batch.commands`: the built-in commands;
- :mod:`vaultui.batch.scanner`: finding stored values in files (``scan``).
"""
