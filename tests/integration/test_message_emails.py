"""New-message emails end to end: messages posted over REST, the real worker on the Temporal dev
server, the digest recorded and delivered (quiet period and cap shortened to seconds)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from httpx import AsyncClient

from models import Message
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from tests.factories import make_listing, make_user, sign_in
from tests.helpers import eventually
from workflows.message_digest import DigestOutcome, MessageDigestWorkflow, digest_workflow_id


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return msgspec.structs.replace(api_settings, message_digest_quiet_seconds=1, message_digest_max_wait_seconds=3)


async def new_message_emails() -> list[Message]:
    return list(await Message.objects().where(Message.kind == "new_message"))


async def test_several_messages_make_one_email_to_the_other_participant(
    client: AsyncClient, worker: None, dev_server_env: Any
) -> None:
    host = await sign_in(client, await make_user(role=Role.host, email="hilda@example.com", full_name="Hilda Host"))
    guest = await sign_in(client, await make_user(email="gus@example.com", full_name="Gus Guest"))
    listing = await make_listing(host.user)
    started = await client.post(
        "/api/v1/conversations", headers=guest.headers, json={"listing_id": str(listing.id), "body": "Hello!"}
    )
    cid = started.json()["id"]
    for line in ("Is there parking?", "We arrive by car."):
        response = await client.post(
            f"/api/v1/conversations/{cid}/messages", headers=guest.headers, json={"body": line}
        )
        assert response.status_code == 201

    async def one_sent() -> list[Any]:
        return [m for m in await new_message_emails() if m.status == "sent"]

    await eventually(one_sent, timeout=30, what="a new-message email to be sent")
    handle = dev_server_env.client.get_workflow_handle_for(
        MessageDigestWorkflow.run, digest_workflow_id(cid, host.user.id)
    )
    assert await asyncio.wait_for(handle.result(), timeout=30) == DigestOutcome(sent=1, skipped_as_read=0)
    [email] = await new_message_emails()
    assert email.recipient == "hilda@example.com"
    assert email.subject.startswith("3 new messages from Gus")
    assert all(line in email.text_body for line in ("Hello!", "Is there parking?", "We arrive by car."))


async def test_no_email_when_the_recipient_read_the_messages_first(
    client: AsyncClient, worker: None, dev_server_env: Any
) -> None:
    host = await sign_in(client, await make_user(role=Role.host))
    guest = await sign_in(client, await make_user())
    listing = await make_listing(host.user)
    started = await client.post(
        "/api/v1/conversations", headers=guest.headers, json={"listing_id": str(listing.id), "body": "Hello!"}
    )
    cid = started.json()["id"]
    assert (await client.post(f"/api/v1/conversations/{cid}/read", headers=host.headers)).status_code == 200
    handle = dev_server_env.client.get_workflow_handle_for(
        MessageDigestWorkflow.run, digest_workflow_id(cid, host.user.id)
    )
    assert await asyncio.wait_for(handle.result(), timeout=30) == DigestOutcome(sent=0, skipped_as_read=1)
    assert await new_message_emails() == []
