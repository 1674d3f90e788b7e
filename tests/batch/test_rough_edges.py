"""What a new user meets first: command groups without a subcommand, a mistyped
provider name, the last wrong passphrase."""

from __future__ import annotations

import pytest

from core.errors import EXIT_USAGE, EXIT_WRONG_KEY

SECRET = "Plainly-Visible-Secret-77"


@pytest.mark.parametrize(
    ("group", "a_subcommand"),
    [("rotation", "status"), ("audit", "verify"), ("backup", "create")],
)
def test_a_command_group_alone_shows_its_help(cli, group, a_subcommand):
    r = cli("--batch", group)
    assert r.code == EXIT_USAGE
    assert r.out == ""
    assert f"usage: vaultui {group}" in r.err
    assert a_subcommand in r.err
    assert f"{group} needs a subcommand" in r.err
    # argparse's internal variable names (rotation_command, SUBCOMMAND) are not the help
    assert "_command" not in r.err and "arguments are required" not in r.err


def test_an_unknown_provider_names_where_it_came_from(cli, monkeypatch):
    assert cli("--batch", "set", "a", stdin=SECRET.encode()).code == 0
    r = cli("--batch", "--provider", "nosuch", "list")
    assert r.code == EXIT_USAGE
    assert "Unknown provider 'nosuch' (from --provider); choose one of: " in r.err
    assert "aws_secrets_manager" in r.err and "FEDZK_SECRETS_PROVIDER" not in r.err

    monkeypatch.setenv("FEDZK_SECRETS_PROVIDER", "alsonot")
    r = cli("--batch", "list")
    assert r.code == EXIT_USAGE
    assert "Unknown provider 'alsonot' (from FEDZK_SECRETS_PROVIDER)" in r.err


def test_the_last_wrong_passphrase_gives_up_instead_of_inviting_another(cli, monkeypatch):
    monkeypatch.setenv("FEDZK_ENCRYPTION_MASTER_KEY", "typed-passphrase")
    assert cli("--batch", "set", "a", stdin=SECRET.encode()).code == 0
    monkeypatch.delenv("FEDZK_ENCRYPTION_MASTER_KEY")
    typed = iter(["x1", "x2", "x3"])
    monkeypatch.setattr("vaultui.batch.context.has_terminal", lambda: True)
    monkeypatch.setattr("vaultui.batch.context.prompt_secret", lambda _p: next(typed))
    r = cli("--batch", "get", "a")
    assert r.code == EXIT_WRONG_KEY
    lines = r.err.strip().splitlines()
    assert lines == [
        "Wrong passphrase (1 of 3 attempts); try again.",
        "Wrong passphrase (2 of 3 attempts); try again.",
        "vaultui: Wrong passphrase (3 of 3 attempts); giving up",
    ]


def test_a_rotation_hook_in_the_shell_form_runs_in_a_shell(cli, tmp_path):
    assert cli("--batch", "set", "db", stdin=SECRET.encode()).code == 0
    r = cli("--batch", "policy", "db", "DAILY", "--apply", 'test "$VAULTUI_SECRET_NAME" = db')
    assert r.code == 0 and "hooks run without a shell" in r.err and "sh:COMMAND" in r.err

    marker = tmp_path / "ran"
    hook = f'sh:echo "rotating $VAULTUI_SECRET_NAME" | tee {marker}; exit 1'
    assert cli("--batch", "policy", "db", "--apply", hook).code == 0
    r = cli("--batch", "rotate", "db")
    assert r.code == 1
    assert "apply hook exited with status 1: rotating db" in r.err
    assert marker.read_text() == "rotating db\n"
    assert SECRET not in r.err + r.out
    r = cli("--batch", "get", "db")
    assert r.out.strip() == SECRET  # the failed hook rolled the rotation back


def test_a_vault_made_by_import_says_where_its_new_key_file_is_and_status_agrees(
    cli, home, tmp_path
):
    import json

    source = tmp_path / "app.env"
    source.write_text("API_TOKEN=abc123\nDB_PASS=xyz789\n")
    r = cli("--batch", "import", str(source))
    assert r.code == 0
    key_file = home / "vault.key"
    assert key_file.exists()
    assert f"new random key file {key_file}" in r.err
    assert "Back that key file up" in r.err and "Never sync or commit it" in r.err

    r = cli("--batch", "--json", "status")
    status = json.loads(r.out)
    assert status["key_auto_generated"] is True
    assert status["key_source"] == f"auto-generated key file {key_file}"

    # said once, when the file was made
    assert "key file" not in cli("--batch", "import", str(source)).err


def test_counts_of_one_are_singular(cli):
    assert cli("--batch", "set", "only", stdin=SECRET.encode()).code == 0
    r = cli("--batch", "providers")
    assert "(1 secret)" in r.out and "1 secrets" not in r.out
    r = cli("--batch", "audit", "list", "--secret", "only")
    assert "(1 event;" in r.out, r.out
