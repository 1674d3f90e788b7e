"""Files holding secrets are created exclusively: a file or symlink another user plants
at the target (before the command, or in the window while it derives the key) never
receives a secret, and ``--force`` replaces the name instead of writing into the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.private_file import private_file, write_private

SECRET = "s3cr3t-value-for-export"
PLANTED = b"planted by someone else\n"


def plant(path: Path) -> int:
    """Create ``path`` world-writable as another user would, and keep it open."""
    path.write_bytes(PLANTED)
    os.chmod(path, 0o666)  # noqa: S103 - the point: a file anyone could have opened
    return os.open(path, os.O_RDONLY)


def read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 1 << 16)


@pytest.fixture
def stored(cli) -> None:
    assert cli("--batch", "set", "db/password", stdin=SECRET.encode()).code == 0


def test_a_file_planted_while_export_works_gets_nothing(cli, stored, tmp_path, monkeypatch):
    """The target appears after the 'exists' check, while the secrets are read."""
    import vaultui.batch.commands.transfer as transfer

    target = tmp_path / "shared" / "out.env"
    target.parent.mkdir()
    fds: list[int] = []
    real_render = transfer.render

    def render_after_someone_plants(entries, fmt):
        fds.append(plant(target))
        return real_render(entries, fmt)

    monkeypatch.setattr(transfer, "render", render_after_someone_plants)
    r = cli("--batch", "export", "-o", str(target))
    assert r.code == 2 and "already exists" in r.err and "--force" in r.err
    assert read_fd(fds[0]) == PLANTED and target.read_bytes() == PLANTED
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.env"]  # no temp left
    os.close(fds[0])


def test_force_replaces_a_planted_file_instead_of_writing_into_it(cli, stored, tmp_path):
    target = tmp_path / "out.env"
    fd = plant(target)
    r = cli("--batch", "export", "-o", str(target), "--force")
    assert r.code == 0, r.err
    assert read_fd(fd) == PLANTED  # the planter's open file never saw the secret
    os.close(fd)
    assert SECRET in target.read_text()
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_planted_symlink_is_never_followed(cli, stored, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(PLANTED)
    target = tmp_path / "out.env"
    target.symlink_to(elsewhere)
    r = cli("--batch", "export", "-o", str(target))
    assert r.code == 2 and "already exists" in r.err
    r = cli("--batch", "export", "-o", str(target), "--force")
    assert r.code == 0, r.err
    assert elsewhere.read_bytes() == PLANTED
    assert not target.is_symlink() and SECRET in target.read_text()


def test_audit_report_output_replaces_a_planted_file(cli, stored, tmp_path):
    target = tmp_path / "report.md"
    fd = plant(target)
    r = cli("--batch", "audit", "report", "-o", str(target))
    assert r.code == 0, r.err
    assert read_fd(fd) == PLANTED
    os.close(fd)
    assert "db/password" in target.read_text()
    assert target.stat().st_mode & 0o777 == 0o600


def test_private_file_leaves_nothing_behind_on_error(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), private_file(target) as out:
        out.write(b"half")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    write_private(target, b"whole")
    with pytest.raises(ValidationError, match="already exists"):
        write_private(target, b"again")
    assert target.read_bytes() == b"whole"


def test_a_new_vault_is_never_created_in_a_planted_file(tmp_path):
    """A restore --to (or any new vault) at a path where someone left an empty file or
    a symlink is refused instead of filling their file."""
    from core.vault import KeySource, Vault

    key = KeySource.from_key_file(_key_file(tmp_path))
    link = tmp_path / "restored.db"
    link.symlink_to(tmp_path / "theirs.db")
    (tmp_path / "theirs.db").write_bytes(b"")
    with pytest.raises(ValidationError, match="not your own regular file"):
        Vault.create(link, key)
    assert (tmp_path / "theirs.db").read_bytes() == b""
    if os.geteuid() == 0:  # a file of another user (only root can make one here)
        os.chown(tmp_path / "theirs.db", 65534, 65534)
        with pytest.raises(ValidationError, match="not your own regular file"):
            Vault.create(tmp_path / "theirs.db", key)
    mine = tmp_path / "mine.db"
    mine.write_bytes(b"")
    Vault.create(mine, key).close()
    assert mine.stat().st_size > 0 and mine.stat().st_mode & 0o777 == 0o600


def _key_file(folder: Path) -> Path:
    path = folder / "test.key"
    path.write_bytes(os.urandom(32))
    return path
