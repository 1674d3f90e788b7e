"""``run``: what a child can and cannot see. The vault's key never reaches it, and every
form of an injected value (dict fields, JSON-escaped, URL-encoded, split across stdout
and stderr) is masked in its output; short values follow the whole-token rule."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.childenv import KEY_MATERIAL_ENV
from tests.batch.conftest import run_vaultui
from tests.conftest import clean_env
from vaultui.batch.masking import HOLD_SECONDS, MASK, Masker, needles_for

MASTER = "master-key-Zq81-DO-NOT-SHOW"
TOKEN = "tok-9f8e7d6c5b4a-RUNVALUE"
TRICKY = 'q"uo\\te\nünï-Tricky-Value'
DB = {"host": "db.internal.example", "password": "pw-Dict-Field-Value", "port": 5432}
M = MASK.decode()


def _child(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(body))
    return script


@pytest.fixture
def keyed(cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A passphrase-file vault with a token, a tricky value and a dict; the environment
    of a vaultui process that also holds a master key and names a key file and an agent
    socket (the passphrase file wins, the rest are just there to leak)."""
    passphrase = home.parent / "passphrase.txt"
    passphrase.write_text("a long enough passphrase for the test vault\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(passphrase))
    value_file = home.parent / "value.txt"
    value_file.write_bytes(TRICKY.encode("utf-8"))
    assert cli("--batch", "set", "api/token", stdin=TOKEN.encode()).code == 0
    assert cli("--batch", "set", "tricky", "--file", str(value_file)).code == 0
    assert cli("--batch", "set", "db", "--type", "dict", stdin=json.dumps(DB).encode()).code == 0
    return clean_env(
        home,
        VAULTUI_PASSPHRASE_FILE=str(passphrase),
        FEDZK_ENCRYPTION_MASTER_KEY=MASTER,
        VAULTUI_KEY_FILE=str(home / "elsewhere.key"),
        VAULTUI_AGENT_SOCKET=str(home / "agent-elsewhere.sock"),
    )


def test_child_gets_no_key_material_and_the_master_key_is_masked(keyed, home, tmp_path):
    report = tmp_path / "env.json"
    script = _child(
        tmp_path,
        """
        import json, os, sys
        json.dump(dict(os.environ), open(sys.argv[1], "w"))
        # a child of the same user can read its parent's initial environment
        parent = open(f"/proc/{os.getppid()}/environ", "rb").read().split(b"\\0")
        key = [e.split(b"=", 1)[1] for e in parent
               if e.startswith(b"FEDZK_ENCRYPTION_MASTER_KEY=")][0].decode()
        print("from my parent:", key, flush=True)
        print("again:", key, file=sys.stderr, flush=True)
        """,
    )
    r = run_vaultui(
        home, "--batch", "run", "--env", "T=api/token", "--",
        sys.executable, str(script), str(report), env=keyed,
    )  # fmt: skip
    assert r.code == 0, r.err
    seen = json.loads(report.read_text())
    assert seen["T"] == TOKEN
    assert not set(KEY_MATERIAL_ENV) & set(seen)
    assert MASTER not in json.dumps(seen) and "passphrase.txt" not in json.dumps(seen)
    assert MASTER not in r.out and MASTER not in r.err
    assert f"from my parent: {M}" in r.out and f"again: {M}" in r.err


CHILD_FORMS = """
    import json, os, sys, urllib.parse
    db = json.loads(os.environ["DB"])
    tricky = os.environ["TRICKY"]
    print("field:", db["password"], "host:", db["host"])
    print("url: postgres://app:" + urllib.parse.quote(db["password"]) + "@" + db["host"]
          + ":" + str(db["port"]) + "/app")
    print("ports:", 15432, 54321, "x" + str(db["port"]), str(db["port"]) + ".")
    print("json:", json.dumps(tricky), json.dumps(tricky, ensure_ascii=False))
    print("quoted:", urllib.parse.quote(tricky, safe=""))
    print(json.dumps({"config": db}))
"""


def test_every_form_of_an_injected_dict_and_value_is_masked(keyed, home, tmp_path):
    script = _child(tmp_path, CHILD_FORMS)
    r = run_vaultui(
        home, "--batch", "run", "--env", "DB=db", "--env", "TRICKY=tricky", "--",
        sys.executable, str(script), env=keyed,
    )  # fmt: skip
    assert r.code == 0, r.err
    out = r.out
    for text in (DB["password"], DB["host"], "pw-Dict", "ünï", "Tricky-Value", "Tricky"):
        assert text not in out, text
    assert f"field: {M} host: {M}" in out
    assert f"url: postgres://app:{M}@{M}:{M}/app" in out
    # the 4-character port is masked only as a whole token
    assert f"ports: 15432 54321 x5432 {M}." in out
    assert out.count(M) >= 10


def test_a_value_split_across_stdout_and_stderr_is_masked(keyed, home, tmp_path):
    script = _child(
        tmp_path,
        """
        import os, sys, time
        t = os.environ["T"]
        sys.stdout.write("start " + t[:9]); sys.stdout.flush()
        time.sleep(0.05)
        sys.stderr.write(t[9:] + " end\\n"); sys.stderr.flush()
        time.sleep(0.05)
        sys.stderr.write("err " + t[:5]); sys.stderr.flush()
        sys.stdout.write(t[5:] + " out\\n"); sys.stdout.flush()
        """,
    )
    r = run_vaultui(
        home, "--batch", "run", "--env", "T=api/token", "--",
        sys.executable, str(script), env=keyed,
    )  # fmt: skip
    assert r.code == 0, r.err
    both = r.out + r.err
    assert TOKEN[:9] not in both and TOKEN[9:] not in both and TOKEN[5:] not in both
    assert r.out.startswith(f"start {M}") and " end" in r.err
    assert f"err {M}" in r.err and " out" in r.out


def test_too_short_values_are_reported_not_masked(cli, home, tmp_path):
    assert cli("--batch", "set", "pin", stdin=b"731").code == 0
    script = _child(tmp_path, "import os; print('pin', os.environ['PIN'])")
    r = run_vaultui(home, "--batch", "run", "--env", "PIN=pin", "--", sys.executable, str(script))
    assert r.code == 0 and "pin 731" in r.out
    assert "shorter than 4 characters are not masked" in r.err


def feed_all(masker: Masker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(c) for c in chunks) + masker.flush()


@pytest.mark.parametrize("size", [1, 2, 3, 64])
def test_short_values_are_masked_only_as_whole_tokens(size):
    text = b"port=5432 15432 54321 5432a (5432) 5432"
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    out = feed_all(Masker([b"5432"]), chunks)
    assert out == b"port=" + MASK + b" 15432 54321 5432a (" + MASK + b") " + MASK


def test_needles_cover_dict_fields_numbers_and_encodings():
    needles, short = needles_for([{"a": "x y/z\u00e9-long", "n": 123456, "b": True, "s": "ab"}])
    assert short == 1  # "ab"
    assert b"x y/z\xc3\xa9-long" in needles and b"123456" in needles
    assert b"x y/z\\u00e9-long" in needles  # JSON, ASCII-escaped
    assert b"x%20y%2Fz%C3%A9-long" in needles and b"x+y%2Fz%C3%A9-long" in needles
    assert b"True" not in needles and b"true" not in needles


def test_idle_writes_a_held_start_but_still_masks_the_rest():
    m = Masker([b"secret-value-123"])
    assert m.feed(b"Password: secret-") == b"Password: "
    assert m.idle() == b"secret-"  # the child went quiet: a prompt is not stuck
    assert m.feed(b"value-123 done\n") == MASK + b" done\n"
    assert m.feed(b"secret-") == b""
    assert m.idle() == b"secret-" and m.feed(b"other\n") == b"other\n"
    assert HOLD_SECONDS <= 0.5


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from([b"tok-9f8e7d6c5b4a", b"5432", b"15432", b"tok-", b" ", b"x", b"\n"]),
        max_size=30,
    ),
    cuts=st.lists(st.integers(min_value=1, max_value=7), max_size=40),
)
def test_chunking_never_changes_what_is_masked(parts, cuts):
    needles = [b"tok-9f8e7d6c5b4a", b"5432"]
    text = b"".join(parts)
    whole = feed_all(Masker(needles), [text])
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(text[pos : pos + cut])
        pos += cut
    chunks.append(text[pos:])
    assert feed_all(Masker(needles), chunks) == whole
    assert b"tok-9f8e7d6c5b4a" not in whole
