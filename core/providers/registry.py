"""Finding providers by name.

Providers are registered as entry points in the group ``vaultui.providers`` (the
built-in ones in vaultui's own ``pyproject.toml``, third-party ones in theirs)::

    [project.entry-points."vaultui.providers"]
    my_store = "my_package.module:MyProvider"

:func:`provider_names` lists them without importing any provider module. When the
package metadata is missing (running from a source tree that was never installed) the
built-in list is used. :func:`get_provider` imports and builds one.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError, ProviderError

if TYPE_CHECKING:
    from core.config import Settings
    from core.providers.base import Provider

log = logging.getLogger(__name__)

GROUP = "vaultui.providers"

BUILTIN: dict[str, str] = {
    "local": "core.providers.local:LocalProvider",
    "hashicorp_vault": "core.providers.hashicorp_vault:HashiCorpVaultProvider",
    "aws_secrets_manager": "core.providers.aws_secrets_manager:AwsSecretsManagerProvider",
    "azure_key_vault": "core.providers.azure_key_vault:AzureKeyVaultProvider",
    "gcp_secret_manager": "core.providers.gcp_secret_manager:GcpSecretManagerProvider",
}


def _targets() -> dict[str, str]:
    """name -> "module:Class" from entry points, with the built-ins as a fallback."""
    targets = dict(BUILTIN)
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group=GROUP):
            targets[ep.name] = ep.value
    except Exception:  # broken metadata must not break the app: keep the built-ins
        log.debug("could not read %s entry points", GROUP, exc_info=True)
    return targets


def provider_names() -> list[str]:
    """The names of every registered provider, sorted; imports no provider module."""
    return sorted(_targets())


def provider_class(name: str) -> type[Provider]:
    """The class registered under ``name``.

    Raises:
        ConfigError: no provider has that name (the message lists the valid ones), or
            its entry point does not load.
    """
    targets = _targets()
    target = targets.get(name)
    if target is None:
        from core.config import unknown_provider

        raise unknown_provider(name, None, targets)
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"Secrets provider {name!r} is registered as {target} but cannot be loaded "
            f"({type(exc).__name__})",
            hint="reinstall the package that provides it; installed providers: "
            + ", ".join(sorted(targets)),
        ) from None
    return cls  # type: ignore[no-any-return]  # an entry point loads an untyped object


def get_provider(name: str, settings: Settings, **overrides: Any) -> Provider:
    """Build the provider ``name`` from ``settings``.

    Args:
        name: a registered provider name (see :func:`provider_names`).
        settings: where the provider reads its configuration.
        **overrides: constructor keywords (``retry``, ``rate_limits``, ``max_workers``,
            ``timeout``, ``page_size`` and provider-specific ones such as an injected
            ``credential``).

    Raises:
        ConfigError: unknown name, or missing configuration.
        ProviderNotInstalledError: the provider's SDK is missing ("install vaultui[aws]").
    """
    from core.config import cap_sdk_loggers

    cls = provider_class(name)
    cap_sdk_loggers(settings)  # before the SDK client exists: no wire log of values
    return cls(settings, **overrides)


def provider_info(settings: Settings, *, probe: bool = False) -> list[dict[str, Any]]:
    """One dict per provider for ``vaultui --batch providers``.

    Keys: ``name``, ``display_name``, ``extra``, ``active`` (the configured one),
    ``viable`` and ``reason``; with ``probe`` also ``ok``, ``latency_ms`` and ``detail``
    from :meth:`Provider.health` for every viable provider (this contacts them).
    """
    rows: list[dict[str, Any]] = []
    for name in provider_names():
        row: dict[str, Any] = {"name": name, "active": name == settings.provider}
        try:
            cls = provider_class(name)
        except ConfigError as exc:
            row.update(display_name=name, extra=None, viable=False, reason=str(exc))
            rows.append(row)
            continue
        ok, reason = cls.viable(settings)
        row.update(display_name=cls.display_name, extra=cls.extra, viable=ok, reason=reason)
        if probe and ok:
            try:
                provider = cls(settings)
                health = provider.health()
                provider.close()
                row.update(ok=health.ok, latency_ms=health.latency_ms, detail=health.detail)
            except (ConfigError, ProviderError) as exc:
                row.update(ok=False, latency_ms=None, detail=str(exc))
        rows.append(row)
    return rows
