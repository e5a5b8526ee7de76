"""Forgot and reset password through the API, the real worker and the Temporal dev server."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
from httpx import AsyncClient

from api.app import create_app
from models import Message, PasswordResetToken, User
from stayflow.settings import Settings
from tests.factories import PASSWORD, make_user, sign_in
from tests.helpers import api_client, wait_for_outbox

NEW_PASSWORD = "a fresh new passphrase"


def reset_token_in(message: dict[str, Any]) -> str:
    match = re.search(r"reset code in the app: (\S+)", message["text"])
    assert match, message["text"]
    return match.group(1)


async def test_forgot_then_reset_signs_out_everywhere_and_sets_the_new_password(
    client: AsyncClient, worker: None, dev_server_env: Any
) -> None:
    user = await make_user(email="ada@example.com")
    old_session = await sign_in(client, user)
    response = await client.post("/api/v1/auth/password/forgot", json={"email": "Ada@Example.com"})
    assert response.status_code == 202
    message = await wait_for_outbox(client, "ada@example.com")
    assert message["subject"] == "Reset your Stayflow password"
    assert message["status"] == "sent" and message["kind"] == "password_reset"
    token = reset_token_in(message)
    assert f"token={token}" in message["text"]

    # The token is stored only as a digest.
    stored = await PasswordResetToken.select(PasswordResetToken.token_hash).first()
    assert stored is not None and token not in str(stored)

    reset = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert reset.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=old_session.headers)).status_code == 401
    old = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    await sign_in(client, user, NEW_PASSWORD)

    again = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": "yet another one!"})
    assert again.status_code == 400
    await sign_in(client, user, NEW_PASSWORD)

    # Operators find the run in the Temporal UI: it is a completed PasswordResetWorkflow.
    workflows = [w async for w in dev_server_env.client.list_workflows("WorkflowType = 'PasswordResetWorkflow'")]
    assert any(w.status.name == "COMPLETED" for w in workflows)


async def test_unknown_email_gets_the_same_answer_and_no_message(client: AsyncClient, worker: None) -> None:
    await make_user(email="ada@example.com")
    known = await client.post("/api/v1/auth/password/forgot", json={"email": "ada@example.com"})
    unknown = await client.post("/api/v1/auth/password/forgot", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    await wait_for_outbox(client, "ada@example.com")
    assert await Message.count().where(Message.recipient == "nobody@example.com") == 0


async def test_expired_reset_token_is_refused(client: AsyncClient, worker: None) -> None:
    user = await make_user(email="ada@example.com")
    await client.post("/api/v1/auth/password/forgot", json={"email": "ada@example.com"})
    token = reset_token_in(await wait_for_outbox(client, "ada@example.com"))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await PasswordResetToken.update({PasswordResetToken.expires_at: past}, force=True)
    response = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    await sign_in(client, user)  # the old password still works


async def test_reset_with_a_weak_password_keeps_the_token_usable(client: AsyncClient, worker: None) -> None:
    user = await make_user(email="ada@example.com")
    await client.post("/api/v1/auth/password/forgot", json={"email": "ada@example.com"})
    token = reset_token_in(await wait_for_outbox(client, "ada@example.com"))
    weak = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": "short"})
    assert weak.status_code == 422
    good = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert good.status_code == 204
    stored = await User.objects().get(User.id == user.id)
    assert stored is not None


async def test_made_up_reset_token_is_refused(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/password/reset", json={"token": "made-up", "new_password": NEW_PASSWORD})
    assert response.status_code == 400


async def test_dev_outbox_does_not_exist_in_production(settings: Settings) -> None:
    production = msgspec.structs.replace(
        settings,
        env="production",
        jwt_secret="Vx3q9kTz0bLr7mWc2yHn5sJd8fGa1pQe4uKo6iNt",  # "x" * 40 is refused now
        temporal_address="127.0.0.1:1",
        database_url="postgresql://x",
        stripe_api_key="sk_test_real_looking_key",  # the fake key is refused, even with Stripe's API base
        stripe_api_base="https://api.stripe.com",
        stripe_webhook_secret="whsec_real",
    )
    async with api_client(create_app(production)) as client:
        response = await client.get("/api/v1/dev/outbox")
    assert response.status_code == 404
