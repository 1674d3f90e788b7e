"""Assemble README.md from docs/*.md (run after changing any of them).

    python scripts/build_readme.py          # rewrite README.md
    python scripts/build_readme.py --check  # exit 1 if README.md is out of date

The README starts with docs/readme_head.md (the two commands), then the screenshots,
then each part in reading order. Each part's headings are shifted so that its first
heading is a level-2 heading; headings inside code fences are left alone.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PARTS = [
    "overview",
    "screenshots",
    "app",
    "batch",
    "providers",
    "rotation",
    "audit",
    "backup",
    "sync",
    "performance",
    "reliability",
    "testing",
]
_HEADING = re.compile(r"^(#{1,6})(\s)")


def shift_headings(text: str) -> str:
    """Make the first heading of ``text`` level 2 and shift the others alike."""
    lines = text.splitlines()
    fence = False
    first = None
    for line in lines:
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and (m := _HEADING.match(line)):
            first = len(m.group(1))
            break
    if first is None:
        return text
    delta = 2 - first
    out, fence = [], False
    for line in lines:
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and (m := _HEADING.match(line)):
            level = min(6, max(2, len(m.group(1)) + delta))
            line = "#" * level + line[len(m.group(1)) :]
        out.append(line)
    return "\n".join(out)


def build() -> str:
    """The README text."""
    chunks = [(DOCS / "readme_head.md").read_text().rstrip()]
    toc = []
    for part in PARTS:
        path = DOCS / f"{part}.md"
        if not path.exists():
            continue
        body = shift_headings(path.read_text().strip())
        chunks.append(body)
        fence = False
        for line in body.splitlines():
            if line.lstrip().startswith("```"):
                fence = not fence
            elif not fence and line.startswith("## "):
                title = line[3:].strip()
                anchor = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
                toc.append(f"- [{title}](#{anchor})")
    chunks.insert(1, "## Contents\n\n" + "\n".join(toc))
    return "\n\n".join(chunks) + "\n"


def main(argv: list[str]) -> int:
    text = build()
    readme = ROOT / "README.md"
    if "--check" in argv:
        if readme.read_text() != text:
            print("README.md is out of date: run python scripts/build_readme.py")
            return 1
        return 0
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
