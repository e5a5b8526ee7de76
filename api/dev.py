"""Developer conveniences that exist only outside production: the local email/SMS outbox."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import msgspec
import phonenumbers
from litestar import Controller, get
from litestar.params import QueryParameter

from api.pagination import DEFAULT_LIMIT, Limit
from models import Message


class OutboxMessage(msgspec.Struct):
    id: UUID
    kind: str
    channel: str
    to: str
    subject: str
    text: str
    html: str
    status: str
    provider_message_id: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


class OutboxPage(msgspec.Struct):
    items: list[OutboxMessage]


def outbox_recipient(to: str) -> str:
    """An email as stored (lower case), a phone number in E.164. In a query string a raw `+` is a
    space, so `?to=+14155550100` typed into curl arrives as ` 14155550100`: the number is meant."""
    value = to.strip()
    if "@" in value:
        return value.lower()
    try:
        number = phonenumbers.parse("+" + value.removeprefix("+"), None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class DevOutboxController(Controller):
    path = "/api/v1/dev/outbox"
    tags = ["dev"]

    @get(
        operation_id="devOutbox",
        summary="Messages the local fake providers delivered (newest first)",
        exclude_from_auth=True,
    )
    async def outbox(
        self,
        to: Annotated[str | None, QueryParameter(description="Only messages to this address or number")] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> OutboxPage:
        query = Message.objects().where(Message.provider == "outbox").order_by(Message.created_at, ascending=False)
        if to:
            query = query.where(Message.recipient == outbox_recipient(to))
        rows = await query.limit(limit)
        return OutboxPage(
            items=[
                OutboxMessage(
                    id=m.id,
                    kind=m.kind,
                    channel=m.channel,
                    to=m.recipient,
                    subject=m.subject,
                    text=m.text_body,
                    html=m.html_body,
                    status=m.status,
                    provider_message_id=m.provider_message_id,
                    created_at=m.created_at,
                    sent_at=m.sent_at,
                )
                for m in rows
            ]
        )
