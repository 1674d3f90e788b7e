"""``providers``: every secrets provider, whether it can run here, and its health."""

from __future__ import annotations

import argparse
from typing import Any

from core.errors import EXIT_OK, EXIT_PROVIDER
from vaultui.batch import output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``providers``."""
    p = sub.add_parser(
        "providers",
        parents=[common],
        help="list providers, which can run here, and their health "
        "(exit 6 if the chosen one is down)",
    )
    p.add_argument(
        "--no-probe", action="store_true", help="do not contact providers (no health check)"
    )
    p.set_defaults(command_fn=cmd_providers)


def provider_rows(settings: Any, probe: bool) -> list[dict[str, Any]]:
    """``core.providers.registry.provider_info`` or, if the registry is missing, the
    known names with that reason."""
    try:
        from core.providers.registry import provider_info
    except ImportError as exc:
        from core.config import PROVIDER_NAMES

        reason = f"provider registry unavailable ({type(exc).__name__})"
        return [
            {"name": n, "active": n == settings.provider, "viable": n == "local", "reason": reason}
            for n in PROVIDER_NAMES
        ]
    return provider_info(settings, probe=probe)


def cmd_providers(ctx: Context) -> int:
    """Print the table (or JSON); exit 6 if the selected provider is not viable/healthy."""
    rows = provider_rows(ctx.settings, probe=not ctx.args.no_probe)
    if ctx.json:
        output.emit(rows)
    else:
        table = []
        for r in rows:
            if "ok" in r:
                health = ("ok" if r["ok"] else "DOWN") + (
                    f" {r['latency_ms']:.0f} ms" if r.get("latency_ms") is not None else ""
                )
            else:
                health = "-"
            detail = r.get("detail") or r.get("reason") or ""
            table.append(
                [
                    ("* " if r.get("active") else "  ") + r["name"],
                    "yes" if r.get("viable") else "no",
                    health,
                    str(detail),
                ]
            )
        output.table(table, ["  PROVIDER", "VIABLE", "HEALTH", "DETAIL"])
    active = next((r for r in rows if r.get("active")), None)
    if active is None or not active.get("viable") or active.get("ok") is False:
        return EXIT_PROVIDER
    return EXIT_OK
