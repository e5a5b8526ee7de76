"""Recording a notification (once per event, channels per preferences) and delivering its SMS
through the real `twilio` SDK against a local fake Twilio: outages are retried, bad numbers and
revoked credentials fail the message for good, and nothing is sent twice."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import NotificationActivities, record_notification
from models import Message, Notification, NotificationPreference, User
from stayflow import templates
from stayflow.providers import DeliveryError
from stayflow.providers.email import OutboxEmailSender
from stayflow.providers.sms import TwilioSmsSender, sms_sender_for
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_user
from tests.fakes.twilio import FakeTwilio
from workers.main import build_worker
from workflows.messaging import DeliverMessageWorkflow, NotifyWorkflow, notify_workflow_id
from workflows.payloads.notifications import DeliverMessage, DeliverMessages, NotificationRequest


def request_notice(title: str = "Cliff cabin") -> templates.Notice:
    return templates.booking_email(
        kind="booking_requested",
        full_name="Grace Hopper",
        title=title,
        check_in="2027-05-01",
        check_out="2027-05-03",
        total=20_000,
        currency="USD",
        booking_url="https://stay.test/b",
    )


async def user_with_phone(phone: str | None = "+14155552671", *, verified: bool = True) -> User:
    user = await make_user()
    await User.update({User.phone: phone, User.phone_verified_at: dt.datetime.now(dt.UTC) if verified else None}).where(
        User.id == user.id
    )
    return user


def twilio_settings(settings: Settings, fake: FakeTwilio) -> Settings:
    return msgspec.structs.replace(
        settings,
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=fake.auth_token,
        twilio_from_number=fake.from_number,
        twilio_api_base=fake.url,
    )


async def record(user: User, key: str = "booking_requested:b1") -> list[str]:
    return await record_notification(
        user_id=user.id, kind="booking_requested", dedupe_key=key, notice=request_notice(), link="https://stay.test/b"
    )


async def test_one_event_records_once_whatever_the_retries() -> None:
    user = await user_with_phone()
    first, second = await record(user), await record(user)
    assert first == second and len(first) == 2
    channels = sorted(m.channel for m in await Message.objects())
    assert channels == ["email", "sms"]
    [sms] = await Message.objects().where(Message.channel == "sms")
    assert sms.recipient == "+14155552671"
    assert (
        sms.text_body == "Stayflow: You have a new booking request. Accept or decline it in time: https://stay.test/b"
    )
    [item] = await Notification.objects()
    assert item.title == "New booking request: Cliff cabin" and item.link == "https://stay.test/b"
    assert item.read_at is None


async def test_channels_follow_preferences_and_the_phone() -> None:
    no_phone = await user_with_phone(None)
    assert len(await record(no_phone, "k1")) == 1  # SMS wanted, but there is no number: email only
    email_off = await user_with_phone()
    await NotificationPreference(user=email_off.id, kind="booking_requested", channel="email", enabled=False).save()
    [only_sms] = await record(email_off, "k2")
    sms = await Message.objects().get(Message.id == uuid.UUID(only_sms))
    assert sms is not None and sms.channel == "sms"
    assert await Notification.count() == 2  # in-app for both, whatever the channels


async def test_no_sms_to_an_unverified_or_unsupported_number_and_email_still_goes() -> None:
    """Issue 12 item 10: SMS went to any number typed into a profile."""
    for user in (
        await user_with_phone(verified=False),
        await user_with_phone("+5511912345678"),  # verified, but Brazil is not in STAYFLOW_SMS_COUNTRIES
    ):
        [email] = await record(user, f"booking_requested:{user.id}")
        stored = await Message.objects().get(Message.id == uuid.UUID(email))
        assert stored is not None and stored.channel == "email"
    assert await Message.count().where(Message.channel == "sms") == 0
    assert await Notification.count() == 2  # the feed too


async def test_an_account_gets_at_most_its_daily_sms_and_then_email_alone(settings: Settings) -> None:
    user = await user_with_phone()
    for n in range(settings.sms_per_account_per_day + 2):
        await record(user, f"booking_requested:b{n}")
    assert await Message.count().where(Message.channel == "sms") == settings.sms_per_account_per_day
    assert await Message.count().where(Message.channel == "email") == settings.sms_per_account_per_day + 2
    # The day rolls on: SMS recorded over 24 hours ago no longer count.
    await Message.update({Message.created_at: dt.datetime.now(dt.UTC) - dt.timedelta(days=1, minutes=1)}).where(
        Message.channel == "sms"
    )
    assert len(await record(user, "booking_requested:later")) == 2


async def test_an_sms_recorded_before_the_number_changed_is_not_sent(
    fake_twilio: FakeTwilio, settings: Settings
) -> None:
    user = await user_with_phone()
    await record(user)
    [sms_row] = await Message.objects().where(Message.channel == "sms")
    await User.update({User.phone: "+14155550123", User.phone_verified_at: None}).where(User.id == user.id)
    activities = NotificationActivities(OutboxEmailSender(), sms_sender_for(twilio_settings(settings, fake_twilio)))
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(activities.send_message, DeliverMessage(str(sms_row.id)))
    assert raised.value.non_retryable
    await sms_row.refresh()
    assert sms_row.status == "failed" and "no longer the account's" in (sms_row.last_error or "")
    assert fake_twilio.received == []


async def test_a_retry_after_a_preference_change_still_returns_what_was_recorded() -> None:
    user = await user_with_phone()
    before = await record(user)
    await NotificationPreference(user=user.id, kind="booking_requested", channel="sms", enabled=False).save()
    assert await record(user) == before  # the SMS already recorded still gets delivered, once


async def test_security_messages_ignore_preferences() -> None:
    user = await user_with_phone()
    for channel in ("email", "sms"):
        await NotificationPreference(user=user.id, kind="password_reset", channel=channel, enabled=False).save()
    notice = templates.password_reset_email(full_name="Ada", reset_url="https://x.test/r", token="t", valid_minutes=30)
    [email] = await record_notification(user_id=user.id, kind="password_reset", dedupe_key="pr:1", notice=notice)
    stored = await Message.objects().get(Message.id == uuid.UUID(email))
    assert stored is not None and stored.channel == "email"


async def test_undeclared_kinds_are_refused() -> None:
    user = await make_user()
    with pytest.raises(ValueError, match="unknown notification kind"):
        await record_notification(user_id=user.id, kind="booking_teleported", dedupe_key="x", notice=request_notice())


async def test_twilio_outage_is_retryable_then_the_sms_goes_out_once(
    settings: Settings, fake_twilio: FakeTwilio
) -> None:
    user = await user_with_phone()
    ids = await record(user)
    [sms_row] = await Message.objects().where(Message.channel == "sms")
    assert str(sms_row.id) in ids
    sender = sms_sender_for(twilio_settings(settings, fake_twilio))
    assert isinstance(sender, TwilioSmsSender)
    activities = NotificationActivities(OutboxEmailSender(), sender)
    fake_twilio.fail_next = 2
    env = ActivityEnvironment()
    for _ in range(2):
        with pytest.raises(DeliveryError, match="503"):
            await env.run(activities.send_message, DeliverMessage(str(sms_row.id)))
    await sms_row.refresh()
    assert sms_row.status == "queued" and sms_row.attempts == 2
    provider_id = await env.run(activities.send_message, DeliverMessage(str(sms_row.id)))
    again = await env.run(activities.send_message, DeliverMessage(str(sms_row.id)))
    assert provider_id == again and provider_id.startswith("SM")
    [delivered] = fake_twilio.delivered
    assert delivered.sid == provider_id and delivered.to == "+14155552671" and len(fake_twilio.received) == 3
    await sms_row.refresh()
    assert sms_row.status == "sent" and sms_row.provider == "twilio" and sms_row.provider_message_id == provider_id


@pytest.mark.parametrize(
    ("phone", "token", "error"),
    [("+14155550199", None, "21610"), ("+14155552671", "revoked-token", "401")],
    ids=["number-twilio-refuses", "revoked-credentials"],
)
async def test_permanent_twilio_errors_fail_the_message_without_retries(
    settings: Settings, fake_twilio: FakeTwilio, phone: str, token: str | None, error: str
) -> None:
    fake_twilio.unsubscribed.add("+14155550199")
    user = await user_with_phone(phone)
    await record(user)
    [sms_row] = await Message.objects().where(Message.channel == "sms")
    configured = twilio_settings(settings, fake_twilio)
    if token:
        configured = msgspec.structs.replace(configured, twilio_auth_token=token)
    activities = NotificationActivities(OutboxEmailSender(), sms_sender_for(configured))
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(activities.send_message, DeliverMessage(str(sms_row.id)))
    assert raised.value.non_retryable and error in str(raised.value)
    await sms_row.refresh()
    assert sms_row.status == "failed" and error in (sms_row.last_error or "")
    assert fake_twilio.delivered == []


async def test_delivery_workflow_waits_out_a_twilio_outage(
    time_skipping_env: Any, settings: Settings, task_queue: str, fake_twilio: FakeTwilio
) -> None:
    user = await user_with_phone()
    await record(user)
    [sms_row] = await Message.objects().where(Message.channel == "sms")
    fake_twilio.fail_next = 4
    async with build_worker(time_skipping_env.client, twilio_settings(settings, fake_twilio), task_queue=task_queue):
        delivered = await time_skipping_env.client.execute_workflow(
            DeliverMessageWorkflow.run,
            DeliverMessage(str(sms_row.id)),
            id=f"deliver-message-{sms_row.id}",
            task_queue=task_queue,
        )
    assert delivered is True
    assert len(fake_twilio.received) == 5 and len(fake_twilio.delivered) == 1
    await sms_row.refresh()
    assert sms_row.status == "sent" and sms_row.attempts == 5


async def test_notify_workflow_records_and_delivers_an_api_event_once(
    time_skipping_env: Any,
    settings: Settings,
    task_queue: str,
    fake_twilio: FakeTwilio,
    record_history: RecordHistory,
) -> None:
    user = await user_with_phone()
    notice = templates.booking_email(
        kind="booking_cancelled_host",
        full_name="Grace Hopper",
        title="Dune shack",
        check_in="2027-05-01",
        check_out="2027-05-03",
        total=20_000,
        currency="USD",
        reason="guest's plans changed",
        booking_url="https://stay.test/b",
    )
    request = NotificationRequest.of(
        user_id=user.id, kind="booking_cancelled_host", dedupe_key="event-1", notice=notice
    )
    fake_twilio.fail_next = 2
    async with build_worker(time_skipping_env.client, twilio_settings(settings, fake_twilio), task_queue=task_queue):
        handle = await time_skipping_env.client.start_workflow(
            NotifyWorkflow.run, request, id=notify_workflow_id("event-1"), task_queue=task_queue
        )
        assert await handle.result() == 2  # the email (outbox) and the SMS (Twilio, after the outage)
        again = await time_skipping_env.client.execute_workflow(
            NotifyWorkflow.run, request, id=f"{notify_workflow_id('event-1')}-again", task_queue=task_queue
        )
        assert again == 2  # a second start for the same event finds both messages sent
        await record_history(time_skipping_env, handle.id, "notify_with_sms_outage")
    assert len(fake_twilio.delivered) == 1 and len(fake_twilio.received) == 3
    assert await Notification.count() == 1 and await Message.count() == 2
    [item] = await Notification.objects()
    assert item.kind == "booking_cancelled_host" and "guest's plans changed" in item.body


async def test_repeatable_booking_events_are_told_once_per_occurrence(settings: Settings) -> None:
    from activities.bookings import BookingActivities
    from tests.factories import make_booking, make_listing
    from workflows.payloads.booking import BookingNotice

    listing = await make_listing(title="Dune shack")
    guest = await make_user()
    booking = await make_booking(listing, guest, check_in=dt.date(2027, 6, 1), check_out=dt.date(2027, 6, 4))
    activities = BookingActivities(settings)
    env = ActivityEnvironment()
    first = await env.run(activities.notify, BookingNotice(str(booking.id), "booking_modified", "Dates moved.", "m1"))
    retried = await env.run(activities.notify, BookingNotice(str(booking.id), "booking_modified", "Dates moved.", "m1"))
    second = await env.run(activities.notify, BookingNotice(str(booking.id), "booking_modified", "One more.", "m2"))
    to_host = await env.run(activities.notify, BookingNotice(str(booking.id), "booking_modified_host", "", "m2"))
    assert first == retried and first != second
    items = await Notification.objects().order_by(Notification.created_at)
    assert [(i.user, i.kind) for i in items] == [
        (guest.id, "booking_modified"),
        (guest.id, "booking_modified"),
        (listing.host, "booking_modified_host"),
    ]
    assert "changed. Dates moved. The stay now costs EUR 443.20 in all." in items[0].body  # 3 nights, cleaning, 12% fee
    assert "changed. It is now from 2027-06-01 to 2027-06-04." in items[2].body  # none: the booking's dates
    assert len(to_host) == 1 and await Message.count() == 3


async def test_one_activity_delivers_an_events_messages_and_a_refused_one_does_not_hold_back_the_rest(
    settings: Settings, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.unsubscribed.add("+14155550199")
    refused = await user_with_phone("+14155550199")  # a number Twilio refuses for good
    reachable = await user_with_phone()
    ids = await record(refused, key="booking_requested:b1") + await record(reachable, key="booking_requested:b2")
    activities = NotificationActivities(OutboxEmailSender(), sms_sender_for(twilio_settings(settings, fake_twilio)))
    sent = await ActivityEnvironment().run(activities.send_messages, DeliverMessages(ids))
    assert sent == 3  # two emails and the reachable user's SMS
    statuses = {(m.recipient, m.channel): m.status for m in await Message.objects()}
    assert statuses[("+14155550199", "sms")] == "failed" and statuses[("+14155552671", "sms")] == "sent"
    # A retry (as after a crash) sends nothing twice and does not knock on the refused number again.
    assert await ActivityEnvironment().run(activities.send_messages, DeliverMessages(ids)) == 3
    assert len(fake_twilio.delivered) == 1 and len(fake_twilio.received) == 2
