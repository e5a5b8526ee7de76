"""The in-app feed and each user's channels per kind of notification: the queries and the
upserts behind the notification routes. Plain inputs in, rows or `Problem`s out."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from api.errors import Problem, field_errors
from api.notifications.schemas import KindPreference, NotificationPreferences
from api.pagination import keyset
from models import Notification, NotificationPreference, User
from stayflow.rules.notifications import CONFIGURABLE, KINDS, PreferenceChannel, preference_problems, wanted_channels


async def unread_count(user_id: UUID) -> int:
    return int(await Notification.count().where((Notification.user == user_id) & Notification.read_at.is_null()))


async def feed_of(
    user_id: UUID, *, unread_only: bool, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """My notifications, newest first."""
    query = Notification.select().where(Notification.user == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    return await keyset(
        query,
        time_column=Notification.created_at,
        id_column=Notification.id,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )


async def mark_read(user_id: UUID, notification_id: UUID) -> dict[str, Any]:
    mine = (Notification.id == notification_id) & (Notification.user == user_id)
    # Reading twice keeps the first moment it was read.
    await Notification.update({Notification.read_at: dt.datetime.now(dt.UTC)}).where(
        mine & Notification.read_at.is_null()
    )
    row = await Notification.select().where(mine).first()
    if row is None:
        raise Problem(404, "No such notification.")
    return dict(row)


async def mark_all_read(user_id: UUID) -> int:
    """How many were unread until now."""
    marked = (
        await Notification.update({Notification.read_at: dt.datetime.now(dt.UTC)})
        .where((Notification.user == user_id) & Notification.read_at.is_null())
        .returning(Notification.id)
    )
    return len(marked)


async def preferences_of(user_id: UUID) -> NotificationPreferences:
    user = await User.select(User.phone, User.phone_verified_at).where(User.id == user_id).first()
    if user is None:
        raise Problem(404, "No such user.")
    stored = await NotificationPreference.select(
        NotificationPreference.kind, NotificationPreference.channel, NotificationPreference.enabled
    ).where(NotificationPreference.user == user_id)
    choices = {(row["kind"], row["channel"]): row["enabled"] for row in stored}
    items = []
    for kind in CONFIGURABLE:
        channels = wanted_channels(kind, choices)
        items.append(
            KindPreference(
                kind=kind,
                description=KINDS[kind].description,
                email=PreferenceChannel.email in channels,
                sms=PreferenceChannel.sms in channels,
            )
        )
    verified = user["phone_verified_at"] is not None
    return NotificationPreferences(items=items, sms_to=user["phone"] if verified else None)


async def set_preferences(user_id: UUID, changes: dict[str, Any]) -> None:
    """`{kind: {"email"?: bool, "sms"?: bool}}`; every error names its kind and channel (`booking_requested.sms`)."""
    problems = preference_problems(changes)
    if problems:
        raise Problem(422, "; ".join(f"{f}: {m}" for f, m in problems), errors=field_errors(*problems))
    now = dt.datetime.now(dt.UTC)
    async with NotificationPreference._meta.db.transaction():
        for kind, channels in changes.items():
            for channel, enabled in channels.items():
                await NotificationPreference.raw(
                    """INSERT INTO notification_preferences (id, "user", kind, channel, enabled, updated_at)
                       VALUES (gen_random_uuid(), {}, {}, {}, {}, {})
                       ON CONFLICT ("user", kind, channel)
                       DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at""",
                    user_id,
                    kind,
                    channel,
                    enabled,
                    now,
                )
