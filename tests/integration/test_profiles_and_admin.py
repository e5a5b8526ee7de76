"""Profiles, becoming a host, admin role changes and suspension."""

from __future__ import annotations

from httpx import AsyncClient

from models import User
from stayflow.rules.roles import Role
from tests.factories import make_user, sign_in, signed_in_user


async def test_profile_update_changes_only_what_was_sent(client: AsyncClient) -> None:
    me = await signed_in_user(client, full_name="Ada Lovelace")
    response = await client.patch("/api/v1/users/me", headers=me.headers, json={"phone": "+1 415 555 2671"})
    assert response.status_code == 200
    assert response.json()["phone"] == "+14155552671"
    assert response.json()["full_name"] == "Ada Lovelace"
    cleared = await client.patch("/api/v1/users/me", headers=me.headers, json={"phone": None, "bio": "Mathematician"})
    assert cleared.json()["phone"] is None and cleared.json()["bio"] == "Mathematician"


async def test_profile_update_cannot_grant_a_role(client: AsyncClient) -> None:
    me = await signed_in_user(client)
    response = await client.patch("/api/v1/users/me", headers=me.headers, json={"role": "admin"})
    assert response.status_code == 422
    stored = await User.objects().get(User.id == me.user.id)
    assert stored is not None and stored.role == Role.guest


async def test_profile_update_rejects_bad_phone_and_changes_nothing(client: AsyncClient) -> None:
    me = await signed_in_user(client)
    response = await client.patch("/api/v1/users/me", headers=me.headers, json={"phone": "call me maybe", "bio": "x"})
    assert response.status_code == 422
    assert any(e["field"] == "phone" for e in response.json()["errors"])
    stored = await User.objects().get(User.id == me.user.id)
    assert stored is not None and stored.phone is None and stored.bio == ""


async def test_public_profile_shows_first_name_only(client: AsyncClient) -> None:
    host = await make_user(full_name="Grace Brewster Hopper", role=Role.host)
    response = await client.get(f"/api/v1/users/{host.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["first_name"] == "Grace" and body["is_host"] is True
    assert "email" not in body and "phone" not in body and "Hopper" not in str(body)
    missing = await client.get("/api/v1/users/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_become_host(client: AsyncClient) -> None:
    me = await signed_in_user(client)
    response = await client.post("/api/v1/users/me/host", headers=me.headers)
    assert response.status_code == 200
    assert response.json()["role"] == "host" and response.json()["is_host"] is True


async def test_guest_and_host_get_403_on_admin_routes(client: AsyncClient) -> None:
    target = await make_user()
    for role in (Role.guest, Role.host):
        caller = await signed_in_user(client, role=role)
        for method, path, body in [
            ("GET", "/api/v1/admin/users", None),
            ("GET", f"/api/v1/admin/users/{target.id}", None),
            ("POST", f"/api/v1/admin/users/{target.id}/role", {"role": "admin"}),
            ("POST", f"/api/v1/admin/users/{target.id}/suspend", {"reason": "spam"}),
            ("POST", f"/api/v1/admin/users/{target.id}/restore", None),
        ]:
            response = await client.request(method, path, headers=caller.headers, json=body)
            assert response.status_code == 403, (role, path)
            assert response.headers["content-type"].startswith("application/problem+json")
    stored = await User.objects().get(User.id == target.id)
    assert stored is not None and stored.role == Role.guest and stored.suspended_at is None


async def test_admin_changes_a_role(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    target = await make_user()
    response = await client.post(f"/api/v1/admin/users/{target.id}/role", headers=admin.headers, json={"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"
    bad = await client.post(f"/api/v1/admin/users/{target.id}/role", headers=admin.headers, json={"role": "king"})
    assert bad.status_code == 422


async def test_suspension_stops_tokens_and_login_until_restored(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    victim = await signed_in_user(client)
    suspended = await client.post(
        f"/api/v1/admin/users/{victim.user.id}/suspend", headers=admin.headers, json={"reason": "fraud"}
    )
    assert suspended.status_code == 200 and suspended.json()["suspended"] is True
    assert (await client.get("/api/v1/users/me", headers=victim.headers)).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": victim.refresh_token})
    assert refresh.status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": victim.user.email, "password": "correct horse battery"}
    )
    assert login.status_code == 403
    assert (await client.get(f"/api/v1/users/{victim.user.id}")).status_code == 404
    twice = await client.post(
        f"/api/v1/admin/users/{victim.user.id}/suspend", headers=admin.headers, json={"reason": "again"}
    )
    assert twice.status_code == 409
    restored = await client.post(f"/api/v1/admin/users/{victim.user.id}/restore", headers=admin.headers)
    assert restored.status_code == 200 and restored.json()["suspended"] is False
    await sign_in(client, victim.user)


async def test_admin_cannot_lock_themselves_out(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    own = await client.post(f"/api/v1/admin/users/{admin.user.id}/suspend", headers=admin.headers, json={"reason": "x"})
    assert own.status_code == 409
    demote = await client.post(
        f"/api/v1/admin/users/{admin.user.id}/role", headers=admin.headers, json={"role": "guest"}
    )
    assert demote.status_code == 409


async def test_admin_user_search_pages_with_a_cursor(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin, email="root@example.com")
    for i in range(5):
        await make_user(email=f"traveller{i}@example.com", full_name=f"Traveller {i}")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"q": "traveller", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/admin/users", headers=admin.headers, params=params)).json()
        seen += [u["email"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"traveller{i}@example.com" for i in range(5)]
    bad = await client.get("/api/v1/admin/users", headers=admin.headers, params={"cursor": "garbage!"})
    assert bad.status_code == 400
    too_many = await client.get("/api/v1/admin/users", headers=admin.headers, params={"limit": 1000})
    assert too_many.status_code == 422
