"""The fast path of ``vaultui --batch get`` and ``set`` while an unlock agent runs.

A whole ``vaultui --batch get`` must cost about what ``pass show`` does (~25 ms), and a
bare Python start is ~12 ms of that, so this module imports only interpreter built-ins
and :mod:`core.agent.client`: no argparse, json, pathlib, logging or crypto. It
understands the common forms of ``get`` and ``set`` (see :func:`parse`); for anything
else, or when no agent serves this vault and provider, it returns None and the full CLI
(:mod:`vaultui.batch.runner`) runs instead. Both paths print through the functions
below, so their output is identical; a test checks that :func:`parse` agrees with the
argparse parser.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

GLOBAL_FLAGS = ("--batch", "--json", "--no-prompt")
VALUE_TYPES = ("str", "bytes", "dict")
_GET_OPTS = {"--field": "field", "--version": "version", "--stage": "stage"}
_SET_OPTS = {
    "--description": "description",
    "--tag": "tag",
    "--expected-version": "expected_version",
    "--type": "type",
    "--generate": "generate",
}
REFERENCE = "vaultui://"


def split_reference(text: str) -> tuple[str, str | None] | None:
    """``vaultui://NAME`` -> (NAME, None), ``vaultui://NAME#FIELD`` -> (NAME, FIELD);
    None if ``text`` is not such a reference."""
    if not text.startswith(REFERENCE):
        return None
    name, sep, field = text[len(REFERENCE) :].partition("#")
    if not name or (sep and not field):
        return None
    return name, (field if sep else None)


def parse(argv: Sequence[str]) -> dict[str, Any] | None:
    """The request in ``argv`` if it is a plain ``get``/``set``, else None.

    Returns ``{"command", "name", "json", "provider", ...}`` with the same option values
    argparse would give (``tag`` as a list of ``k=v`` strings, ints as ints).
    """
    out: dict[str, Any] = {"json": False, "provider": None}
    i, n = 0, len(argv)
    batch = False
    while i < n and argv[i].startswith("-"):
        arg = argv[i]
        if arg == "--batch":
            batch = True
        elif arg == "--json":
            out["json"] = True
        elif arg == "--no-prompt":
            pass
        elif arg == "--provider" and i + 1 < n:
            i += 1
            out["provider"] = argv[i]
        elif arg.startswith("--provider="):
            out["provider"] = arg[len("--provider=") :]
        else:
            return None
        i += 1
    if not batch or i + 1 >= n or argv[i] not in ("get", "set", "read", "otp"):
        return None
    command, name = argv[i], argv[i + 1]
    if not name or name.startswith("-"):
        return None
    out["command"] = command
    if command == "read":
        if split_reference(name) is None:
            return None
        out["reference"] = name
    else:
        out["name"] = name
    opts = _SET_OPTS if command == "set" else _GET_OPTS if command == "get" else {}
    if command in ("get", "read"):
        out["no_newline"] = False
    if command == "get":
        out.update(field=None, version=None, stage=None)
    elif command == "set":
        out.update(
            description=None, tag=[], expected_version=None, type="str", generate=None, file=None
        )
    i += 2
    while i < n:
        arg = argv[i]
        if arg == "--json":
            out["json"] = True
        elif command in ("get", "read") and arg in ("-n", "--no-newline"):
            out["no_newline"] = True
        else:
            key, sep, value = arg.partition("=")
            if key not in opts:
                return None
            if not sep:
                if i + 1 >= n:
                    return None
                i += 1
                value = argv[i]
            dest = opts[key]
            if dest in ("version", "expected_version"):
                try:
                    out[dest] = int(value)
                except ValueError:
                    return None
            elif dest == "tag":
                out["tag"].append(value)
            elif dest == "type":
                if value not in VALUE_TYPES:
                    return None
                out["type"] = value
            else:
                out[dest] = value
        i += 1
    return out


def try_fast(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """Run a plain ``get``/``set``/``read``/``otp`` through a running agent; None to
    use the full CLI.

    ``set`` reads stdin before connecting (no idle connection while a pipe is slow);
    if no agent serves this vault the full CLI gets the value already read.
    """
    req = parse(argv)
    if req is None:
        return None
    from core.agent import client as agent
    from core.errors import VaultError

    paths = agent.fast_paths(environ, req["provider"])
    if paths is None:
        return None
    is_set = req["command"] == "set"
    try:
        if is_set:
            if req["generate"] is None and sys.stdin is not None and sys.stdin.isatty():
                return None  # interactive entry: the full CLI prompts
            args = set_args(req)
            if req["generate"] is None:
                args["value"] = read_value(stdin_bytes(), req["type"], source="stdin")
        elif req["command"] == "read":
            name, field = split_reference(req["reference"])  # type: ignore[misc]  # parse() accepted only a reference
            args = {"name": name} if field is None else {"name": name, "field": field}
        else:
            args = {"name": req["name"]}
            for key in ("field", "version", "stage"):
                if req.get(key) is not None:
                    args[key] = req[key]
        op = "put" if is_set else "otp" if req["command"] == "otp" else "get"
        try:
            conn = agent.AgentClient.connect(paths.socket)
        except agent.protocol.PeerRejected:
            conn = None
        if conn is None:
            return _full(argv, args) if is_set else None
        with conn:
            try:
                result: Any = conn.call(op, args, vault=paths.vault, provider=paths.provider)
            except agent.AgentMismatch:
                return _full(argv, args) if is_set else None
            except agent.AgentUnavailable as exc:
                if not is_set:
                    return None
                error(
                    f"{exc}; the value may or may not have been stored: check with "
                    f"`vaultui --batch history {req['name']}`"
                )
                return 1
        if is_set:
            print_set(result, json_mode=req["json"])
        elif op == "otp":
            print_otp(result, json_mode=req["json"])
        else:
            print_get(result, json_mode=req["json"], newline=not req["no_newline"])
        return 0
    except VaultError as exc:
        error(str(exc))
        return exc.exit_code
    except BrokenPipeError:
        return 1


def _full(argv: Sequence[str], args: Mapping[str, Any]) -> int:
    """The full CLI for a ``set`` whose stdin this module already consumed."""
    from vaultui.batch.runner import run

    return run(list(argv), preread_stdin=args.get("value"))


def set_args(req: Mapping[str, Any]) -> dict[str, Any]:
    """The ``put`` operation's arguments for a parsed ``set`` (value not included)."""
    from core.tags import parse_tags

    args: dict[str, Any] = {"name": req["name"]}
    if req.get("description") is not None:
        args["description"] = req["description"]
    if req.get("expected_version") is not None:
        args["expected_version"] = req["expected_version"]
    if req.get("generate") is not None:
        args["generate"] = req["generate"]
    tags = parse_tags(req.get("tag"))
    if tags:
        args["tags"] = tags
    return args


# ---------------------------------------------------------------------- values in


def stdin_bytes() -> bytes:
    """Everything on stdin, reading at most the value limit (plus a final CR LF) + 1
    byte: ValueTooLargeError for more, without holding it all in memory."""
    from core.input_limits import MAX_VALUE_BYTES, read_bounded

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text-only stand-in (tests): its text is already in memory
        return sys.stdin.read().encode("utf-8")
    return read_bounded(stream, MAX_VALUE_BYTES + 2, "stdin")


def read_value(data: bytes, kind: str, *, source: str) -> Any:
    """A secret value from raw input: ``str`` (one trailing newline dropped when it
    came from stdin), ``bytes`` (as is) or ``dict`` (a JSON object).

    ValidationError (without the value) for empty, non-UTF-8 or non-object input.
    """
    from core.errors import ValidationError

    if kind == "bytes":
        if not data:
            raise ValidationError(f"No value on {source}: nothing was stored")
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(
            f"The value on {source} is not UTF-8 text", hint="use --type bytes"
        ) from None
    if kind == "dict":
        import json

        try:
            value = json.loads(text)
        except ValueError:
            raise ValidationError(f"The value on {source} is not valid JSON") from None
        except RecursionError:
            raise ValidationError(
                f"The value on {source} is nested too deeply",
                hint="a dict value nests at most 64 levels",
            ) from None
        if not isinstance(value, dict):
            raise ValidationError(f"The value on {source} must be a JSON object for --type dict")
        return value
    if source == "stdin":
        if text.endswith("\r\n"):
            text = text[:-2]
        elif text.endswith("\n"):
            text = text[:-1]
    if not text:
        raise ValidationError(f"No value on {source}: nothing was stored")
    return text


# ---------------------------------------------------------------------- output


def write_out(data: bytes) -> None:
    """Write bytes to stdout (through its binary buffer when it has one)."""
    out = sys.stdout
    buf = getattr(out, "buffer", None)
    if buf is None:
        out.write(data.decode("utf-8", "replace"))
        out.flush()
        return
    out.flush()
    buf.write(data)
    buf.flush()


def error(message: str) -> None:
    """Print ``vaultui: message`` to stderr, control characters (from a provider's error
    text, say) shown as visible escapes."""
    if not message.isprintable():
        from core.controlchars import escape_controls

        message = escape_controls(message)
    sys.stderr.write(f"vaultui: {message}\n")
    sys.stderr.flush()


def to_json(obj: Any, *, sort_keys: bool = False, compact: bool = False) -> str:
    """JSON for the terminal or a pipe: pretty (indent 2), or one line with ``compact``
    (JSON lines); bytes as base64 text, other objects (times, paths) as their text."""
    import json

    def default(o: Any) -> Any:
        if isinstance(o, bytes | bytearray):
            import base64

            return base64.b64encode(bytes(o)).decode()
        if isinstance(o, tuple | set):
            return list(o)
        return str(o)

    text = (
        json.dumps(
            obj,
            indent=None if compact else 2,
            ensure_ascii=False,
            sort_keys=sort_keys,
            default=default,
        )
        + "\n"
    )
    # JSON escapes C0 itself; DEL and C1 (a terminal may act on them) are escaped here
    # too, which is the same JSON (they can only occur inside strings)
    import re  # already loaded by json

    return re.sub("[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text)


def print_get(result: Mapping[str, Any], *, json_mode: bool, newline: bool = True) -> None:
    """Print a ``get`` result: the bare value, or JSON with ``--json``.

    Text: a str as is (plus a newline unless ``-n``), bytes raw, anything else as JSON.
    A value read from the local vault in provider mode gets a note on stderr saying so.
    """
    value = result["value"]
    origin = result.get("origin")
    if origin == "local-only":
        error(f"{result['name']}: from the local vault; not on {result.get('provider')}")
    elif origin == "fallback":
        error(
            f"{result['name']}: from the local vault's copy; {result.get('provider')} "
            "did not answer"
        )
    if json_mode:
        doc = {k: v for k, v in result.items() if k != "value"}
        if isinstance(value, bytes | bytearray):
            import base64

            doc["value"] = base64.b64encode(bytes(value)).decode()
            doc["encoding"] = "base64"
        else:
            doc["value"] = value
        write_out(to_json(doc).encode("utf-8"))
        return
    if isinstance(value, bytes | bytearray):
        write_out(bytes(value))
        return
    if isinstance(value, str):
        text = value
    else:
        import json

        text = json.dumps(value, indent=2, ensure_ascii=False)
    write_out((text + ("\n" if newline else "")).encode("utf-8"))


def print_otp(result: Mapping[str, Any], *, json_mode: bool) -> None:
    """Print an ``otp`` result: the code on stdout, the seconds left on stderr."""
    if json_mode:
        write_out(to_json(dict(result)).encode("utf-8"))
        return
    write_out((str(result["code"]) + "\n").encode("ascii"))
    sys.stderr.write(f"valid for {result['remaining']} more second(s)\n")
    sys.stderr.flush()


def print_set(result: Mapping[str, Any], *, json_mode: bool) -> None:
    """Print a ``put`` result: a one-line note on stderr, or JSON on stdout."""
    record = result["record"]
    if json_mode:
        write_out(
            to_json(
                {
                    "name": record["name"],
                    "version": record["version"],
                    "type": record["type"],
                    "created": result["created"],
                }
            ).encode("utf-8")
        )
        return
    verb = "Created" if result["created"] else "Updated"
    sys.stderr.write(f"{verb} {record['name']} (version {record['version']})\n")
    sys.stderr.flush()
