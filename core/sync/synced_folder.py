"""Is a per-machine file (the key file, ``device.id``) inside a folder something syncs?

The vault file may travel through git or a file-sync service; the key file must not
(whoever reads the synced copy would hold both). :func:`key_file_warnings` recognises a
git work tree (unless git ignores the file), a Syncthing folder (unless ``.stignore``
names it), and Dropbox, Nextcloud/ownCloud and OneDrive folders by their markers.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git_tracks(path: Path) -> bool | None:
    """True if ``path`` is in a git work tree and not ignored; None if not in one."""
    try:
        inside = subprocess.run(
            ["git", "-C", str(path.parent), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        ignored = subprocess.run(
            ["git", "-C", str(path.parent), "check-ignore", "-q", path.name],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ignored.returncode != 0


def _stignore_names(folder: Path, name: str) -> bool:
    try:
        lines = (folder / ".stignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    wanted = {name, f"/{name}", f"**/{name}"}
    return any(line.strip() in wanted for line in lines.splitlines())


def synced_by(path: Path) -> str | None:
    """The service that would carry ``path`` to other machines, or None.

    Checked from ``path``'s folder up to the root: Syncthing (``.stfolder``), Dropbox
    (``.dropbox``), Nextcloud/ownCloud (``.sync_*.db``, ``.owncloudsync.log``), OneDrive (a
    folder named ``OneDrive`` or ``OneDrive - ...``), and a git work tree where the file is
    not ignored.
    """
    path = path.absolute()
    for folder in [path.parent, *path.parent.parents]:
        if (folder / ".stfolder").exists():
            return None if _stignore_names(folder, path.name) else "a Syncthing folder"
        if (folder / ".dropbox").exists():
            return "a Dropbox folder"
        if (folder / ".owncloudsync.log").exists() or any(folder.glob(".sync_*.db")):
            return "a Nextcloud/ownCloud folder"
        if folder.name == "OneDrive" or folder.name.startswith("OneDrive - "):
            return "a OneDrive folder"
    if _git_tracks(path):
        return "a git work tree (and git does not ignore it)"
    return None


def key_file_warnings(key_file: Path | None) -> list[str]:
    """Warnings for ``status``: the key file sits where something syncs it."""
    if key_file is None or not key_file.exists():
        return []
    where = synced_by(key_file)
    if where is None:
        return []
    return [
        f"the key file {key_file} is inside {where}: it would travel with the vault; "
        "move it out (VAULTUI_KEY_FILE) or exclude it from syncing (see the sync docs)"
    ]
