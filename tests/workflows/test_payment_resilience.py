"""Money after faults (issue 15, items 2 and 6): a host's answer that meets the authorization
still running is judged on where the booking really is, a retry repairs what a kill left half
done, and Stripe's refusals of a request (an unknown payment method, a key still in flight) end
the booking cleanly or are retried, with the real Stripe SDK against the local fake Stripe."""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from models import Booking, LedgerEntry, Payment
from models.identity import Role
from stayflow.providers.payments import PaymentProviderError, payments_for
from stayflow.settings import Settings
from tests.factories import make_booking, make_listing, make_user
from tests.helpers import start_booking
from workers.main import build_worker
from workflows.booking import BookingWorkflow, HostDecision
from workflows.payloads.booking import BookingRef


async def test_an_accept_sent_while_the_card_is_being_held_waits_for_the_hold_and_confirms(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    host = await make_user(role=Role.host)
    listing = await make_listing(host, instant_book=False)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(20), check_out=today + timedelta(22))
    fake_stripe.delay_seconds, fake_stripe.delay_only = 2.0, "/payment_intents"  # a slow authorization
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=False, task_queue=task_queue)
        while await handle.query(BookingWorkflow.phase) != "authorizing":
            await asyncio.sleep(0.05)
        # Before: refused with "this booking is pending_payment, not awaiting the host".
        accepted = await handle.execute_update(BookingWorkflow.decide, HostDecision(True, str(host.id)))
        # The host's retry of the same answer hears the same, and charges nothing more.
        again = await handle.execute_update(BookingWorkflow.decide, HostDecision(True, str(host.id)))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(BookingWorkflow.decide, HostDecision(False, str(host.id)))
        assert "not awaiting the host" in str(refused.value.cause)
        await handle.terminate("test done")  # skip the wait for check-out
    assert accepted == again == "confirmed"
    await booking.refresh()
    assert booking.status == "confirmed"
    assert len(fake_stripe.calls("POST", "/capture")) == 1
    kinds = sorted(e.kind for e in await LedgerEntry.objects())
    assert kinds == ["authorization", "capture"]


async def test_an_unknown_payment_method_fails_the_booking_and_frees_its_nights(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, guest, check_in=today + timedelta(8), check_out=today + timedelta(9), payment_method="pm_made_up"
    )
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        assert await handle.result() == "payment_failed"  # before: the run failed with the nights held
    await booking.refresh()
    assert booking.status == "payment_failed"
    assert "No such PaymentMethod" in (booking.status_reason or "")
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.status == "failed"
    assert await LedgerEntry.count() == 0  # nothing held, nothing recorded
    # The nights are free again: another guest books them.
    other = await make_booking(listing, await make_user(), check_in=booking.check_in, check_out=booking.check_out)
    assert other.id != booking.id


async def test_a_request_whose_key_is_still_in_flight_at_stripe_is_retried_not_refused(
    settings: Settings, fake_stripe: Any
) -> None:
    import msgspec

    payments = payments_for(
        msgspec.structs.replace(settings, stripe_api_key=fake_stripe.api_key, stripe_api_base=fake_stripe.url)
    )
    fake_stripe.delay_seconds = 1.0

    async def hold() -> Any:
        return await payments.authorize(
            amount=5_000,
            currency="EUR",
            payment_method="pm_card_visa",
            idempotency_key="booking-x-authorize",
            metadata={},
        )

    answers: list[Any] = list(await asyncio.gather(hold(), hold(), return_exceptions=True))
    assert sum(isinstance(a, PaymentProviderError) for a in answers) == 1  # 409: Temporal retries it
    assert [r.status for r in fake_stripe.requests if r.status == 409] == [409]
    fake_stripe.delay_seconds = 0
    replay = await hold()  # the retry replays the first answer: one hold at Stripe
    held = next(a for a in answers if not isinstance(a, BaseException))
    assert replay.intent_id == held.intent_id and len(fake_stripe.intents) == 1


async def test_a_retried_capture_writes_the_ledger_row_a_killed_attempt_left_out(
    own_time_skipping_env: Any, stripe_settings: Settings, fake_stripe: Any
) -> None:
    """What a worker killed between the status and its ledger row left (older builds wrote them
    in two statements): the payment `completed`, no capture row. The retry records it, once."""
    listing = await make_listing(instant_book=True)
    booking = await make_booking(
        listing, await make_user(), check_in=dt.date.today() + timedelta(5), check_out=dt.date.today() + timedelta(6)
    )
    activities = PaymentActivities(payments_for(stripe_settings))
    env = ActivityEnvironment(client=own_time_skipping_env.client)  # the capture starts the host's payout
    ref = BookingRef(str(booking.id))
    assert (await env.run(activities.authorize_payment, ref)).outcome == "authorized"
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.intent_id
    # The killed attempt: Stripe captured, the status was written, the ledger row was not.
    key = f"booking-{booking.id}-capture"
    await payments_for(stripe_settings).capture(intent_id=payment.intent_id, idempotency_key=key)
    await Payment.update({Payment.status: "completed"}).where(Payment.id == payment.id)
    await Booking.update({Booking.status: "confirmed"}).where(Booking.id == booking.id)

    for _ in range(2):  # the retry, and one more
        assert await env.run(activities.capture_payment, ref) == booking.total
    rows = await LedgerEntry.objects().where(LedgerEntry.booking == booking.id)
    assert sorted((r.kind, r.amount) for r in rows) == [("authorization", booking.total), ("capture", booking.total)]
    assert len(fake_stripe.calls("POST", "/capture")) == 1


async def test_a_capture_stripe_made_but_nobody_recorded_is_read_back_not_failed(
    own_time_skipping_env: Any, stripe_settings: Settings, fake_stripe: Any
) -> None:
    """The worker died after Stripe captured and before our transaction; Stripe's replay of the
    key has expired (a day later), so it refuses a second capture: the retry asks Stripe instead."""
    listing = await make_listing(instant_book=True)
    booking = await make_booking(
        listing, await make_user(), check_in=dt.date.today() + timedelta(5), check_out=dt.date.today() + timedelta(6)
    )
    activities = PaymentActivities(payments_for(stripe_settings))
    env = ActivityEnvironment(client=own_time_skipping_env.client)  # the capture starts the host's payout
    ref = BookingRef(str(booking.id))
    await env.run(activities.authorize_payment, ref)
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.intent_id
    await payments_for(stripe_settings).capture(intent_id=payment.intent_id, idempotency_key="another-key")

    assert await env.run(activities.capture_payment, ref) == booking.total
    await payment.refresh()
    assert payment.status == "completed"
    assert await LedgerEntry.count().where(LedgerEntry.kind == "capture") == 1
