"""The agent's wire format and operation table: plain data only, strict arguments."""

from __future__ import annotations

import marshal

import pytest

from core.agent import ops, protocol
from core.errors import ValidationError


def test_frames_round_trip_typed_values():
    value = {"s": "text", "b": b"\x00\xff", "d": {"n": [1, 2.5, None, True]}, "t": ("a", 1)}
    frame = protocol.encode(value)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert protocol.decode(frame[4:]) == value


def test_decode_refuses_anything_but_plain_data():
    code = marshal.dumps(compile("print('hi')", "x", "exec"))
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(code)
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(marshal.dumps({"ok": frozenset({1})}))
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(b"\x00garbage")


def test_dispatch_checks_names_and_arguments(manager):
    with pytest.raises(ValidationError, match="Unknown operation"):
        ops.dispatch(manager, "drop_everything", {})
    with pytest.raises(ValidationError, match="Bad arguments"):
        ops.dispatch(manager, "get", {"name": "x", "unexpected": 1})
    with pytest.raises(ValidationError, match="Bad arguments"):
        ops.dispatch(manager, "get", {})
    ops.dispatch(manager, "put", {"name": "x", "value": "abc-value"})
    assert ops.dispatch(manager, "get", {"name": "x"})["value"] == "abc-value"
