"""The app and the CLI reach the library through ``core.service`` only.

``vaultui`` may import ``core.service`` and the plain helpers listed in ALLOWED; it never
imports the storage, the audit writer, or the backup, rotation and sync internals (every
import is checked, at the top of a module and inside functions), and never writes an
audit line itself. A new forbidden import fails here; the few that remain are listed in
EXCEPTIONS, each with the reason, and that list only shrinks.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ALLOWED = (
    "core.service",  # the one API: secrets, named operations, types, sync, rotation, ...
    "core.secrets_manager",  # the facade: the manager object the service calls take
    "core.errors",
    "core.config",
    "core.text",
    "core.tags",  # parsing `key=value` tag words
    "core.version_diff",  # comparing two values (pure; the service reads them)
    "core.controlchars",
    "core.clock",
    "core.input_limits",
    "core.private_file",
    "core.childenv",
    "core.unlock",  # finding the configured key and opening the vault file
    "core.importexport",  # file formats (parse and render; the service stores)
    "core.providers.registry",  # which providers exist and can run here
    "core.agent.client",  # the batch CLI's transport to the unlock agent
    "core.agent.launch",
    "core.agent.expiry",
)

EXCEPTIONS: dict[str, set[str]] = {}
"""Forbidden imports still in place, each with a comment saying why: module path ->
imported modules. Empty: every front-end need is served by core.service."""


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every ``import``/``from ... import`` in the file."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names)
    return found


def _files() -> list[Path]:
    return sorted((ROOT / "vaultui").rglob("*.py"))


def _allowed(module: str) -> bool:
    return any(module == ok or module.startswith(ok + ".") for ok in ALLOWED)


def test_vaultui_imports_core_only_through_the_service() -> None:
    bad = []
    for path in _files():
        rel = str(path.relative_to(ROOT))
        for line, module, names in _imports(path):
            if not module.startswith("core"):
                continue
            # ``from core.agent import client`` imports the module core.agent.client
            if _allowed(module) or (names and all(_allowed(f"{module}.{n}") for n in names)):
                continue
            if module in EXCEPTIONS.get(rel, set()):
                continue
            bad.append(f"{rel}:{line} imports {module}")
    assert bad == [], "reach these through core.service:\n" + "\n".join(bad)


def test_every_name_taken_from_the_service_exists() -> None:
    """Re-exports are resolved on first use: a misspelt one would fail only at run time."""
    missing = []
    for path in _files():
        for line, module, names in _imports(path):
            if module.startswith("core.service"):
                target = importlib.import_module(module)
                missing += [
                    f"{path.name}:{line} {module}.{n}" for n in names if not _exists(target, n)
                ]
    assert missing == []


def _exists(module: object, name: str) -> bool:
    if hasattr(module, name):
        return True
    try:  # a submodule (``from core.service import secrets``)
        importlib.import_module(f"{module.__name__}.{name}")  # type: ignore[attr-defined]
    except ImportError:
        return False
    return True


def test_vaultui_never_writes_an_audit_line() -> None:
    """No ``<anything>.audit_log.log(...)`` / ``.audit.log(...)`` call in vaultui: the
    service writes the one event of each operation."""
    calls = []
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("log", "log_many")
            ):
                owner = node.func.value
                name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if "audit" in name:
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == [], calls


def test_the_exceptions_are_still_needed() -> None:
    """An exception that is no longer used is removed from the list (it only shrinks)."""
    for rel, modules in EXCEPTIONS.items():
        imported = {m for _l, m, _n in _imports(ROOT / rel)}
        assert modules <= imported, f"{rel}: drop {modules - imported} from EXCEPTIONS"
