"""``export --format dotenv`` is safe to source: every real shell (sh, bash, dash),
python-dotenv and vaultui's own import read back exactly the stored value, and nothing
in a value ever runs. A value no quoting can carry is refused, naming the secret."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ValidationError
from core.importexport import parse_file
from core.importexport.dotenv import refusal, render
from core.importexport.names import env_var
from tests.batch.conftest import run_vaultui

SHELLS = [s for s in ("sh", "bash", "dash") if shutil.which(s)]
CHARS = [*"'\"$`\\\n\r\t {}()!#=;&|*?~%@-_", "${", "$(", "\\\\", "'\\''", "é", "日", "\x00"]


def source_in(shell: str, env_file: Path, names: list[str]) -> list[str]:
    """The variables' values after ``set -a; . FILE`` in ``shell`` (NUL-separated)."""
    script = 'set -a; . "$1" || exit 9; shift; for v; do eval "printf \'%s\\0\' \\"\\$$v\\""; done'
    proc = subprocess.run(
        [shell, "-c", script, shell, str(env_file), *names],
        capture_output=True,
        cwd=env_file.parent,
        timeout=20,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    )
    assert proc.returncode == 0, (shell, proc.stderr)
    return proc.stdout.decode("utf-8").split("\0")[:-1]


def check_round_trip(tmp: Path, values: list[str]) -> None:
    """Export ``values`` as .env and read them back with every reader."""
    entries = [{"name": f"app/v{i}", "value": v} for i, v in enumerate(values)]
    env_file = tmp / ".env"
    env_file.write_text(render(entries), encoding="utf-8")
    names = [env_var(e["name"]) for e in entries]
    for shell in SHELLS:
        assert source_in(shell, env_file, names) == values, shell
    assert list(dotenv_values(env_file).values()) == values
    assert [e["value"] for e in parse_file(env_file, "dotenv")] == values
    assert not (tmp / "PWNED").exists()


def test_the_shells_are_real() -> None:
    assert {"sh", "bash", "dash"} <= set(SHELLS), "install dash (scripts/test.sh does)"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(
        st.lists(st.one_of(st.sampled_from(CHARS), st.characters(exclude_categories=("Cs",))))
        .map("".join)
        .filter(bool),
        min_size=1,
        max_size=6,
    )
)
def test_any_value_reads_back_exactly_or_is_refused_by_name(tmp_path: Path, values) -> None:
    accepted = [v for v in values if refusal(v) is None]
    for v in values:
        if v not in accepted:
            with pytest.raises(ValidationError) as info:
                render([{"name": "app/odd", "value": v}])
            # the message is fixed text about the value's shape: never the value itself
            shape = f"Secret 'app/odd' cannot be exported as .env: its value {refusal(v)}"
            assert str(info.value).startswith(shape)
    if accepted:
        check_round_trip(tmp_path, accepted)


@pytest.mark.parametrize(
    "value",
    [
        "$(touch PWNED)",
        "`touch PWNED`",
        'a"b$(touch PWNED)c',
        'it\'s\na "multi" \\ line\n\n',
        "back\\slash \\' \\\\ double",
        "tab\tand é 日本 and trailing newline\n",
        "$HOME $1 $$ $ {x}",
        "%s %n \\x41 \\0",
    ],
)
def test_values_that_used_to_break_read_back_exactly(tmp_path: Path, value: str) -> None:
    assert refusal(value) is None
    check_round_trip(tmp_path, [value])


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("a\x00b", "NUL"),
        ("a\rb", "carriage return"),
        ("ends with\\", "backslash"),
        ("${HOME}", "${"),
        ("it's $(touch PWNED)", "mixes a quote"),
        ("it's `touch PWNED`", "mixes a quote"),
        ("a\\\\b $x", "double backslash"),
    ],
)
def test_values_no_quoting_carries_are_refused(value: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        render([{"name": "app/token", "value": value}])
    text = str(info.value)
    assert "'app/token'" in text and why in text and "--format json" in text
    assert value not in text


@pytest.mark.parametrize("name", ["path", "ifs", "bash_env", "ld_preload", "ld_audit"])
def test_a_name_that_would_set_a_shell_control_variable_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=f"Secret '{name}' would set"):
        render([{"name": name, "value": "/tmp/evil"}])


def test_export_of_a_hostile_value_never_runs_it(home: Path, tmp_path: Path) -> None:
    """The command line end to end: the value that ran code is refused by name (exit 2),
    one without a quote is exported and sourced with its ``$(...)`` left as text."""
    work = tmp_path / "work"
    work.mkdir()
    hostile = "it's $(touch PWNED)"
    assert run_vaultui(home, "--batch", "set", "app/token", stdin=hostile.encode()).code == 0
    r = run_vaultui(home, "--batch", "export", "--format", "dotenv")
    assert r.code == 2 and "app/token" in r.err and hostile not in r.err + r.out
    assert r.out == ""

    inert = "$(touch PWNED)`touch PWNED`"
    assert run_vaultui(home, "--batch", "set", "app/token", stdin=inert.encode()).code == 0
    env_file = work / ".env"
    r = run_vaultui(home, "--batch", "export", "--format", "dotenv", "-o", str(env_file))
    assert r.code == 0, r.err
    for shell in SHELLS:
        assert source_in(shell, env_file, ["APP_TOKEN"]) == [inert]
    assert not (work / "PWNED").exists()


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(alphabet="abcXYZ019_.-/", min_size=1, max_size=40).filter(
        lambda n: all(s not in ("", ".", "..") for s in n.split("/"))
    )
)
def test_every_secret_name_becomes_a_shell_identifier_or_is_refused(name: str) -> None:
    try:
        var = env_var(name)
    except ValidationError as exc:
        assert "no usable environment variable name" in str(exc)
        return
    assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", var)
