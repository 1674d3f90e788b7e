"""The child side of :func:`core.audit.verify.verify_isolated`.

Reads one JSON line ``{"path": ..., "key": hex or null}`` from stdin (the key never
travels in argv), writes ``{"progress": [done, total]}`` lines while it works and one
``{"report": {...}}`` line at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.audit.files import LogFiles
from core.audit.verify import verify_files


def main() -> int:
    """``python -m core.audit.verify_child``: read {"path", "key"} from stdin, print progress
    lines and a final {"report": ...} on stdout."""
    import sys
    from dataclasses import asdict as _asdict

    request = json.loads(sys.stdin.readline())
    key = bytes.fromhex(request["key"]) if request.get("key") else None
    files = LogFiles(Path(request["path"]))

    def progress(done: int, total: int) -> None:
        sys.stdout.write(json.dumps({"progress": [done, total]}) + "\n")
        sys.stdout.flush()

    report = verify_files(files, key, progress=progress)
    doc = report.to_dict()
    doc["cursor"] = _asdict(report.cursor) if report.cursor else None
    sys.stdout.write(json.dumps({"report": doc}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
