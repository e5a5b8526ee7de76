"""Register: good input creates exactly one account; bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from httpx import AsyncClient

from models import Message, User
from tests.factories import PASSWORD, make_user
from tests.helpers import eventually

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


async def test_registering_a_taken_email_answers_like_a_new_account_and_tells_the_owner(
    client: AsyncClient, worker: None
) -> None:
    owner = await make_user(email="grace@example.com", full_name="Grace Owner")
    new = await client.post("/api/v1/auth/register", json={**GOOD, "email": "someone.new@example.com"})
    taken = await client.post("/api/v1/auth/register", json={**GOOD, "email": "GRACE@example.com"})
    # The same status, the same shape, nothing that tells the two apart.
    assert taken.status_code == new.status_code == 201, taken.text
    assert taken.headers["content-type"] == new.headers["content-type"]
    assert taken.json().keys() == new.json().keys()
    assert taken.json()["email"] == "grace@example.com" and taken.json()["email_verified"] is False
    assert taken.json()["full_name"] == "Grace Hopper" and taken.json()["id"] != str(owner.id)
    # Neither id has a public profile until its owner confirms the address.
    for answer in (new, taken):
        assert (await client.get(f"/api/v1/users/{answer.json()['id']}")).status_code == 404
    # The password is hashed either way: a taken address is not the quick answer.
    seconds: dict[str, list[float]] = {"new": [], "taken": []}
    for n in range(3):
        for which, email in (("new", f"timing{n}@example.com"), ("taken", "grace@example.com")):
            started = time.perf_counter()
            await client.post("/api/v1/auth/register", json={**GOOD, "email": email})
            seconds[which].append(time.perf_counter() - started)
    # Without the hash a taken address would answer after one indexed query: a wide margin.
    assert statistics.median(seconds["taken"]) > 0.25 * statistics.median(seconds["new"]), seconds
    # Nothing changed for the owner: one account, the old password, the old name; they got an email.
    assert await User.count().where(User.email == "grace@example.com") == 1
    assert await User.count() == 5
    stored = await User.objects().get(User.email == "grace@example.com")
    assert stored is not None and stored.password_hash == owner.password_hash and stored.full_name == "Grace Owner"
    signed_in = await client.post("/api/v1/auth/login", json={"email": "grace@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200

    async def told() -> Message | None:
        return (
            await Message.objects()
            .where((Message.kind == "registration_attempt") & (Message.recipient == "grace@example.com"))
            .first()
        )

    mail = await eventually(told, what="the owner's email about the attempt")
    assert "sign in" in mail.text_body and "reset your password" in mail.text_body
    assert not await Message.exists().where(
        (Message.kind == "email_verification") & (Message.recipient == "grace@example.com")
    )
    # Four attempts within the hour emailed the owner once.
    assert await Message.count().where(Message.kind == "registration_attempt") == 1


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
