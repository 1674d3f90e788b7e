"""A database client in its own process: read the secret's CURRENT value from the vault
file and connect with it, over and over, until told to stop.

Usage: python pg_client.py VAULT KEYFILE SECRET_NAME STOP_FILE
Prints one JSON line: attempts, failures (with value-free reasons), users seen.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> int:
    import psycopg

    from core.vault import KeySource, Vault

    vault_path, key_file, name, stop_file = sys.argv[1:5]
    vault = Vault.open(Path(vault_path), KeySource.from_key_file(Path(key_file)))
    stop = Path(stop_file)
    attempts, failures, users = 0, [], set()
    while not stop.exists():
        creds = vault.get(name).value
        attempts += 1
        try:
            with psycopg.connect(
                host=creds["host"],
                port=creds["port"],
                dbname=creds["dbname"],
                user=creds["username"],
                password=creds["password"],
                connect_timeout=5,
            ) as conn:
                conn.execute("SELECT 1").fetchone()
            users.add(creds["username"])
        except psycopg.Error as exc:
            failures.append(f"{creds['username']}: {type(exc).__name__}")
        time.sleep(0.002)
    vault.close()
    print(json.dumps({"attempts": attempts, "failures": failures, "users": sorted(users)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
