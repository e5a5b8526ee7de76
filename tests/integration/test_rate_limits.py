"""Login and forgot-password are rate limited per IP and per account: 429 with Retry-After."""

from __future__ import annotations

from typing import Any

import msgspec
from httpx import AsyncClient

from api.app import create_app
from models import Session
from stayflow.settings import Settings
from tests.factories import PASSWORD, make_user
from tests.helpers import api_client


async def test_login_attempts_per_account_are_limited_even_with_the_right_password(
    client: AsyncClient, api_settings: Settings
) -> None:
    user = await make_user()
    for _ in range(api_settings.login_attempts_per_account):
        wrong = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "guess guess guess"})
        assert wrong.status_code == 401
    blocked = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.headers["content-type"].startswith("application/problem+json")
    assert await Session.count() == 0
    other = await make_user()
    ok = await client.post("/api/v1/auth/login", json={"email": other.email, "password": PASSWORD})
    assert ok.status_code == 200  # another account is not affected


async def test_auth_routes_are_limited_per_ip(settings: Settings, dev_server_env: Any) -> None:
    strict = msgspec.structs.replace(settings, auth_rate_limit_per_minute=3)
    async with api_client(create_app(strict, temporal_client=dev_server_env.client)) as client:
        codes = [
            (await client.post("/api/v1/auth/login", json={"email": f"x{i}@example.com", "password": "whatever1234"}))
            for i in range(4)
        ]
        assert [r.status_code for r in codes] == [401, 401, 401, 429]
        assert int(codes[-1].headers["retry-after"]) > 0
        assert codes[-1].headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/health")).status_code == 200  # the rest of the API is not limited


async def test_forgot_password_per_account_limit(client: AsyncClient, api_settings: Settings, worker: None) -> None:
    for _ in range(api_settings.password_resets_per_account):
        accepted = await client.post("/api/v1/auth/password/forgot", json={"email": "nobody@example.com"})
        assert accepted.status_code == 202
    blocked = await client.post("/api/v1/auth/password/forgot", json={"email": "nobody@example.com"})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
