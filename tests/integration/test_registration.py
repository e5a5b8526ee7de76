"""Register: good input creates exactly one account; bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from models import User
from tests.factories import PASSWORD, make_user

GOOD = {"email": "Grace@Example.com", "password": PASSWORD, "full_name": "Grace Hopper"}


async def test_register_creates_a_guest_and_hides_the_password(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", json=GOOD)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "grace@example.com"
    assert body["role"] == "guest"
    assert body["is_host"] is False
    assert "password" not in str(body).lower()
    stored = await User.objects().get(User.email == "grace@example.com")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")


async def test_register_as_host_with_phone_normalises_to_e164(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", json={**GOOD, "role": "host", "phone": "+44 20 7946 0958"})
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "host"
    assert response.json()["phone"] == "+442079460958"


async def test_duplicate_email_is_409_whatever_the_case(client: AsyncClient) -> None:
    await make_user(email="grace@example.com")
    response = await client.post("/api/v1/auth/register", json=GOOD)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await User.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "role": "admin"}, "role"),
        ({**GOOD, "email": "not-an-email"}, "email"),
        ({**GOOD, "password": "short"}, "password"),
        ({**GOOD, "password": "grace@example.com"}, "password"),
        ({**GOOD, "phone": "12345"}, "phone"),
        ({**GOOD, "is_admin": True}, None),
        ({"email": "grace@example.com", "password": PASSWORD}, None),
        ({**GOOD, "full_name": 42}, None),
        ({**GOOD, "full_name": ""}, None),
    ],
    ids=["role-admin", "bad-email", "short-password", "password-is-email", "bad-phone", "unknown-field",
         "missing-field", "wrong-type", "blank-name"],
)  # fmt: skip
async def test_invalid_registration_is_422_and_creates_nothing(
    client: AsyncClient, body: dict[str, Any], field: str | None
) -> None:
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["status"] == 422 and problem["type"].endswith("/validation-error")
    assert problem["errors"], problem
    if field:
        assert any(field in (e.get("field") or "") or field in e["message"] for e in problem["errors"]), problem
    assert await User.count() == 0


async def test_malformed_json_is_400(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b'{"email": "a@b.c",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await User.count() == 0


async def test_oversized_body_is_413(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", json={**GOOD, "full_name": "x" * 2_000_000})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await User.count() == 0


async def test_nul_characters_are_bad_input_not_a_crash(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", json={**GOOD, "full_name": "Grace\u0000Hopper"})
    assert response.status_code == 422
    assert await User.count() == 0
