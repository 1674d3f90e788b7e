"""Small parts: strength estimate, generator options, demo data, watcher, masking."""

from __future__ import annotations

import threading

from core.config import Settings
from core.vault import KeySource, Vault
from vaultui.demo import DEMO_SECRETS, create_demo_home, remove_demo_home
from vaultui.strength import AMBIGUOUS, GeneratorOptions, estimate_strength, generate
from vaultui.watch import VaultWatcher
from vaultui.widgets.masked import MaskedValue


def test_strength_estimate_orders_passphrases_sensibly() -> None:
    assert estimate_strength("").score == 0
    assert estimate_strength("password").label == "very weak"
    assert estimate_strength("aaaaaaaaaaaa").score <= 1
    assert estimate_strength("correct horse battery staple").label == "very strong"
    assert estimate_strength("Tr0ub4dor&3").score >= 2


def test_generator_options_respect_classes_length_and_ambiguity() -> None:
    for _ in range(20):
        v = generate(GeneratorOptions(length=40, symbols=False))
        assert len(v) == 40 and v.isalnum() and not set(v) & set(AMBIGUOUS)
    assert len(generate(GeneratorOptions(kind="uuid"))) == 36
    digits = generate(GeneratorOptions(length=12, lower=False, upper=False, symbols=False))
    assert digits.isdigit()


def test_demo_vault_holds_only_obviously_fake_values(settings: Settings) -> None:
    demo = create_demo_home(settings)
    try:
        assert demo.home != settings.home and demo.provider == "local"
        vault = Vault.open(demo.vault_path, KeySource.from_key_file(demo.default_key_file))
        names = vault.names()
        assert names == sorted(n for n, *_ in DEMO_SECRETS)
        for name in names:
            for version, value in vault.history_values(name):
                text = str(value)
                assert any(w in text for w in ("demo", "DEMO", "EXAMPLE")), (name, version)
        assert {r.type for r in vault.list()} == {"str", "dict"}
        assert max(len(vault.history(n)) for n in names) >= 3
        assert sum(1 for r in vault.list() if r.rotation.get("policy")) >= 4
        vault.close()
    finally:
        remove_demo_home(demo)
    assert not demo.home.exists()


def test_watcher_reports_a_write_from_another_connection(settings: Settings) -> None:
    demo = create_demo_home(settings)
    try:
        seen = threading.Event()
        watcher = VaultWatcher(demo.vault_path, seen.set).start()
        try:
            assert watcher.mode == "watchdog"
            vault = Vault.open(demo.vault_path, KeySource.from_key_file(demo.default_key_file))
            vault.put("new/one", "demo")
            vault.close()
            assert seen.wait(3)
        finally:
            watcher.stop()
        # the polling fallback sees it too
        seen.clear()
        poller = VaultWatcher(demo.vault_path, seen.set, poll_interval=0.05)
        poller.mode = "poll"
        poller._poller = threading.Thread(target=poller._poll, daemon=True)
        poller._poller.start()
        try:
            vault = Vault.open(demo.vault_path, KeySource.from_key_file(demo.default_key_file))
            vault.put("new/two", "demo-longer-value")
            vault.close()
            assert seen.wait(3)
        finally:
            poller.stop()
    finally:
        remove_demo_home(demo)


def test_masked_value_never_shows_the_value_in_repr() -> None:
    w = MaskedValue("canary-masked-value")
    assert "canary" not in repr(w)


def test_name_cache_is_sealed_patched_and_falls_back(settings: Settings, monkeypatch) -> None:
    from vaultui import name_cache

    monkeypatch.setattr(name_cache, "MIN_CACHED", 1)
    demo = create_demo_home(settings)
    try:
        vault = Vault.open(demo.vault_path, KeySource.from_key_file(demo.default_key_file))
        seq, names, cached = name_cache.current_names(vault)
        assert not cached and names == vault.names()
        assert name_cache.store(vault, seq, names)
        assert name_cache.current_names(vault) == (seq, names, True)
        # the names are not in the file in clear
        assert b"wildcard_cert" not in demo.vault_path.read_bytes()
        # later changes are applied to the cached list
        vault.put("aaa/new", "demo")
        vault.delete("ci/npm/token")
        seq2, names2, cached2 = name_cache.current_names(vault)
        assert cached2 and names2 == vault.names() and seq2 == vault.seq
        # a purge (no name in the change feed) or a damaged entry: read every name
        vault.purge("dev/github/token")
        assert name_cache.current_names(vault)[1:] == (vault.names(), False)
        vault.set_local(name_cache.KEY, b"not a cache")
        assert name_cache.current_names(vault)[1:] == (vault.names(), False)
        vault.close()
    finally:
        remove_demo_home(demo)
