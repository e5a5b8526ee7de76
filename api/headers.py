"""Security headers on every answer: successes, problem details, 404s from the media files, and
answers of middleware (auth, rate limits) alike."""

from __future__ import annotations

from typing import Any

from litestar.types import Message, Scope

from stayflow.settings import Settings


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
        (b"content-security-policy", b"frame-ancestors 'none'"),
    ]
    if settings.public_url.startswith("https://"):
        headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return headers


def security_headers_hook(settings: Settings) -> Any:
    """A `before_send` hook: Litestar runs it on every message the app sends, including the answers
    of its exception handling and of auth middleware, which no route middleware sees. A header the
    handler set itself is kept."""
    wanted = security_headers(settings)

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {bytes(name).lower() for name, _ in headers}
            message["headers"] = [*headers, *((n, v) for n, v in wanted if n not in present)]

    return add_security_headers
