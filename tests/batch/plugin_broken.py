"""A plugin whose add_parser fails (used by test_plugins.py)."""


def add_parser(subparsers) -> None:
    raise RuntimeError("broken on purpose")
