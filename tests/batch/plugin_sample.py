"""A plugin command module as other areas write them (used by test_plugins.py)."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="a sample plugin command")
    p.add_argument("name")
    p.add_argument("--code", type=int, default=0)
    p.set_defaults(handler=run)
    q = subparsers.add_parser("sample-novault", help="needs no vault")
    q.set_defaults(handler=run_novault, needs_vault=False)


def run(args: argparse.Namespace, manager) -> int:
    value = manager.retrieve_secret(args.name)
    if args.json:
        print(json.dumps({"length": len(value), "source": manager.source}))
    else:
        print(f"length {len(value)}")
    return args.code


def run_novault(args: argparse.Namespace, manager) -> int:
    print(f"manager is {manager}")
    return 0
