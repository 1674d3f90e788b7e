"""Where a ``--batch`` command's operations run, and how the vault gets unlocked.

A :class:`Session` runs :mod:`core.service.ops` operations either inside the unlock agent
(when one serves this vault file and provider) or in this process on a
:class:`~core.secrets_manager.SecretsManager`; both give the same results.

Where operations run, first match wins (docs/batch.md, "Unlocking"):

1. a running unlock agent for this vault runs them (it never hands out its key;
   commands that need a whole manager in this process skip it, except the forms with
   an ``agent_handler``, see :func:`vaultui.batch.commands.run_handler`);
2. the configured key: VAULTUI_PASSPHRASE_FILE, FEDZK_ENCRYPTION_MASTER_KEY,
   VAULTUI_KEY_FILE, or the home's ``vault.key``;
3. with a terminal (and not ``--no-prompt``) and a vault that has a passphrase slot,
   a passphrase prompt (three tries).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.agent import client as agent
from core.config import Settings
from core.errors import (
    KeyMissingError,
    NotFoundError,
    VaultError,
    WrongKeyError,
)

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from core.service.types import KeySource

PROMPT_TRIES = 3
HELLO_TIMEOUT = 5.0
"""Seconds to wait for the agent's hello (a hung agent must not stall a command)."""


def has_terminal() -> bool:
    """True if this process can talk to a terminal (``/dev/tty`` opens)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def prompt_secret(prompt: str) -> str:
    """Read a line from the terminal without echo."""
    import getpass

    return getpass.getpass(prompt)


def vault_slot_kinds(path: Path) -> set[str] | None:
    """The kinds of key slots in the vault file (no key needed), or None if the file
    cannot be read that way."""
    from core.errors import VaultError
    from core.service.types import Vault

    try:
        return set(Vault.slot_kinds(path))
    except VaultError:
        return None


class Session:
    """Runs secret operations (:mod:`core.service.ops`) for one command."""

    kind = "local"

    def call(self, op: str, progress: Any = None, **args: Any) -> Any:
        """Run ``op`` with ``args``; raises the core error it raises."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the vault (local) or nothing (agent)."""


class LocalSession(Session):
    """Operations on a SecretsManager in this process."""

    kind = "local"

    def __init__(self, manager: SecretsManager) -> None:
        self.manager = manager

    def call(self, op: str, progress: Any = None, **args: Any) -> Any:
        from core.service.registry import dispatch

        return dispatch(self.manager, op, args, progress)

    def close(self) -> None:
        self.manager.close()


class AgentSession(Session):
    """Operations run by the unlock agent over the command's one connection to it; falls
    back to ``fallback()`` if the agent turns out not to serve this vault."""

    kind = "agent"

    def __init__(self, conn: agent.AgentClient, paths: agent.FastPaths, fallback: Any) -> None:
        self.conn = conn
        self.paths = paths
        self._fallback = fallback
        self._local: Session | None = None

    def call(self, op: str, progress: Any = None, **args: Any) -> Any:
        if self._local is not None:
            return self._local.call(op, progress, **args)
        try:
            return self.conn.call(
                op, args, vault=self.paths.vault, provider=self.paths.provider, on_progress=progress
            )
        except agent.AgentMismatch:
            pass
        except agent.AgentUnavailable as exc:
            # the request was sent: do not run it a second time locally
            raise VaultError(
                f"{exc}; `{op}` may or may not have been applied",
                hint="check with `vaultui --batch status` and try again",
            ) from None
        self._local = self._fallback()
        self.kind = "local"
        return self._local.call(op, progress, **args)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()


@dataclass
class Context:
    """Everything a built-in command needs: parsed arguments, settings, and lazily an
    unlocked session or manager. The one place a command talks to the unlock agent: over
    one connection, opened on first use, for the hello and every operation."""

    args: argparse.Namespace
    settings: Settings
    preread_stdin: Any = None
    _sessions: list[Session] = field(default_factory=list)
    _managers: list[Any] = field(default_factory=list)
    _agent: Any = None  # None: not tried yet; False: no agent to talk to
    _hello: dict[str, Any] | None = None

    @property
    def json(self) -> bool:
        """True with ``--json``."""
        return bool(getattr(self.args, "json", False))

    @property
    def can_prompt(self) -> bool:
        """True if a passphrase may be asked for on the terminal."""
        return not getattr(self.args, "no_prompt", False) and has_terminal()

    def paths(self) -> agent.FastPaths:
        """The vault, socket and provider for agent requests."""
        s = self.settings
        return agent.FastPaths(
            str(Path(s.vault_path).absolute()),
            str(Path(s.agent_socket_path).absolute()),
            s.provider,
        )

    # ------------------------------------------------------------------ agent

    def agent_hello(self) -> dict[str, Any] | None:
        """The running agent's description, or None (none, stale, foreign); asked once
        per command, on the connection its operations then use."""
        if self._agent is None:
            self._agent = False
            try:
                conn = agent.AgentClient.connect(self.paths().socket, timeout=HELLO_TIMEOUT)
            except agent.protocol.PeerRejected as exc:
                from vaultui.batch.output import note

                note(f"vaultui: ignoring the unlock agent socket: {exc}")
                return None
            if conn is None:
                return None
            try:
                self._hello = conn.hello()
            except (agent.AgentUnavailable, agent.AgentMismatch):
                conn.close()
                return None
            conn.set_timeout(agent.DEFAULT_TIMEOUT)  # operations may take long
            self._agent = conn
        return self._hello

    def agent_serves_us(self, hello: dict[str, Any] | None) -> bool:
        """True if ``hello`` is from an agent for this vault file and provider."""
        if not hello:
            return False
        same_vault = os.path.realpath(str(hello.get("vault", ""))) == os.path.realpath(
            self.paths().vault
        )
        return same_vault and hello.get("provider") == self.settings.provider

    # ------------------------------------------------------------------ unlocking

    def session(self, *, create: bool = False) -> Session:
        """A session for this vault: the agent's when it serves us, else local."""
        if self.agent_serves_us(self.agent_hello()):
            s: Session = AgentSession(
                self._agent, self.paths(), lambda: self._local_session(create)
            )
        else:
            s = self._local_session(create)
        self._sessions.append(s)
        return s

    def _local_session(self, create: bool) -> Session:
        return LocalSession(self.manager(create=create, track=False))

    def manager(self, *, create: bool = False, track: bool = True) -> SecretsManager:
        """An unlocked SecretsManager in this process (source 'batch').

        Opens the vault with the configured key or a passphrase prompt: a running unlock
        agent performs operations (:meth:`session`) but never hands out its key. When
        no key is available and an agent for this vault expired, the error says so.
        ``create`` allows making a new vault (with the configured or an auto-generated
        key) when none exists; otherwise a missing vault is NotFoundError.
        """
        from core.secrets_manager import SecretsManager
        from core.unlock import vault_exists

        settings = self.settings
        if not vault_exists(settings) and not create:
            raise NotFoundError(
                f"No vault at {settings.vault_path}",
                hint="store a secret with `vaultui --batch set NAME` or run `vaultui`",
            )
        fresh = not vault_exists(settings) and not settings.default_key_file.exists()
        try:
            mgr = SecretsManager(settings, source="batch")
        except KeyMissingError as exc:
            kinds = vault_slot_kinds(settings.vault_path)
            if not self.can_prompt or (kinds is not None and "passphrase" not in kinds):
                raise self._explain_missing_key(exc) from None
            return self._track(self._prompt_unlock(), track)
        if fresh and mgr.vault.key_source.auto_generated:
            note_new_key_file(settings.vault_path, settings.default_key_file)
        return self._track(mgr, track)

    def _explain_missing_key(self, exc: KeyMissingError) -> KeyMissingError:
        """``exc``, or a clearer error when an unlock agent explains the missing key
        (it expired, or it runs but this command needs the key in its own process)."""
        from core.agent.expiry import describe_span, expired_note

        paths = self.paths()
        hello = self.agent_hello()
        if self.agent_serves_us(hello):
            return KeyMissingError(
                "This command opens the vault itself, and the unlock agent never hands out its key",
                hint="set VAULTUI_PASSPHRASE_FILE (or VAULTUI_KEY_FILE), or run it in a "
                "terminal to be asked for the passphrase",
            )
        note = None if hello else expired_note(paths.socket, paths.vault)
        if note is not None:
            return KeyMissingError(
                f"The unlock agent expired after {describe_span(note['ttl'])}",
                hint="run `vaultui --batch unlock`",
            )
        return exc

    def manager_if_available(self) -> SecretsManager | None:
        """An unlocked manager if a key is at hand (a configured key, or a passphrase
        typed at the terminal), else None, without recording a failed unlock for a key
        that was never offered. A wrong configured key still raises. A running unlock
        agent never hands out its key: such commands ask it for operations instead."""
        from core.unlock import configured_key_source, vault_exists

        settings = self.settings
        if not vault_exists(settings):
            return None
        if configured_key_source(settings) is not None:
            return self.manager()
        kinds = vault_slot_kinds(settings.vault_path)
        if not self.can_prompt or (kinds is not None and "passphrase" not in kinds):
            return None
        try:
            return self._track(self._prompt_unlock(), True)
        except KeyMissingError:
            return None  # an empty passphrase: go on without the key

    def _prompt_unlock(self) -> SecretsManager:
        from core.secrets_manager import SecretsManager
        from core.service.types import KeySource
        from vaultui.batch.output import note

        for attempt in range(1, PROMPT_TRIES + 1):
            passphrase = prompt_secret(f"Passphrase for {self.settings.vault_path}: ")
            if not passphrase:
                raise KeyMissingError("No passphrase given")
            try:
                return SecretsManager(
                    self.settings, key_source=KeySource.passphrase(passphrase), source="batch"
                )
            except WrongKeyError:
                if attempt < PROMPT_TRIES:
                    note(f"Wrong passphrase ({attempt} of {PROMPT_TRIES} attempts); try again.")
        # the last answer must not read like an invitation to type once more
        raise WrongKeyError(
            f"Wrong passphrase ({PROMPT_TRIES} of {PROMPT_TRIES} attempts); giving up"
        )

    def current_key_source(self) -> KeySource:
        """The key that opens the vault without the agent: configured, or prompted."""
        from core.service.types import KeySource
        from core.unlock import configured_key_source

        ks = configured_key_source(self.settings)
        if ks is not None:
            return ks
        if not self.can_prompt:
            raise KeyMissingError()
        passphrase = prompt_secret(f"Current passphrase for {self.settings.vault_path}: ")
        if not passphrase:
            raise KeyMissingError("No passphrase given")
        return KeySource.passphrase(passphrase)

    def _track(self, manager: SecretsManager, track: bool) -> SecretsManager:
        from vaultui.batch.output import note

        copies = manager.copies_absorbed
        for name, where, changed in copies.merged if copies else ():
            note(
                f"vaultui: merged the conflict copy {name} "
                f"({changed} secret{'' if changed == 1 else 's'} changed here); "
                f"moved it to {where}"
            )
        for name, why in copies.refused if copies else ():
            note(f"vaultui: left the conflict copy {name} alone: {why}")
        if track:
            self._managers.append(manager)
        return manager

    def close(self) -> None:
        """Close every session and manager this context opened."""
        for s in self._sessions:
            with contextlib.suppress(Exception):
                s.close()
        for m in self._managers:
            with contextlib.suppress(Exception):
                m.close()
        self._sessions.clear()
        self._managers.clear()
        if self._agent:
            self._agent.close()
        self._agent = None

    # ------------------------------------------------------------------ input

    def value_from_stdin(self, kind: str) -> Any:
        """The secret value on stdin (or already read by the fast path)."""
        from vaultui.batch.fast import read_value, stdin_bytes

        if self.preread_stdin is not None:
            return self.preread_stdin
        return read_value(stdin_bytes(), kind, source="stdin")


def note_new_key_file(vault_path: Path, key_path: Path) -> None:
    """Say on stderr that a new vault got a generated key file: without that file the
    vault cannot be opened, and a copy beside a synced vault would give the key away."""
    from vaultui.batch.output import note

    note(
        f"vaultui: created a new vault at {vault_path}, locked by a new random key file "
        f"{key_path} (no passphrase). Back that key file up somewhere safe: without it the "
        "vault cannot be opened. Never sync or commit it with the vault; add a passphrase "
        "with `vaultui --batch passwd`."
    )
