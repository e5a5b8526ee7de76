"""Fetching a feed URL a host gave us, under the SSRF rules.

The request is made by our servers to an address a user chose, so: http(s) only, no user name or
password in the URL, and no private, loopback, link-local, multicast or reserved address after DNS
resolution. The check runs where the connection is made (a network backend under httpx): the name
is resolved once, every address is checked, and the socket connects to the checked address, so a
DNS answer that changes between check and connect (rebinding) gains nothing; a redirect opens a new
connection and is checked again. TLS still verifies the certificate for the URL's host name.
Bodies are read up to a size limit, and the whole fetch has a deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from stayflow.settings import Settings

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
USER_AGENT = "Stayflow-Calendar-Sync/1.0 (+iCal import)"


class FeedRefused(ValueError):
    """The URL breaks the SSRF rules; `reason` says which, in a sentence a host understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FeedFetchError(RuntimeError):
    """The feed could not be fetched (network, status, size, time); the reason is shown to the host."""


@dataclass(frozen=True)
class FetchPolicy:
    allowed_private_hosts: frozenset[str] = field(default_factory=frozenset)
    """`host` or `host:port` entries exempt from the private-address rule (dev and tests only)."""
    max_bytes: int = 2 * 1024 * 1024
    timeout_seconds: float = 15.0
    max_redirects: int = 5

    def exempts(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]")
        return host in self.allowed_private_hosts or f"{host}:{port}" in self.allowed_private_hosts


def refusal_of_address(address: str) -> str | None:
    """Why connecting to this IP address is refused, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, what in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (such as the cloud metadata service)"),
        ("is_private", "a private network address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, flag):
            return f"it points at {ip}, {what}"
    if not ip.is_global:
        return f"it points at {ip}, which is not a public internet address"
    return None


def url_problem(url: str) -> str | None:
    """What is wrong with the URL's form (scheme, host, credentials), before any DNS lookup."""
    if len(url) > MAX_URL_LENGTH:
        return f"it is longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "it is not a valid URL"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return "only http:// and https:// feed URLs are accepted"
    if not parts.hostname:
        return "it has no host name"
    if parts.username is not None or parts.password is not None:
        return "it must not contain a user name or password"
    if port == 0:
        return "it has no valid port"
    return None


def _port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme.lower() == "https" else 80)


async def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (an IP literal resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FeedRefused(f"its host name {host} does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, policy: FetchPolicy) -> list[str]:
    """The addresses of host that may be connected to; raises `FeedRefused` if any is refused
    (a name with one private address among public ones is refused whole)."""
    addresses = await resolve(host, port)
    if policy.exempts(host, port):
        return addresses
    for address in addresses:
        reason = refusal_of_address(address)
        if reason is not None:
            raise FeedRefused(reason)
    return addresses


async def check_feed_url(url: str, policy: FetchPolicy) -> None:
    """Raise `FeedRefused` naming why the URL may not be fetched (the API's 422)."""
    problem = url_problem(url)
    if problem is not None:
        raise FeedRefused(problem)
    host = urlsplit(url).hostname or ""
    await checked_addresses(host, _port_of(url), policy)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the SSRF rules allow, and to exactly the address it checked."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, self._policy)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"cannot connect to {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FeedRefused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with its connection pool on the guarded backend; no proxies from the
    environment (a proxy would make the address check meaningless)."""

    def __init__(self, policy: FetchPolicy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(), network_backend=_GuardedBackend(policy), max_connections=4
        )


async def fetch_feed(url: str, policy: FetchPolicy) -> bytes:
    """The feed's body. Raises `FeedRefused` (SSRF rules, also on a redirect) or `FeedFetchError`."""
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            return await _fetch(url, policy)
    except TimeoutError as exc:
        raise FeedFetchError(f"the feed did not answer within {policy.timeout_seconds:g} seconds") from exc


async def _fetch(url: str, policy: FetchPolicy) -> bytes:
    timeout = httpx.Timeout(policy.timeout_seconds, connect=min(5.0, policy.timeout_seconds))
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, text/plain;q=0.8, */*;q=0.1"}
    async with httpx.AsyncClient(
        transport=GuardedTransport(policy), timeout=timeout, follow_redirects=False, headers=headers, trust_env=False
    ) as client:
        for _ in range(policy.max_redirects + 1):
            problem = url_problem(url)
            if problem is not None:
                raise FeedRefused(problem)
            try:
                async with client.stream("GET", url) as response:
                    if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise FeedFetchError(f"the feed answered HTTP {response.status_code}")
                    return await _read_limited(response, policy.max_bytes)
            except httpx.TimeoutException as exc:
                raise FeedFetchError("the feed did not answer in time") from exc
            except httpx.HTTPError as exc:
                raise FeedFetchError(f"the feed could not be fetched: {exc.__class__.__name__}: {exc}") from exc
        raise FeedFetchError(f"the feed redirected more than {policy.max_redirects} times")


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FeedFetchError(f"the feed is larger than {max_bytes // 1024} KiB")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise FeedFetchError(f"the feed is larger than {max_bytes // 1024} KiB")
    return bytes(body)


def feed_fetch_policy(settings: Settings) -> FetchPolicy:
    """The one place the settings become the fetch rules (the API's check and the activity's fetch)."""
    return FetchPolicy(
        allowed_private_hosts=settings.ical_private_hosts_allowed,
        max_bytes=settings.ical_max_feed_bytes,
        timeout_seconds=settings.ical_fetch_timeout_seconds,
    )
