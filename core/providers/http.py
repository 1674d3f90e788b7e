"""Tuning of the ``requests`` sessions the SDKs use (hvac, azure-core, google-auth).

``requests`` re-reads proxy and CA settings from the environment on every call, which
costs a third or more of a call's CPU time with a large environment. Bulk pushes are
CPU-bound on the client, so the sessions vaultui owns resolve those settings once, when
the provider is built, and get a connection pool as large as the bulk thread pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def configure_session(session: Any, url: str, env: Mapping[str, str], *, pool_size: int) -> None:
    """Size the pool, resolve the environment's proxies and CA bundle once for ``url``.

    Args:
        session: a ``requests.Session`` (or subclass, e.g. google-auth's AuthorizedSession).
        url: the service URL (proxies are looked up for it, honouring NO_PROXY).
        env: the settings' environment (``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``).
        pool_size: connections kept per host.
    """
    import requests
    from requests.adapters import HTTPAdapter

    # max_retries=0 (requests' own default): no urllib3 retries, and connection errors
    # still surface as requests.ConnectionError, which the SDKs and our mappers expect.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = ca_bundle(env)
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def ca_bundle(env: Mapping[str, str]) -> str | None:
    """The CA bundle the environment names for requests, if any."""
    return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or None
