"""Panes built by other parts of vaultui (audit, rotation, backups, sync, trash, members),
opened lazily.

The app offers a key and a command for each pane whose module is installed; the module
is imported only when the pane is opened. The screen is built from the facade's parts
the pane names (``AuditScreen(manager.audit_log)``, ``RotationScreen(manager.
rotation_manager)``, ``BackupsScreen(manager.backup_manager)``) or, for a pane without
``parts``, from whatever its constructor asks for among ``manager``, ``vault``,
``audit_log``/``audit``, ``settings``, ``rotation_manager`` and ``backup_manager``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pane:
    """A pane: the key that opens it, where its screen class lives, and its words."""

    id: str
    key: str
    module: str
    class_name: str
    title: str
    help: str
    parts: tuple[str, ...] | None = None
    """Facade attributes passed positionally (None: match constructor parameter names)."""

    @property
    def available(self) -> bool:
        """True if the pane's module is installed (checked without importing it)."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False


PANES = (
    Pane(
        "audit",
        "a",
        "vaultui.screens.audit",
        "AuditScreen",
        "Audit",
        "Audit trail: filter, search, failures, verify the chain",
        ("audit_log",),
    ),
    Pane(
        "rotation",
        "o",
        "vaultui.screens.rotation",
        "RotationScreen",
        "Rotation",
        "Rotation schedule: due, running, failures; rotate now",
        ("rotation_manager",),
    ),
    Pane(
        "backups",
        "b",
        "vaultui.screens.backups",
        "BackupsScreen",
        "Backups",
        "Backups: create, verify, restore, clean up",
        ("backup_manager",),
    ),
    Pane(
        "sync",
        "y",
        "vaultui.screens.sync",
        "SyncScreen",
        "Sync",
        "Sync with the provider and merge conflict copies",
    ),
    Pane(
        "trash",
        "D",
        "vaultui.screens.trash",
        "TrashScreen",
        "Trash",
        "Deleted secrets: undelete (u) or purge for good (p)",
    ),
    Pane(
        "members",
        "M",
        "vaultui.screens.members",
        "MembersScreen",
        "Members",
        "Team members: add by public key (a), remove and rekey (x)",
    ),
)

_PARAM_SOURCES = {
    "manager": lambda m: m,
    "secrets_manager": lambda m: m,
    "vault": lambda m: m.vault,
    "audit_log": lambda m: m.audit_log,
    "audit": lambda m: m.audit_log,
    "settings": lambda m: m.settings,
    "rotation_manager": lambda m: m.rotation_manager,
    "rotation": lambda m: m.rotation_manager,
    "backup_manager": lambda m: m.backup_manager,
    "backups": lambda m: m.backup_manager,
}


def pane_by_id(pane_id: str) -> Pane:
    """The pane called ``pane_id`` (KeyError if unknown)."""
    for pane in PANES:
        if pane.id == pane_id:
            return pane
    raise KeyError(pane_id)


def build_pane(pane: Pane, manager: Any) -> Any:
    """Import the pane's module and build its screen from the parts it asks for."""
    from vaultui.session import DeferredManager

    if isinstance(manager, DeferredManager):
        manager = manager.ready()  # panes get the real facade
    module = importlib.import_module(pane.module)
    cls = getattr(module, pane.class_name)
    if pane.parts is not None:
        return cls(*(getattr(manager, part) for part in pane.parts))
    kwargs: dict[str, Any] = {}
    params = list(inspect.signature(cls).parameters.values())
    positional_done = False
    args: list[Any] = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        source = _PARAM_SOURCES.get(p.name)
        if source is None:
            if p.default is p.empty and not args and not positional_done:
                # an unknown first required parameter: hand it the facade
                args.append(manager)
                positional_done = True
                continue
            if p.default is p.empty:
                raise TypeError(f"{pane.class_name} needs {p.name!r}, which the app cannot supply")
            continue
        if p.kind == p.POSITIONAL_ONLY:
            args.append(source(manager))
        else:
            kwargs[p.name] = source(manager)
        positional_done = True
    return cls(*args, **kwargs)
