"""Delivering messages through the providers. Each call is idempotent: a message already
sent is never handed to the provider again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models import Message
from models.messages import Channel, DeliveryStatus
from stayflow.providers.email import DeliveryError, EmailSender, OutgoingEmail
from stayflow.templates import RenderedEmail


@dataclass(frozen=True)
class DeliverMessage:
    message_id: str


@dataclass(frozen=True)
class MessageFailed:
    message_id: str
    reason: str


class NotificationActivities:
    def __init__(self, email_sender: EmailSender) -> None:
        self.email_sender = email_sender

    @activity.defn
    async def send_email(self, request: DeliverMessage) -> str:
        """Hand one recorded email to the provider; returns the provider's message id."""
        message = await Message.objects().get(Message.id == UUID(request.message_id))
        if message is None:
            raise ApplicationError(f"no message {request.message_id}", non_retryable=True)
        if message.status == DeliveryStatus.sent:
            return str(message.provider_message_id or "")
        await Message.update({Message.attempts: Message.attempts + 1}).where(Message.id == message.id)
        email = OutgoingEmail(
            message_id=str(message.id),
            to=message.recipient,
            subject=message.subject,
            text=message.text_body,
            html=message.html_body,
        )
        try:
            provider_id = await self.email_sender.send(email)
        except DeliveryError as exc:
            await Message.update({Message.last_error: str(exc), Message.provider: self.email_sender.name}).where(
                Message.id == message.id
            )
            if exc.permanent:
                await _mark_failed(message.id, str(exc))
                raise ApplicationError(str(exc), type="PermanentDeliveryError", non_retryable=True) from exc
            raise
        await Message.update(
            {
                Message.status: DeliveryStatus.sent,
                Message.provider: self.email_sender.name,
                Message.provider_message_id: provider_id,
                Message.sent_at: dt.datetime.now(dt.UTC),
                Message.last_error: None,
            }
        ).where(Message.id == message.id)
        return provider_id

    @activity.defn
    async def mark_message_failed(self, request: MessageFailed) -> None:
        await _mark_failed(UUID(request.message_id), request.reason)


async def _mark_failed(message_id: UUID, reason: str) -> None:
    await Message.update({Message.status: DeliveryStatus.failed, Message.last_error: reason}).where(
        (Message.id == message_id) & (Message.status != DeliveryStatus.sent)
    )


async def record_email(*, user_id: UUID, recipient: str, kind: str, dedupe_key: str, email: RenderedEmail) -> str:
    """Record an email to send (once per `dedupe_key`, however often this runs); returns its id."""
    rows = await Message.raw(
        """INSERT INTO messages (id, "user", kind, channel, dedupe_key, recipient, subject, text_body, html_body,
                                 status, provider, attempts, created_at)
           VALUES (gen_random_uuid(), {}, {}, {}, {}, {}, {}, {}, {}, 'queued', '', 0, now())
           ON CONFLICT (dedupe_key) DO UPDATE SET dedupe_key = EXCLUDED.dedupe_key
           RETURNING id""",
        user_id, kind, Channel.email, dedupe_key, recipient, email.subject, email.text, email.html,
    )  # fmt: skip
    return str(rows[0]["id"])
