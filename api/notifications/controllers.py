"""The in-app feed (newest first, unread count, mark read) and each user's choice of channels
per kind of notification. Notifications themselves are recorded by the processes
(`activities.notifications.record_notification`), never by these routes."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.notifications import service
from api.notifications.schemas import (
    NotificationPage,
    NotificationPreferences,
    NotificationRead,
    ReadAll,
    notification_read,
)
from api.pagination import DEFAULT_LIMIT, Cursor, Limit
from api.security import CurrentUser


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
        rows, next_cursor = await service.feed_of(request.user.id, unread_only=unread_only, limit=limit, cursor=cursor)
        return NotificationPage(
            items=[notification_read(r) for r in rows],
            next_cursor=next_cursor,
            unread=await service.unread_count(request.user.id),
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
        return notification_read(await service.mark_read(request.user.id, notification_id))

    @post(
        "/read-all", operation_id="markAllNotificationsRead", summary="Mark all my notifications read", status_code=200
    )
    async def mark_all_read(self, request: Request[CurrentUser, Any, Any]) -> ReadAll:
        marked = await service.mark_all_read(request.user.id)
        return ReadAll(marked_read=marked, unread=await service.unread_count(request.user.id))


class NotificationPreferencesController(Controller):
    path = "/api/v1/users/me/notification-preferences"
    tags = ["notifications"]

    @get(operation_id="myNotificationPreferences", summary="Which kinds of notification reach me by email and SMS")
    async def read(self, request: Request[CurrentUser, Any, Any]) -> NotificationPreferences:
        return await service.preferences_of(request.user.id)

    @patch(
        operation_id="updateMyNotificationPreferences",
        summary='Turn email or SMS on or off per kind: {"booking_requested": {"sms": false}}',
    )
    async def update(
        self, request: Request[CurrentUser, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> NotificationPreferences:
        """`{kind: {"email"?: bool, "sms"?: bool}}`; checked by hand so that every error names
        its kind and channel (`booking_requested.sms`)."""
        await service.set_preferences(request.user.id, data)
        return await service.preferences_of(request.user.id)
