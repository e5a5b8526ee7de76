"""Issue 12 (platform security): each defence an attacker ran into, tried again."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

import httpx
import msgspec
from httpx import AsyncClient

from api.app import create_app
from api.listings.service import MAX_PHOTOS_PER_LISTING
from models import ListingPhoto, PasswordResetToken, Session
from stayflow.credentials import token_digest
from stayflow.rules.roles import Role
from stayflow.settings import STRIPE_API, Settings
from tests.factories import PASSWORD, make_listing, make_user, sign_in

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "cache-control", "referrer-policy")


def client_at(app: Any, ip: str) -> AsyncClient:
    """The app as reached from the TCP peer `ip`."""
    transport = httpx.ASGITransport(app=app, client=(ip, 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


async def test_a_stranger_guessing_an_admins_password_does_not_lock_the_admin_out(
    api_settings: Settings, dev_server_env: Any
) -> None:
    admin = await make_user(role=Role.admin)
    app = create_app(api_settings, temporal_client=dev_server_env.client)
    async with client_at(app, "198.51.100.7") as stranger, client_at(app, "192.0.2.10") as owner:
        for _ in range(api_settings.login_attempts_per_account):
            wrong = await stranger.post("/api/v1/auth/login", json={"email": admin.email, "password": "guess guess 1"})
            assert wrong.status_code == 401
        blocked = await stranger.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        signed_in = await owner.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text


async def _reset_link(user_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    await PasswordResetToken(
        user=user_id,
        token_hash=token_digest(token),
        request_id=f"password-reset-{uuid.uuid4()}",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30),
    ).save()
    return token


async def test_using_a_reset_link_revokes_every_other_open_one(client: AsyncClient) -> None:
    user = await make_user()
    older, newer = await _reset_link(user.id), await _reset_link(user.id)
    used = await client.post("/api/v1/auth/password/reset", json={"token": newer, "new_password": "a new secret 1"})
    assert used.status_code == 204
    stale = await client.post("/api/v1/auth/password/reset", json={"token": older, "new_password": "attacker pass 1"})
    assert stale.status_code == 400 and stale.json()["type"].endswith("bad-reset-token")
    await sign_in(client, user, "a new secret 1")


async def test_changing_the_password_revokes_open_reset_links(client: AsyncClient) -> None:
    user = await make_user()
    link = await _reset_link(user.id)
    me = await sign_in(client, user)
    changed = await client.post(
        "/api/v1/auth/password/change",
        headers=me.headers,
        json={"current_password": PASSWORD, "new_password": "changed secret 1"},
    )
    assert changed.status_code == 204
    stale = await client.post("/api/v1/auth/password/reset", json={"token": link, "new_password": "attacker pass 1"})
    assert stale.status_code == 400


async def _login_from_loopback(settings: Settings, dev_server_env: Any, forwarded_for: str) -> str:
    user = await make_user()
    async with client_at(create_app(settings, temporal_client=dev_server_env.client), "127.0.0.1") as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={"email": user.email, "password": PASSWORD},
            headers={"X-Forwarded-For": forwarded_for},
        )
        assert response.status_code == 200, response.text
    session = await Session.objects().get(Session.user == user.id)
    assert session is not None
    return session.ip_address


async def test_x_forwarded_for_is_believed_only_from_configured_proxies(
    api_settings: Settings, dev_server_env: Any
) -> None:
    assert api_settings.forwarded_allow_ips == ""  # the default: no proxy, not even loopback
    assert await _login_from_loopback(api_settings, dev_server_env, "203.0.113.9") == "127.0.0.1"
    behind_proxy = msgspec.structs.replace(api_settings, forwarded_allow_ips="127.0.0.1, 10.0.0.0/8")
    assert await _login_from_loopback(behind_proxy, dev_server_env, "203.0.113.9") == "203.0.113.9"


async def test_error_answers_carry_the_security_headers_and_media_404s_name_no_path(
    client: AsyncClient, api_settings: Settings
) -> None:
    answers = [
        await client.get("/api/v1/bookings"),  # 401
        await client.get("/api/v1/no-such-route"),  # 404 from the router
        await client.post("/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}),
        await client.get("/media/listings/nothing-here.jpg"),
        await client.get("/media/../../etc/passwd"),
    ]
    for answer in answers:
        assert answer.status_code >= 400
        for header in SECURITY_HEADERS:
            assert header in answer.headers, (answer.request.url, header)
        assert answer.headers["cache-control"] == "no-store"
    for media in answers[3:]:
        assert media.status_code == 404
        assert api_settings.home_dir.as_posix() not in media.text and "/tmp" not in media.text
        assert "path" not in media.text.lower()


async def test_the_dev_outbox_is_not_served_in_production(api_settings: Settings, dev_server_env: Any) -> None:
    production = msgspec.structs.replace(
        api_settings,
        env="production",
        jwt_secret=secrets.token_urlsafe(48),
        database_url="postgresql://db/stayflow",
        temporal_address="temporal:7233",
        stripe_api_key="sk_test_real_looking_key",
        stripe_api_base=STRIPE_API,
        stripe_webhook_secret="whsec_real",
    )
    async with client_at(create_app(production, temporal_client=dev_server_env.client), "127.0.0.1") as client:
        assert (await client.get("/api/v1/dev/outbox")).status_code == 404
    async with client_at(create_app(api_settings, temporal_client=dev_server_env.client), "127.0.0.1") as client:
        assert (await client.get("/api/v1/dev/outbox")).status_code != 404


async def test_the_photo_cap_is_checked_before_anything_is_decoded(client: AsyncClient) -> None:
    host = await make_user(role=Role.host)
    listing = await make_listing(host, status="draft")
    for position in range(MAX_PHOTOS_PER_LISTING):
        await ListingPhoto(
            listing=listing.id, storage_key=f"listings/{listing.id}/{position}.jpg", content_type="image/jpeg",
            width=640, height=480, size_bytes=1, position=position,
        ).save()  # fmt: skip
    me = await sign_in(client, host)
    # Not even an image: a decoder that ran first would answer 422.
    answer = await client.post(
        f"/api/v1/listings/{listing.id}/photos", headers=me.headers, files={"file": ("x.jpg", b"not an image")}
    )
    assert answer.status_code == 409, answer.text
    assert await ListingPhoto.count().where(ListingPhoto.listing == listing.id) == MAX_PHOTOS_PER_LISTING


async def test_posting_messages_is_rate_limited_per_account(client: AsyncClient) -> None:
    from api.posting_limits import POSTING_LIMITS

    host = await sign_in(client, await make_user(role=Role.host))
    guest = await sign_in(client, await make_user())
    listing = await make_listing(host.user)
    started = await client.post(
        "/api/v1/conversations", headers=guest.headers, json={"listing_id": str(listing.id), "body": "Hi!"}
    )
    assert started.status_code == 201
    cid = started.json()["id"]
    limit, _window = POSTING_LIMITS["message"]
    for i in range(limit):
        sent = await client.post(f"/api/v1/conversations/{cid}/messages", headers=guest.headers, json={"body": f"{i}"})
        assert sent.status_code == 201
    spam = await client.post(f"/api/v1/conversations/{cid}/messages", headers=guest.headers, json={"body": "more"})
    assert spam.status_code == 429 and int(spam.headers["retry-after"]) > 0
    answer = await client.post(f"/api/v1/conversations/{cid}/messages", headers=host.headers, json={"body": "ok"})
    assert answer.status_code == 201  # the other participant is not affected
