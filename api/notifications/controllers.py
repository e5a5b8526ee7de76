"""The in-app feed (newest first, unread count, mark read) and each user's choice of channels
per kind of notification. Notifications themselves are recorded by the processes
(`activities.notifications.record_notification`), never by these routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.errors import Problem, field_errors
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, keyset
from api.security import CurrentUser
from models import Notification, NotificationPreference, User
from stayflow.rules.notifications import CONFIGURABLE, KINDS, PreferenceChannel, preference_problems, wanted_channels


class NotificationRead(msgspec.Struct):
    id: UUID
    kind: str
    title: str
    body: str
    link: str
    """Where to see what happened (empty when there is nothing to open)."""
    read: bool
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(msgspec.Struct):
    items: list[NotificationRead]
    next_cursor: str | None
    unread: int
    """How many of my notifications are unread (all of them, not only this page's)."""


class ReadAll(msgspec.Struct):
    marked_read: int
    unread: int


class KindPreference(msgspec.Struct):
    kind: str
    description: str
    email: bool
    sms: bool
    in_app: bool = True


class NotificationPreferences(msgspec.Struct):
    items: list[KindPreference]
    sms_to: str | None
    """The number SMS go to (the profile's phone); none set: no SMS, whatever `sms` says."""


def notification_read(row: dict[str, Any]) -> NotificationRead:
    return NotificationRead(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        link=row["link"],
        read=row["read_at"] is not None,
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


async def unread_count(user_id: UUID) -> int:
    return int(await Notification.count().where((Notification.user == user_id) & Notification.read_at.is_null()))


class NotificationsController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get(operation_id="myNotifications", summary="My in-app notifications, newest first, with the unread count")
    async def feed(
        self,
        request: Request[CurrentUser, Any, Any],
        unread_only: Annotated[bool, QueryParameter(name="unread", description="Only unread ones")] = False,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> NotificationPage:
        query = Notification.select().where(Notification.user == request.user.id)
        if unread_only:
            query = query.where(Notification.read_at.is_null())
        rows, next_cursor = await keyset(
            query,
            time_column=Notification.created_at,
            id_column=Notification.id,
            limit=limit,
            cursor=cursor,
            newest_first=True,
        )
        return NotificationPage(
            items=[notification_read(r) for r in rows],
            next_cursor=next_cursor,
            unread=await unread_count(request.user.id),
        )

    @post(
        "/{notification_id:uuid}/read",
        operation_id="markNotificationRead",
        summary="Mark one of my notifications read",
        status_code=200,
    )
    async def mark_read(
        self, request: Request[CurrentUser, Any, Any], notification_id: FromPath[UUID]
    ) -> NotificationRead:
        mine = (Notification.id == notification_id) & (Notification.user == request.user.id)
        # Reading twice keeps the first moment it was read.
        await Notification.update({Notification.read_at: dt.datetime.now(dt.UTC)}).where(
            mine & Notification.read_at.is_null()
        )
        row = await Notification.select().where(mine).first()
        if row is None:
            raise Problem(404, "No such notification.")
        return notification_read(row)

    @post(
        "/read-all", operation_id="markAllNotificationsRead", summary="Mark all my notifications read", status_code=200
    )
    async def mark_all_read(self, request: Request[CurrentUser, Any, Any]) -> ReadAll:
        marked = (
            await Notification.update({Notification.read_at: dt.datetime.now(dt.UTC)})
            .where((Notification.user == request.user.id) & Notification.read_at.is_null())
            .returning(Notification.id)
        )
        return ReadAll(marked_read=len(marked), unread=await unread_count(request.user.id))


async def preferences_of(user_id: UUID) -> NotificationPreferences:
    user = await User.select(User.phone).where(User.id == user_id).first()
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
    return NotificationPreferences(items=items, sms_to=user["phone"])


class NotificationPreferencesController(Controller):
    path = "/api/v1/users/me/notification-preferences"
    tags = ["notifications"]

    @get(operation_id="myNotificationPreferences", summary="Which kinds of notification reach me by email and SMS")
    async def read(self, request: Request[CurrentUser, Any, Any]) -> NotificationPreferences:
        return await preferences_of(request.user.id)

    @patch(
        operation_id="updateMyNotificationPreferences",
        summary='Turn email or SMS on or off per kind: {"booking_requested": {"sms": false}}',
    )
    async def update(
        self, request: Request[CurrentUser, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> NotificationPreferences:
        """`{kind: {"email"?: bool, "sms"?: bool}}`; checked by hand so that every error names
        its kind and channel (`booking_requested.sms`)."""
        changes: dict[str, Any] = data
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
                        request.user.id,
                        kind,
                        channel,
                        enabled,
                        now,
                    )
        return await preferences_of(request.user.id)
