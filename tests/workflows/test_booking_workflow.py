"""BookingWorkflow on the time-skipping server: host response window, 3-D Secure deadline,
Stripe outages, check-out, with the real Stripe SDK against the local fake Stripe."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from datetime import timedelta
from typing import Any

from temporalio.service import RPCError

from models import Booking, LedgerEntry, Message, Payment
from models.identity import Role
from stayflow.rules.stays import UTC_CLOCK, StayClock
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_booking, make_listing, make_user
from workers.main import build_worker
from workflows.booking import BookingRequest, BookingWorkflow, HostDecision, booking_workflow_id


async def start(
    env: Any,
    booking: Booking,
    *,
    instant: bool,
    task_queue: str,
    clock: StayClock = UTC_CLOCK,
    host_response_hours: int = 24,
) -> Any:
    """Start the booking's run as the API does: check-in/out as instants on the listing's clock."""
    return await env.client.start_workflow(
        BookingWorkflow.run,
        BookingRequest(
            booking_id=str(booking.id),
            listing_id=str(booking.listing),
            guest_id=str(booking.guest),
            host_id=str(booking.host),
            check_in=booking.check_in.isoformat(),
            check_out=booking.check_out.isoformat(),
            instant_book=instant,
            host_response_hours=host_response_hours,
            payment_authentication_minutes=15,
            total=booking.total,
            check_in_at=clock.night_starts(booking.check_in).isoformat(),
            check_out_at=clock.stay_ends(booking.check_out).isoformat(),
        ),
        id=booking_workflow_id(booking.id),
        task_queue=task_queue,
    )


async def until_confirmed(env: Any, handle: Any) -> None:
    while await handle.query(BookingWorkflow.status) != "confirmed":
        await env.sleep(timedelta(seconds=1))


async def deliveries_done(env: Any, timeout: float = 20) -> None:
    """Booking messages are delivered by the booking's own run (wait for them to be sent);
    cancellation ones by children (wait for those)."""
    deadline = time.monotonic() + timeout
    for message in await Message.objects():
        if message.status == "sent":
            continue
        try:
            delivered = await env.client.get_workflow_handle(f"deliver-message-{message.id}").result()
            assert delivered is True
        except RPCError:  # no such child: the booking's run delivers it itself
            while message.status != "sent":
                assert time.monotonic() < deadline, f"{message.kind} stayed {message.status}"
                await asyncio.sleep(0.1)
                await message.refresh()


async def status(booking: Booking) -> str:
    await booking.refresh()
    return str(booking.status)


async def test_no_answer_in_24_hours_expires_and_voids(
    own_time_skipping_env: Any,
    stripe_settings: Settings,
    task_queue: str,
    fake_stripe: Any,
    record_history: RecordHistory,
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=False)
    guest = await make_user(email="guest@example.com")
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(30), check_out=today + timedelta(33))
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=False, task_queue=task_queue)
        await env.sleep(timedelta(hours=23))
        assert await handle.query(BookingWorkflow.status) == "awaiting_host"
        assert await handle.result() == "expired"
        await deliveries_done(env)
        await record_history(env, handle.id, "booking_request_expired")
    assert await status(booking) == "expired"
    assert len(fake_stripe.calls("POST", "/cancel")) == 1 and fake_stripe.calls("POST", "/capture") == []
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.status == "voided"
    kinds = {m.kind for m in await Message.objects()}
    assert {"booking_requested", "booking_expired"} <= kinds


async def test_instant_book_confirms_then_completes_after_check_out(
    own_time_skipping_env: Any,
    stripe_settings: Settings,
    task_queue: str,
    fake_stripe: Any,
    record_history: RecordHistory,
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(3), check_out=today + timedelta(5))
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=True, task_queue=task_queue)
        assert await handle.result() == "completed"  # the time-skipping server jumps to check-out
        await deliveries_done(env)
        steps = [s.step for s in await handle.query(BookingWorkflow.timeline)]
        reviews = await env.client.get_workflow_handle(f"review-reminders-{booking.id}").describe()
        assert reviews.workflow_type == "ReviewReminderWorkflow"  # check-out opens the review window
        await record_history(env, handle.id, "booking_instant_to_completed")
    assert steps[0] == "requested" and steps.index("confirmed") < steps.index("completed")
    assert await status(booking) == "completed"
    assert len(fake_stripe.calls("POST", "/capture")) == 1


async def test_stripe_outage_during_capture_is_retried_and_captures_once(
    own_time_skipping_env: Any,
    stripe_settings: Settings,
    task_queue: str,
    fake_stripe: Any,
    record_history: RecordHistory,
) -> None:
    env = own_time_skipping_env
    host = await make_user(role=Role.host)
    listing = await make_listing(host, instant_book=False)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(20), check_out=today + timedelta(22))
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=False, task_queue=task_queue)
        while await handle.query(BookingWorkflow.status) != "awaiting_host":
            await env.sleep(timedelta(seconds=1))
        fake_stripe.fail_next = 4  # Stripe answers 500 four times
        assert await handle.execute_update(BookingWorkflow.decide, HostDecision(True, str(host.id))) == "confirmed"
        await deliveries_done(env)
        await record_history(env, f"payment-capture-{booking.id}", "payment_capture_after_an_outage")
        await handle.terminate("test done")  # skip the wait for check-out
    captures = [r for r in fake_stripe.requests if r.path.endswith("/capture")]
    assert [r.status for r in captures] == [500, 500, 500, 500, 200]
    assert {r.idempotency_key for r in captures} == {f"booking-{booking.id}-capture"}
    assert [e.kind for e in await LedgerEntry.objects().order_by(LedgerEntry.created_at)] == [
        "authorization",
        "capture",
    ]


async def test_3d_secure_not_completed_in_15_minutes_fails_the_booking(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing,
        guest,
        check_in=today + timedelta(8),
        check_out=today + timedelta(9),
        payment_method="pm_card_authenticationRequired",
    )
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=True, task_queue=task_queue)
        assert await handle.result() == "payment_failed"
        await deliveries_done(env)
    await booking.refresh()
    assert booking.status == "payment_failed" and "not authenticated" in (booking.status_reason or "")
    [intent] = fake_stripe.intents.values()
    assert intent["status"] == "canceled"  # the abandoned attempt cannot be completed later
    assert fake_stripe.calls("POST", "/capture") == []


def cancellation(booking: Booking, by: str, refund: int, captured: bool = False) -> Any:
    from workflows.cancellation import CancellationRequest

    lines = [{"description": "Refund of nights", "amount": refund}] if refund else []
    return CancellationRequest(
        captured=captured,
        booking_id=str(booking.id),
        cancelled_by=by,
        reason="Plans changed",
        refund=refund,
        lines=lines,
    )


async def test_cancel_while_the_card_is_being_authenticated_voids_it(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing,
        guest,
        check_in=today + timedelta(8),
        check_out=today + timedelta(9),
        payment_method="pm_card_authenticationRequired",
    )
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=True, task_queue=task_queue)
        while "authentication_required" not in [s.step for s in await handle.query(BookingWorkflow.timeline)]:
            await env.sleep(timedelta(seconds=1))
        assert await handle.execute_update(BookingWorkflow.cancel, cancellation(booking, "guest", 0)) == "cancelling"
        assert await handle.result() == "cancelled"
        await deliveries_done(env)
    assert await status(booking) == "cancelled"
    assert fake_stripe.calls("POST", "/capture") == [] and fake_stripe.calls("POST", "/v1/refunds") == []
    assert await LedgerEntry.count() == 0  # nothing was ever held, nothing to record
    [intent] = fake_stripe.intents.values()
    assert intent["status"] == "canceled"  # a late 3-D Secure confirmation can no longer hold money
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.status == "voided" and payment.client_secret is None


async def test_cancel_during_the_stay_refunds_what_was_decided_and_ends_the_run(
    own_time_skipping_env: Any,
    stripe_settings: Settings,
    task_queue: str,
    fake_stripe: Any,
    record_history: RecordHistory,
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, guest, check_in=today + timedelta(1), check_out=today + timedelta(6), total=50_000
    )
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=True, task_queue=task_queue)
        while await handle.query(BookingWorkflow.status) != "confirmed":
            await env.sleep(timedelta(seconds=1))
        await env.sleep(timedelta(days=2))  # the guest is two nights into the stay
        assert await handle.query(BookingWorkflow.status) == "confirmed"
        from temporalio.client import WorkflowUpdateFailedError
        from temporalio.service import RPCError

        try:  # a refund decided as if nothing had been captured is refused, not guessed at
            await handle.execute_update(BookingWorkflow.cancel, cancellation(booking, "guest", 0, captured=False))
            raise AssertionError("a cancellation decided on a stale payment status was accepted")
        except (WorkflowUpdateFailedError, RPCError):  # the test server reports a rejection as not found
            pass
        cancel = cancellation(booking, "guest", 15_000, captured=True)
        assert await handle.execute_update(BookingWorkflow.cancel, cancel) == "cancelling"
        try:
            await handle.execute_update(BookingWorkflow.cancel, cancel)
            raise AssertionError("a second cancellation was accepted")
        except (WorkflowUpdateFailedError, RPCError):
            pass
        assert await handle.result() == "cancelled"  # it no longer waits for check-out
        await deliveries_done(env)
        await record_history(env, handle.id, "booking_cancelled_during_stay")
        await record_history(env, f"cancellation-{booking.id}", "cancellation_refund_during_stay")
        [told] = await Message.objects().where(Message.kind == "booking_cancelled")
        await record_history(env, f"deliver-message-{told.id}", "deliver_message_of_a_cancellation")
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "15000"
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.status == "partially_refunded"
    ledger = [(e.kind, e.amount) for e in await LedgerEntry.objects().order_by(LedgerEntry.created_at)]
    assert ledger == [("authorization", 50_000), ("capture", 50_000), ("refund", 15_000)]


async def test_a_cancellation_during_the_capture_is_taken_once_the_money_is_in_not_refused(
    own_time_skipping_env: Any,
    stripe_settings: Settings,
    task_queue: str,
    fake_stripe: Any,
    record_history: RecordHistory,
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, await make_user(), check_in=today + timedelta(10), check_out=today + timedelta(12), total=40_000
    )
    fake_stripe.fail_only, fake_stripe.fail_next = "/capture", 100_000  # Stripe is down while capturing
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=True, task_queue=task_queue)
        while not [r for r in fake_stripe.requests if r.path.endswith("/capture")]:
            await asyncio.sleep(0.05)
        assert await handle.query(BookingWorkflow.phase) == "capturing"
        # The guest cancels now (the API decided the refund on the payment it is about to become).
        cancel = asyncio.create_task(
            handle.execute_update(BookingWorkflow.cancel, cancellation(booking, "guest", 40_000, captured=True))
        )
        await asyncio.sleep(1)
        assert not cancel.done()  # neither refused nor taken while the money is moving
        fake_stripe.fail_next = 0  # Stripe is back: the capture goes through, then the cancellation
        assert await handle.result() == "cancelled"  # (waiting for the result lets the server skip time)
        assert await cancel == "cancelling"
        await deliveries_done(env)
        await record_history(env, handle.id, "booking_cancelled_during_capture")
        steps = [s.step for s in await handle.query(BookingWorkflow.timeline)]
    assert steps.index("payment_captured") < steps.index("cancelled")
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "40000"
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.status == "refunded"
    assert await status(booking) == "cancelled"


async def test_the_host_cannot_accept_once_the_request_has_expired(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    env = own_time_skipping_env
    host = await make_user(role=Role.host)
    listing = await make_listing(host, instant_book=False)
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, await make_user(), check_in=today + timedelta(30), check_out=today + timedelta(32)
    )
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=False, task_queue=task_queue)
        assert await handle.result() == "expired"
        refused = False
        try:
            await handle.execute_update(BookingWorkflow.decide, HostDecision(True, str(host.id)))
        except (WorkflowUpdateFailedError, RPCError):
            refused = True
        assert refused, "a decision on an expired request was accepted"
        await deliveries_done(env)
    assert fake_stripe.calls("POST", "/capture") == []


async def test_a_capture_stripe_refuses_fails_the_booking_and_frees_the_dates(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, await make_user(), check_in=today + timedelta(5), check_out=today + timedelta(7)
    )
    fake_stripe.fail_only, fake_stripe.fail_status, fake_stripe.fail_next = "/capture", 400, 1  # hold expired
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start(env, booking, instant=True, task_queue=task_queue)
        assert await handle.result() == "payment_failed"
        await deliveries_done(env)
    await booking.refresh()
    assert booking.status == "payment_failed" and "could not be captured" in (booking.status_reason or "")
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.status == "voided"
    assert len([r for r in fake_stripe.requests if r.path.endswith("/capture")]) == 1  # refused: not retried
