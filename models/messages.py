"""Every email, SMS and in-app notification the product sends, with its delivery status, and
each user's choice of channels."""

from enum import StrEnum

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.identity import User


class Channel(StrEnum):
    email = "email"
    sms = "sms"


class DeliveryStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"


class Message(Table, tablename="messages"):
    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.set_null, null=True, index=True)
    kind = Varchar(length=60)
    """What happened, e.g. `password_reset`, `booking_confirmed`."""
    channel = Varchar(length=10, choices=Channel)
    dedupe_key = Varchar(length=300, unique=True)
    """One message per event and channel: a replayed event finds the message already there."""
    recipient = Varchar(length=320)
    subject = Text(default="")
    text_body = Text()
    html_body = Text(default="")
    status = Varchar(length=10, choices=DeliveryStatus, default=DeliveryStatus.queued)
    provider = Varchar(length=20, default="")
    provider_message_id = Varchar(length=200, null=True, default=None)
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class Notification(Table, tablename="notifications"):
    """The in-app feed: one row per event a user was told about, whatever their channels."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=60)
    title = Varchar(length=300)
    body = Text()
    link = Text(default="")
    """Where the event can be seen (an API URL), empty when there is none."""
    dedupe_key = Varchar(length=300, unique=True)
    """The event's key: recording the same event again finds this row."""
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class NotificationPreference(Table, tablename="notification_preferences"):
    """A user's choice for one kind and channel; absent: the kind's default applies."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=60)
    channel = Varchar(length=10, choices=Channel)
    enabled = Boolean()
    updated_at = Timestamptz(default=TimestamptzNow())
