"""Test data: users created through the same code paths a real sign-up uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient

from models import User
from models.identity import Role
from stayflow.credentials import hash_password

PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_HASH_CACHE: dict[str, str] = {}


def _hash(password: str) -> str:
    # Argon2 is slow on purpose; one hash per distinct test password keeps the suite quick.
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


async def make_user(
    *,
    email: str | None = None,
    role: Role = Role.guest,
    password: str = PASSWORD,
    full_name: str = "Ada Lovelace",
) -> User:
    user = User(
        email=email or f"user{next(_counter)}@example.com",
        password_hash=_hash(password),
        full_name=full_name,
        role=role,
    )
    await user.save()
    return user


@dataclass
class SignedIn:
    user: User
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_in(client: AsyncClient, user: User, password: str = PASSWORD) -> SignedIn:
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return SignedIn(user, body["access_token"], body["refresh_token"])


async def signed_in_user(client: AsyncClient, *, role: Role = Role.guest, **kwargs: Any) -> SignedIn:
    return await sign_in(client, await make_user(role=role, **kwargs))
