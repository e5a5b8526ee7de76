"""Login, tokens, refresh rotation, logout and sessions (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest
from httpx import AsyncClient

from models import Session, User
from stayflow.credentials import PASSWORD_HASHER
from stayflow.settings import Settings
from tests.factories import PASSWORD, make_user, sign_in


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_answers_a_token_pair_that_opens_my_account(client: AsyncClient) -> None:
    user = await make_user(email="ada@example.com")
    response = await client.post("/api/v1/auth/login", json={"email": "ADA@example.com", "password": PASSWORD})
    assert response.status_code == 200
    pair = response.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
    me = await client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == str(user.id)


async def test_wrong_password_and_unknown_email_get_the_same_401(client: AsyncClient) -> None:
    await make_user(email="ada@example.com")
    wrong = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "nope nope nope"})
    unknown = await client.post("/api/v1/auth/login", json={"email": "who@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert await Session.count() == 0


async def test_login_rehashes_a_password_stored_with_old_parameters(client: AsyncClient) -> None:
    from argon2 import PasswordHasher

    old_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    user = await make_user()
    await User.update({User.password_hash: old_hash}).where(User.id == user.id)
    await sign_in(client, user)
    stored = await User.objects().get(User.id == user.id)
    assert stored is not None and stored.password_hash != old_hash
    assert not PASSWORD_HASHER.check_needs_rehash(stored.password_hash)
    assert PASSWORD_HASHER.verify(stored.password_hash, PASSWORD)


def _claims(user_id: uuid.UUID, session_id: uuid.UUID, **override: object) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "extras": {"sid": str(session_id), "typ": "access"},
        "jti": str(uuid.uuid4()),
        "iss": "stayflow",
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(minutes=5)).timestamp()),
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda c, s: jwt.encode(c | {"exp": int(dt.datetime.now(dt.UTC).timestamp()) - 5}, s), id="expired"
        ),
        pytest.param(lambda c, s: jwt.encode(c, s)[:-3] + "AAA", id="tampered-signature"),
        pytest.param(lambda c, s: jwt.encode(c, "another-secret-another-secret-another"), id="wrong-secret"),
        pytest.param(lambda c, s: jwt.encode(c, "", algorithm="none"), id="alg-none"),
        pytest.param(lambda c, s: jwt.encode(c, s, algorithm="HS512"), id="wrong-algorithm"),
        pytest.param(lambda c, s: jwt.encode(c | {"exp": None}, s), id="missing-exp"),
        pytest.param(lambda c, s: jwt.encode(c | {"jti": None}, s), id="missing-jti"),
        pytest.param(lambda c, s: jwt.encode(c | {"iat": None}, s), id="missing-iat"),
        pytest.param(
            lambda c, s: jwt.encode(c | {"extras": {**c["extras"], "typ": "refresh"}}, s), id="not-an-access-token"
        ),
        pytest.param(
            lambda c, s: jwt.encode(c | {"extras": {"sid": str(uuid.uuid4()), "typ": "access"}}, s),
            id="unknown-session",
        ),
    ],
)
async def test_forged_or_broken_tokens_are_refused(client: AsyncClient, settings: Settings, forge: object) -> None:
    user = await make_user()
    signed = await sign_in(client, user)
    session = await Session.objects().where(Session.user == user.id).first()
    assert session is not None
    good = jwt.encode(_claims(user.id, session.id), settings.jwt_secret, algorithm="HS256")
    assert (await client.get("/api/v1/users/me", headers=bearer(good))).status_code == 200  # the control
    token = forge(_claims(user.id, session.id), settings.jwt_secret)  # type: ignore[operator]
    response = await client.get("/api/v1/users/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert signed.access_token  # the real session is untouched
    assert (await client.get("/api/v1/users/me", headers=signed.headers)).status_code == 200


async def test_a_refresh_token_is_never_an_access_token(client: AsyncClient) -> None:
    signed = await sign_in(client, await make_user())
    response = await client.get("/api/v1/users/me", headers=bearer(signed.refresh_token))
    assert response.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(client: AsyncClient) -> None:
    signed = await sign_in(client, await make_user())
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed.refresh_token})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != signed.refresh_token
    assert (await client.get("/api/v1/users/me", headers=bearer(rotated["access_token"]))).status_code == 200

    # The old refresh token shows up again: someone copied it. The family dies.
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed.refresh_token})
    assert replay.status_code == 401
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert again.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(rotated["access_token"]))).status_code == 401


async def test_unknown_refresh_token_is_401(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    assert response.status_code == 401


async def test_logout_stops_the_access_token_at_once(client: AsyncClient) -> None:
    user = await make_user()
    signed = await sign_in(client, user)
    other = await sign_in(client, user)
    assert (await client.post("/api/v1/auth/logout", headers=signed.headers)).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=signed.headers)).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed.refresh_token})
    assert refresh.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=other.headers)).status_code == 200


async def test_logout_all_ends_every_session(client: AsyncClient) -> None:
    user = await make_user()
    phone, laptop = await sign_in(client, user), await sign_in(client, user)
    assert (await client.post("/api/v1/auth/logout-all", headers=phone.headers)).status_code == 204
    for device in (phone, laptop):
        assert (await client.get("/api/v1/users/me", headers=device.headers)).status_code == 401
        refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": device.refresh_token})
        assert refresh.status_code == 401


async def test_sessions_list_and_revoke_one(client: AsyncClient) -> None:
    user = await make_user()
    phone = await sign_in(client, user)
    laptop = await sign_in(client, user)
    listed = await client.get("/api/v1/auth/sessions", headers=phone.headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert len(items) == 2
    assert sum(1 for s in items if s["current"]) == 1
    other = next(s for s in items if not s["current"])
    revoked = await client.delete(f"/api/v1/auth/sessions/{other['id']}", headers=phone.headers)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=laptop.headers)).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=phone.headers)).status_code == 200


async def test_someone_elses_session_is_404_and_stays_alive(client: AsyncClient) -> None:
    mine = await sign_in(client, await make_user())
    theirs = await sign_in(client, await make_user())
    their_sessions = (await client.get("/api/v1/auth/sessions", headers=theirs.headers)).json()["items"]
    read = await client.get(f"/api/v1/auth/sessions/{their_sessions[0]['id']}", headers=mine.headers)
    assert read.status_code == 404
    own = await client.get(f"/api/v1/auth/sessions/{their_sessions[0]['id']}", headers=theirs.headers)
    assert own.status_code == 200 and own.json()["current"] is True
    response = await client.delete(f"/api/v1/auth/sessions/{their_sessions[0]['id']}", headers=mine.headers)
    assert response.status_code == 404
    assert (await client.get("/api/v1/users/me", headers=theirs.headers)).status_code == 200


async def test_no_token_is_401_problem(client: AsyncClient) -> None:
    response = await client.get("/api/v1/auth/sessions")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_change_password_keeps_this_session_and_ends_the_others(client: AsyncClient) -> None:
    user = await make_user()
    here, elsewhere = await sign_in(client, user), await sign_in(client, user)
    wrong = await client.post(
        "/api/v1/auth/password/change",
        headers=here.headers,
        json={"current_password": "not my password", "new_password": "a brand new secret"},
    )
    assert wrong.status_code == 422
    changed = await client.post(
        "/api/v1/auth/password/change",
        headers=here.headers,
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=here.headers)).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=elsewhere.headers)).status_code == 401
    old = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    await sign_in(client, user, "a brand new secret")


async def test_change_password_refuses_a_weak_one(client: AsyncClient) -> None:
    user = await make_user()
    here = await sign_in(client, user)
    response = await client.post(
        "/api/v1/auth/password/change",
        headers=here.headers,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert response.status_code == 422
    await sign_in(client, user)  # the old password still works


async def test_a_revoked_jti_stops_only_that_token(client: AsyncClient, settings: Settings) -> None:
    """The jti denylist on its own, not the session check: the session stays live."""
    from api.accounts import identity

    signed = await sign_in(client, await make_user())
    refreshed = (await client.post("/api/v1/auth/refresh", json={"refresh_token": signed.refresh_token})).json()
    claims = jwt.decode(signed.access_token, settings.jwt_secret, algorithms=["HS256"], options={"verify_iss": False})
    await identity.revoke_access_token(uuid.UUID(claims["jti"]), dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC))
    assert (await client.get("/api/v1/users/me", headers=signed.headers)).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(refreshed["access_token"]))).status_code == 200
