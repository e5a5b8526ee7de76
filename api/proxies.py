"""Which peer is the client: `X-Forwarded-For`/`-Proto` are believed only from the proxies named in
STAYFLOW_FORWARDED_ALLOW_IPS (`stayflow api --forwarded-allow-ips`). With none named, the TCP peer
is the client, so nobody can forge the IP that per-IP limits, sessions and the audit log see."""

from __future__ import annotations

from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from stayflow.settings import Settings


def trusted_proxies(settings: Settings) -> list[str]:
    return [host.strip() for host in settings.forwarded_allow_ips.split(",") if host.strip()]


def client_address_middleware(settings: Settings) -> list[Any]:
    """The app's first middleware: rewrites the client address from proxy headers, when trusted."""
    trusted = trusted_proxies(settings)
    if not trusted:
        return []
    return [lambda app: ProxyHeadersMiddleware(app, trusted_hosts=trusted)]
