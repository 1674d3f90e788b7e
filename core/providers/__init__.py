"""External secrets providers behind one small interface (see ``base.py``).

Importing this package imports no provider SDK. Typical use::

    from core.providers import get_provider, provider_names
    provider = get_provider(settings.provider, settings)
    provider.put("db/password", "s3cret")

See docs/providers.md for configuration, limits and the name mapping of each provider.
"""

from core.providers.base import (
    ABSENT,
    BulkResult,
    Health,
    Provider,
    ProviderEntry,
    ProviderLimits,
    ProviderSecret,
    ProviderVersion,
)
from core.providers.registry import get_provider, provider_class, provider_info, provider_names
from core.providers.retry import RateLimits, RetryPolicy

__all__ = [
    "ABSENT",
    "BulkResult",
    "Health",
    "Provider",
    "ProviderEntry",
    "ProviderLimits",
    "ProviderSecret",
    "ProviderVersion",
    "RateLimits",
    "RetryPolicy",
    "get_provider",
    "provider_class",
    "provider_info",
    "provider_names",
]
