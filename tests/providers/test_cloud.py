"""Real cloud accounts: the whole contract suite runs against them when
``VAULTUI_CLOUD_TESTS=1`` and their credentials are set (the ``*-cloud`` parameters of
the ``provider`` fixture). These tests say, per provider, whether that happens and why
not; when configured they also do a round trip of their own and clean up after it."""

from __future__ import annotations

import uuid

import pytest

from core.config import Settings
from core.providers import get_provider
from tests.providers.conftest import CLOUD_PROVIDERS, FAST_RETRY, cloud_reason


@pytest.mark.cloud
@pytest.mark.parametrize("kind", CLOUD_PROVIDERS)
def test_real_cloud_round_trip(kind: str) -> None:
    reason = cloud_reason(kind)
    if reason:
        pytest.skip(f"{kind}: {reason}")
    provider = get_provider(kind, Settings.from_env(), retry=FAST_RETRY)
    name = f"vaultui-ci/{uuid.uuid4().hex[:12]}/probe"
    try:
        assert provider.health().ok
        provider.put(name, {"probe": True})
        assert provider.get(name).value == {"probe": True}  # type: ignore[union-attr]
        assert name in {e.name for e in provider.list()}
    finally:
        provider.delete(name, purge=True)
        provider.close()
