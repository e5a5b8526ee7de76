"""The per-account SMS cap of a day (issue 12 item 10), counted from the `messages` table, so the
API (refusing codes) and the notifications (leaving SMS out) count the same SMS."""

from __future__ import annotations

import datetime as dt
import math
from uuid import UUID

from models import Message
from models.messages import Channel

DAY = dt.timedelta(days=1)


async def sms_sent_today(user_id: UUID) -> int:
    """SMS of every kind recorded for the account in the last 24 hours."""
    since = dt.datetime.now(dt.UTC) - DAY
    return await Message.count().where(
        (Message.user == user_id) & (Message.channel == Channel.sms) & (Message.created_at > since)
    )


async def seconds_until_next_sms(user_id: UUID) -> int:
    """When the oldest SMS of the last 24 hours stops counting (a 429's Retry-After)."""
    now = dt.datetime.now(dt.UTC)
    oldest = (
        await Message.select(Message.created_at)
        .where((Message.user == user_id) & (Message.channel == Channel.sms) & (Message.created_at > now - DAY))
        .order_by(Message.created_at)
        .first()
    )
    frees_at = (oldest["created_at"] if oldest else now) + DAY
    return max(1, math.ceil((frees_at - now).total_seconds()))
