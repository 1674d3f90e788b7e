"""The arrow points one way: core imports no Textual, no vaultui, and no provider SDK
until a provider is used (as harlequin's test_import_hygiene does)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("textual", "vaultui", "hvac", "boto3", "botocore", "azure", "google")


def _core_modules() -> list[str]:
    import core

    return sorted(
        m.name for m in pkgutil.walk_packages(core.__path__, "core.") if "providers." not in m.name
    )


@pytest.mark.parametrize("module", _core_modules())
def test_core_module_imports_nothing_heavy(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"{module} pulled in {out.stdout.strip()}"


def test_no_core_file_imports_vaultui() -> None:
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text()
        assert "import vaultui" not in text and "from vaultui" not in text, path
