"""Re-exports imported on first use, so a service module that re-exports a subsystem's
public calls and types costs nothing to import until a front end uses one."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(owner: str, names: dict[str, tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``owner`` serving ``names`` (public name -> (module,
    attribute)); an unknown name raises AttributeError as a plain module would."""

    def __getattr__(name: str) -> Any:
        try:
            module, attr = names[name]
        except KeyError:
            raise AttributeError(f"module {owner!r} has no attribute {name!r}") from None
        return getattr(import_module(module), attr)

    return __getattr__
