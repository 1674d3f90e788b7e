"""No production module over 600 lines, and the vault's parts import each other one
way only (no cycle, nothing private across modules)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 600


def _lines() -> dict[str, int]:
    out = {}
    for package in ("core", "vaultui"):
        for path in (ROOT / package).rglob("*.py"):
            with path.open(encoding="utf-8") as f:
                out[path.relative_to(ROOT).as_posix()] = sum(1 for _ in f)
    return out


def test_no_production_module_is_over_the_limit() -> None:
    over = {name: n for name, n in _lines().items() if n > LIMIT}
    assert not over, f"modules over {LIMIT} lines (split them by what they hold): {over}"


def _runtime_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every ``core.vault`` import in ``path`` outside an
    ``if TYPE_CHECKING:`` block, at any depth (imports inside functions count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core.vault"):
            out.append((node.module or "", [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("core.vault")]
    return out


def test_the_vault_modules_import_each_other_without_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "core" / "vault").glob("*.py"):
        if path.name == "__init__.py":
            continue
        me = f"core.vault.{path.stem}"
        deps = set()
        for module, names in _runtime_imports(path):
            if module == "core.vault":  # `from core.vault import bulk`
                deps.update(f"core.vault.{n}" for n in names)
            else:
                deps.add(module)
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{me} imports private names {private} from {module}"
        graph[me] = deps & {f"core.vault.{p.stem}" for p in path.parent.glob("*.py")}

    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if module in trail:
            pytest.fail("import cycle: " + " -> ".join((*trail, module)))
        if module in done:
            return
        for dep in sorted(graph.get(module, ())):
            visit(dep, (*trail, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
    for low_level in ("core.vault.bulk", "core.vault.sync_access", "core.vault.engine"):
        assert "core.vault.store" not in graph[low_level], f"{low_level} imports store"
