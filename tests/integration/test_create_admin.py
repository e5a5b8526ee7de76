"""`stayflow create-admin` from the command line: the admin can then sign in and act as admin."""

from __future__ import annotations

import os
import subprocess
import sys

from httpx import AsyncClient

from models import User
from stayflow.rules.roles import Role
from tests.factories import make_user, sign_in


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stayflow.cli", *args], env=os.environ.copy(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip


async def test_create_admin_then_sign_in_as_admin(client: AsyncClient) -> None:
    result = run_cli("create-admin", "--email", "Root@Example.com", "--password", "an admin passphrase")
    assert result.returncode == 0, result.stderr
    admin = await User.objects().get(User.email == "root@example.com")
    assert admin is not None and admin.role == Role.admin
    signed = await sign_in(client, admin, "an admin passphrase")
    assert (await client.get("/api/v1/admin/users", headers=signed.headers)).status_code == 200


async def test_create_admin_promotes_an_existing_user() -> None:
    user = await make_user(email="host@example.com", role=Role.host)
    result = run_cli("create-admin", "--email", "host@example.com", "--password", "irrelevant here")
    assert result.returncode == 0, result.stderr
    assert "promoted" in result.stdout
    stored = await User.objects().get(User.id == user.id)
    assert stored is not None and stored.role == Role.admin


async def test_create_admin_refuses_a_weak_password() -> None:
    result = run_cli("create-admin", "--email", "root@example.com", "--password", "short")
    assert result.returncode == 2
    assert "at least 10" in result.stderr
    assert await User.count() == 0
