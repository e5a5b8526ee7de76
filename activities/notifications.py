"""Telling users what happened: the one entry point every event goes through
(`record_notification`), and delivering the messages it records through the providers.

Recording and sending are separate on purpose. An activity that causes an event records its
notification in the database (in-app row, plus one email and one SMS row as the user's
preferences ask), idempotently by the event's dedupe key, and returns the message ids; the
workflow then delivers each message with `NotificationActivities.send_email` (retried with
backoff, see `workflows.messaging`). A provider outage delays a message, it never fails the
process that caused it, and a message already sent is never handed to a provider again.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models import Message, Notification, NotificationPreference, User
from models.messages import Channel, DeliveryStatus
from stayflow.providers import DeliveryError
from stayflow.providers.email import EmailSender, OutgoingEmail
from stayflow.providers.sms import OutgoingSms, SmsSender
from stayflow.rules.notifications import (
    PreferenceChannel,
    kind_named,
    sms_destination_problem,
    sms_text,
    wanted_channels,
)
from stayflow.settings import get_settings
from stayflow.sms_quota import sms_sent_today
from stayflow.templates import Notice, RenderedEmail
from workflows.payloads.notifications import DeliverMessage, DeliverMessages, MessageFailed, NotificationRequest


class NotificationActivities:
    def __init__(self, email_sender: EmailSender, sms_sender: SmsSender) -> None:
        self.email_sender = email_sender
        self.sms_sender = sms_sender

    # Registered as `send_email` since before SMS existed: recorded workflow histories name it.
    @activity.defn(name="send_email")
    async def send_message(self, request: DeliverMessage) -> str:
        """Hand one recorded message (email or SMS, by its channel) to its provider; returns the
        provider's message id."""
        message = await Message.objects().get(Message.id == UUID(request.message_id))
        if message is None:
            raise ApplicationError(f"no message {request.message_id}", non_retryable=True)
        if message.status == DeliveryStatus.sent:
            return str(message.provider_message_id or "")
        if message.channel == Channel.sms and (refusal := await _sms_refusal(message)):
            await _mark_failed(message.id, refusal)  # never handed to the provider
            raise ApplicationError(refusal, type="PermanentDeliveryError", non_retryable=True)
        await Message.update({Message.attempts: Message.attempts + 1}).where(Message.id == message.id)
        provider = self.sms_sender.name if message.channel == Channel.sms else self.email_sender.name
        try:
            if message.channel == Channel.sms:
                provider_id = await self.sms_sender.send(
                    OutgoingSms(message_id=str(message.id), to=message.recipient, body=message.text_body)
                )
            else:
                provider_id = await self.email_sender.send(
                    OutgoingEmail(
                        message_id=str(message.id),
                        to=message.recipient,
                        subject=message.subject,
                        text=message.text_body,
                        html=message.html_body,
                    )
                )
        except DeliveryError as exc:
            await Message.update({Message.last_error: str(exc), Message.provider: provider}).where(
                Message.id == message.id
            )
            if exc.permanent:
                await _mark_failed(message.id, str(exc))
                raise ApplicationError(str(exc), type="PermanentDeliveryError", non_retryable=True) from exc
            raise
        await Message.update(
            {
                Message.status: DeliveryStatus.sent,
                Message.provider: provider,
                Message.provider_message_id: provider_id,
                Message.sent_at: dt.datetime.now(dt.UTC),
                Message.last_error: None,
            }
        ).where(Message.id == message.id)
        return provider_id

    @activity.defn
    async def send_messages(self, request: DeliverMessages) -> int:
        """Hand several recorded messages of one event to their providers in one activity; returns
        how many are sent. A permanent refusal fails that message alone; any other failure is
        raised after the rest were tried, and the retry hands over only what is still unsent, so
        an outage of one provider holds back only its own messages."""
        sent = 0
        transient: Exception | None = None
        given_up = {
            str(row["id"])
            for row in await Message.select(Message.id).where(
                Message.id.is_in([UUID(m) for m in request.message_ids]) & (Message.status == DeliveryStatus.failed)
            )
        }
        for message_id in request.message_ids:
            if message_id in given_up:  # refused for good on an earlier attempt
                continue
            try:
                await self.send_message(DeliverMessage(message_id))
                sent += 1
            except ApplicationError as exc:
                if not exc.non_retryable:
                    transient = exc
            except Exception as exc:  # the provider is down or slow: retried with backoff
                transient = exc
        if transient is not None:
            raise transient
        return sent

    @activity.defn(name="record_notification")
    async def record(self, request: NotificationRequest) -> list[str]:
        """`record_notification` for events that happen outside any process (see `NotifyWorkflow`)."""
        return await record_notification(
            user_id=UUID(request.user_id),
            kind=request.kind,
            dedupe_key=request.dedupe_key,
            notice=Notice(RenderedEmail(request.subject, request.text, request.html), request.short),
            link=request.link,
        )

    @activity.defn
    async def mark_message_failed(self, request: MessageFailed) -> None:
        await _mark_failed(UUID(request.message_id), request.reason)


async def _sms_refusal(message: Message) -> str | None:
    """Checked again as an SMS leaves: the number must still be the account's, and verified (or,
    for a code, the one waiting for it). A number changed since the SMS was recorded gets nothing."""
    user = await User.objects().get(User.id == message.user) if message.user else None
    if user is None or user.phone != message.recipient:
        return "not sent: the number is no longer the account's"
    if kind_named(message.kind).verification_sms:
        return None if user.phone_code_hash is not None else "not sent: no code is waiting for this number"
    return None if user.phone_verified_at is not None else "not sent: the number is not verified"


async def _mark_failed(message_id: UUID, reason: str) -> None:
    await Message.update({Message.status: DeliveryStatus.failed, Message.last_error: reason}).where(
        (Message.id == message_id) & (Message.status != DeliveryStatus.sent)
    )


async def record_notification(
    *, user_id: UUID, kind: str, dedupe_key: str, notice: Notice, link: str = ""
) -> list[str]:
    """Tell one user about one event: the in-app notification always, an email and an SMS as
    their preferences for `kind` ask (security kinds: email always). The SMS is the kind's fixed
    text with `link`, and only to a verified number (`_may_text`); a phone verification code
    goes by SMS alone. Returns the ids of the
    messages to deliver (pass them to `workflows.messaging.deliver_message`/`deliver_in_background`).

    `kind` must be declared in `stayflow.rules.notifications`. `dedupe_key` names the event
    (e.g. `booking_confirmed:<booking id>`): recording it again, from a retried activity or a
    replayed workflow, records nothing new and returns the same ids. The email is keyed by
    `dedupe_key` itself, the SMS by `<dedupe_key>:sms`.
    """
    user = await User.objects().get(User.id == user_id)
    if user is None:
        raise ApplicationError(f"no user {user_id}", non_retryable=True)
    declared = kind_named(kind)
    stored = await NotificationPreference.select(
        NotificationPreference.kind, NotificationPreference.channel, NotificationPreference.enabled
    ).where((NotificationPreference.user == user_id) & (NotificationPreference.kind == kind))
    channels = wanted_channels(kind, {(row["kind"], row["channel"]): row["enabled"] for row in stored})
    if not declared.verification_sms:  # a texted code never shows in the feed
        await Notification.raw(
            """INSERT INTO notifications (id, "user", kind, title, body, link, dedupe_key, created_at)
               VALUES (gen_random_uuid(), {}, {}, {}, {}, {}, {}, now())
               ON CONFLICT (dedupe_key) DO NOTHING""",
            user_id,
            kind,
            notice.email.subject[:300],
            notice.short,
            link,
            dedupe_key,
        )
    keys = {Channel.email: dedupe_key, Channel.sms: f"{dedupe_key}:sms"}
    if PreferenceChannel.email in channels:
        await _record_message(
            user_id=user_id,
            kind=kind,
            channel=Channel.email,
            dedupe_key=keys[Channel.email],
            recipient=user.email,
            subject=notice.email.subject,
            text=notice.email.text,
            html=notice.email.html,
        )
    if PreferenceChannel.sms in channels and user.phone:
        if declared.verification_sms:  # the code, to the number being verified (the API checked it)
            await _record_sms(user_id, kind, keys[Channel.sms], user.phone, notice.short)
        elif await _may_text(user):
            await _record_sms(user_id, kind, keys[Channel.sms], user.phone, sms_text(kind, link))
    # Every message of the event, also those an earlier attempt recorded (preferences may have
    # changed since): whatever attempt's answer the workflow keeps, none is left undelivered.
    recorded = await Message.select(Message.id).where(Message.dedupe_key.is_in(list(keys.values())))
    return sorted(str(row["id"]) for row in recorded)


async def _may_text(user: User) -> bool:
    """SMS go to a verified number in a supported country, and at most so many a day per account
    (issue 12 item 10): nobody can make the platform text a number of their choosing."""
    settings = get_settings()
    if user.phone is None or user.phone_verified_at is None:
        return False
    if sms_destination_problem(user.phone, settings.sms_regions) is not None:
        return False
    return await sms_sent_today(user.id) < settings.sms_per_account_per_day


async def _record_sms(user_id: UUID, kind: str, dedupe_key: str, recipient: str, text: str) -> None:
    await _record_message(
        user_id=user_id,
        kind=kind,
        channel=Channel.sms,
        dedupe_key=dedupe_key,
        recipient=recipient,
        subject="",
        text=text,
        html="",
    )


async def _record_message(
    *, user_id: UUID, kind: str, channel: Channel, dedupe_key: str, recipient: str, subject: str, text: str, html: str
) -> None:
    """One message per `dedupe_key`, however often this runs."""
    await Message.raw(
        """INSERT INTO messages (id, "user", kind, channel, dedupe_key, recipient, subject, text_body, html_body,
                                 status, provider, attempts, created_at)
           VALUES (gen_random_uuid(), {}, {}, {}, {}, {}, {}, {}, {}, 'queued', '', 0, now())
           ON CONFLICT (dedupe_key) DO NOTHING""",
        user_id,
        kind,
        channel,
        dedupe_key,
        recipient,
        subject,
        text,
        html,
    )
