"""Key and agent commands: unlock, lock, status (passwd and rekey: rekey.py)."""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime
from typing import Any

from core.errors import ValidationError
from vaultui.batch import output
from vaultui.batch.context import Context

MIN_PASSPHRASE = 8
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> float:
    """Seconds in ``15m``, ``90s``, ``1h30m``, ``2d`` or a plain number of seconds."""
    raw = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    while pos < len(raw):
        m = _DURATION.match(raw, pos)
        if not m or m.end() == pos:
            raise ValidationError(f"Bad duration {text!r}: use e.g. 15m, 90s, 1h30m")
        total += float(m.group(1)) * _UNIT[m.group(2).lower()]
        pos = m.end()
    if total <= 0:
        raise ValidationError("The time to live must be more than zero")
    return total


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the key and agent commands."""
    p = sub.add_parser(
        "unlock", parents=[common], help="start the unlock agent so later commands need no key"
    )
    p.add_argument("--ttl", default="15m", help="forget the key after this long (default 15m)")
    p.set_defaults(command_fn=cmd_unlock)

    p = sub.add_parser("lock", parents=[common], help="stop the unlock agent (it forgets the key)")
    p.set_defaults(command_fn=cmd_lock)

    p = sub.add_parser("status", parents=[common], help="vault, key, agent and provider status")
    p.set_defaults(command_fn=cmd_status)


def _until(epoch: float) -> str:
    left = max(0, int(epoch - time.time()))
    h, rest = divmod(left, 3600)
    m, s = divmod(rest, 60)
    span = f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
    return f"{span} (at {datetime.fromtimestamp(epoch).strftime('%H:%M:%S')})"


def cmd_unlock(ctx: Context) -> int:
    """Open the vault with the configured key or a prompt, then start the agent."""
    from core.agent.launch import check_ttl, start_agent

    ttl = parse_ttl(ctx.args.ttl)
    check_ttl(ctx.settings, ttl)  # before any passphrase is asked for
    manager = ctx.manager(track=False)
    try:
        key = manager.vault.data_key_for_agent()
    finally:
        manager.close()
    info = start_agent(ctx.settings, key, ttl)
    if ctx.json:
        output.emit(info)
    else:
        output.note(
            f"Unlock agent running (pid {info['pid']}); it forgets the key in "
            f"{_until(info['expires_at'])}. `vaultui --batch lock` stops it."
        )
    return 0


def cmd_lock(ctx: Context) -> int:
    """Stop the agent (or remove its stale socket)."""
    from core.agent.launch import stop_agent

    result = stop_agent(ctx.settings)
    if ctx.json:
        output.emit({"result": result})
    else:
        output.note(
            {
                "stopped": "Unlock agent stopped; it forgot the key.",
                "stale": "No agent was running (removed a stale socket).",
                "none": "No agent was running.",
            }[result]
        )
    return 0


def cmd_status(ctx: Context) -> int:
    """Vault, key, agent and provider status. Never prompts; a locked vault is reported,
    not an error."""
    from core.unlock import configured_key_source, vault_exists

    s = ctx.settings
    hello = ctx.agent_hello()
    info: dict[str, Any] = {
        "home": str(s.home),
        "vault_path": str(s.vault_path),
        "vault_exists": vault_exists(s),
        "provider": s.provider,
        "agent": None,
        "unlocked": False,
    }
    if hello:
        info["agent"] = {
            "pid": hello.get("pid"),
            "socket": hello.get("socket"),
            "vault": hello.get("vault"),
            "expires_at": datetime.fromtimestamp(float(hello.get("expires_at", 0)))
            .astimezone()
            .isoformat(timespec="seconds"),
            "serves_this_vault": ctx.agent_serves_us(hello),
        }
    if info["vault_exists"] and (ctx.agent_serves_us(hello) or configured_key_source(s)):
        info.update(ctx.session().call("status"))
        info["unlocked"] = True
    from core.service.sync import key_file_warnings

    info["warnings"] = key_file_warnings(s.key_file or s.default_key_file)
    if ctx.json:
        output.emit(info)
        return 0
    rows = [[k, _show(v)] for k, v in info.items() if k not in ("agent", "warnings")]
    if hello:
        rows.append(
            [
                "agent",
                f"pid {hello.get('pid')}, forgets the key in {_until(float(hello['expires_at']))}",
            ]
        )
    else:
        rows.append(["agent", "not running"])
    rows += [["WARNING", w] for w in info["warnings"]]
    output.table(rows, None)
    return 0


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
