"""Every email, SMS and in-app message the product sends, with its delivery status."""

from enum import StrEnum

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
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
