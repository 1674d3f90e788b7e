"""Rotation hooks for PostgreSQL's alternating-users strategy (the docs' example).

    python pg_hooks.py apply    set the new password on the (now inactive) role
    python pg_hooks.py verify   log in with the new credentials and run SELECT 1
    python pg_hooks.py noop     do nothing (a broken apply, for the failure test)

The secret (stdin, JSON ``new``) is a dict: host, port, dbname, username,
alternate_username, password. The apply hook logs in as the administrator with the
password in ``PG_ADMIN_PASSWORD`` (the hook's own environment, not the secret).
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    import psycopg
    from psycopg import sql

    step = sys.argv[1]
    payload = json.load(sys.stdin)
    new = payload["new"]
    if step == "noop":
        return 0
    try:
        if step == "apply":
            with psycopg.connect(
                host=new["host"],
                port=new["port"],
                dbname=new["dbname"],
                user="postgres",
                password=os.environ["PG_ADMIN_PASSWORD"],
                connect_timeout=5,
                autocommit=True,
            ) as conn:
                conn.execute(
                    sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                        sql.Identifier(new["username"]), sql.Literal(new["password"])
                    )
                )
        elif step == "verify":
            with psycopg.connect(
                host=new["host"],
                port=new["port"],
                dbname=new["dbname"],
                user=new["username"],
                password=new["password"],
                connect_timeout=5,
            ) as conn:
                conn.execute("SELECT 1").fetchone()
        else:
            print(f"unknown step {step}", file=sys.stderr)
            return 2
    except psycopg.Error as exc:
        print(f"{step} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
