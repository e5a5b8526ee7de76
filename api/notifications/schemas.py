"""The notification feed's and preferences' response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import msgspec


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
    """The number SMS go to (the profile's phone, once verified); none: no SMS, whatever `sms` says."""


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
