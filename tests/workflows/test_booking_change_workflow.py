"""Changes of a running booking on the time-skipping server: a change nobody answers lapses after
the host response window, and after a change the stay ends on its new check-out."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from models import Booking, BookingChange, Message
from stayflow.rules.stays import UTC_CLOCK
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_booking, make_change, make_listing, make_user
from tests.helpers import booking_status, deliveries_done, start_booking, until_confirmed
from workers.main import build_worker
from workflows.booking import BookingWorkflow, ChangeRequest, HostDecision
from workflows.cancellation import CancellationRequest


def change_request(booking: Booking, check_in: dt.date, check_out: dt.date, *, needs_host: bool) -> ChangeRequest:
    return ChangeRequest(
        booking_id=str(booking.id),
        number=1,
        guest_id=str(booking.guest),
        check_in=check_in.isoformat(),
        check_out=check_out.isoformat(),
        needs_host=needs_host,
        summary=f"Now {check_in} to {check_out}.",
        check_in_at=UTC_CLOCK.night_starts(check_in).isoformat(),
        check_out_at=UTC_CLOCK.stay_ends(check_out).isoformat(),
    )


async def test_a_change_the_host_does_not_answer_lapses_and_the_stay_keeps_its_dates(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=False)
    guest = await make_user(email="guest@example.com")
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(10), check_out=today + timedelta(12))
    new_in, new_out = today + timedelta(10), today + timedelta(14)
    await make_change(booking, check_in=new_in, check_out=new_out, total=booking.total * 2)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=False, task_queue=task_queue)
        while await handle.query(BookingWorkflow.status) != "awaiting_host":
            await env.sleep(timedelta(seconds=1))
        await handle.execute_update(BookingWorkflow.decide, HostDecision(True, str(listing.host)))
        asked = await handle.execute_update(
            BookingWorkflow.modify, change_request(booking, new_in, new_out, needs_host=True)
        )
        assert asked.status == "awaiting_host"
        await env.sleep(timedelta(hours=25))  # past the host response window
        [change] = await BookingChange.objects()
        assert change.status == "expired"
        assert await handle.result() == "completed"
        await deliveries_done(env)
        steps = {s.step: s.at for s in await handle.query(BookingWorkflow.timeline)}
    assert "change_expired" in steps
    assert dt.datetime.fromisoformat(steps["completed"]).date() == today + timedelta(12)  # the old check-out
    assert str((await Booking.objects().get(Booking.id == booking.id)).check_out) == str(today + timedelta(12))  # type: ignore[union-attr]
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1  # nothing was charged for the change
    kinds = {m.kind for m in await Message.objects()}
    assert {"change_requested_host", "change_expired"} <= kinds


async def test_after_a_change_the_stay_completes_on_its_new_check_out(
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
    new_in, new_out = today + timedelta(4), today + timedelta(9)
    await make_change(booking, check_in=new_in, check_out=new_out, total=booking.total + 20_000)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        await until_confirmed(env, handle)
        outcome = await handle.execute_update(
            BookingWorkflow.modify, change_request(booking, new_in, new_out, needs_host=False)
        )
        assert outcome.status == "applied"
        assert await handle.result() == "completed"
        await deliveries_done(env)
        steps = {s.step: s.at for s in await handle.query(BookingWorkflow.timeline)}
        await record_history(env, handle.id, "booking_changed_then_completed")
        await record_history(env, f"booking-change-{booking.id}-1", "booking_change_costing_more")
    assert dt.datetime.fromisoformat(steps["completed"]) >= dt.datetime.combine(new_out, dt.time(11), tzinfo=dt.UTC)
    assert await booking_status(booking) == "completed"
    await booking.refresh()
    assert (booking.check_in, booking.check_out) == (new_in, new_out)
    captures = fake_stripe.calls("POST", "/capture")
    assert [c.idempotency_key for c in captures] == [
        f"booking-{booking.id}-capture",
        f"booking-{booking.id}-change-1-capture",
    ]


async def test_a_cancellation_decided_before_a_change_is_refused_after_it(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(10), check_out=today + timedelta(12))
    new_in, new_out = today + timedelta(10), today + timedelta(13)
    await make_change(booking, check_in=new_in, check_out=new_out, total=booking.total + 10_000)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        await until_confirmed(env, handle)
        change = change_request(booking, new_in, new_out, needs_host=False)
        applied = await handle.execute_update(
            BookingWorkflow.modify, dataclasses.replace(change, total=booking.total + 10_000)
        )
        assert applied.status == "applied"
        stale = CancellationRequest(str(booking.id), "host", "Pipes burst", booking.total, [], True, booking.total)
        with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # decided on the total before the change
            await handle.execute_update(BookingWorkflow.cancel, stale)
        fresh = dataclasses.replace(stale, refund=booking.total + 10_000, total=booking.total + 10_000)
        assert await handle.execute_update(BookingWorkflow.cancel, fresh) == "cancelling"
        assert await handle.result() == "cancelled"
    refunds = fake_stripe.calls("POST", "/v1/refunds")
    assert sum(int(r.params["amount"]) for r in refunds) == booking.total + 10_000  # both payments, in full


async def test_a_change_taken_just_as_the_booking_is_cancelled_is_withdrawn_and_the_run_ends(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(10), check_out=today + timedelta(12))
    new_in, new_out = today + timedelta(10), today + timedelta(13)
    await make_change(booking, check_in=new_in, check_out=new_out, total=booking.total + 10_000)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        await until_confirmed(env, handle)
        cancel = CancellationRequest(str(booking.id), "host", "Pipes burst", booking.total, [], True, booking.total)
        change = change_request(booking, new_in, new_out, needs_host=False)

        async def cancel_now() -> str:
            try:
                return await handle.execute_update(BookingWorkflow.cancel, cancel)
            except (WorkflowUpdateFailedError, RPCError):
                return "refused"  # the change got there first and is being made

        async def change_now() -> str:
            try:
                changed = dataclasses.replace(change, total=booking.total + 10_000)
                return (await handle.execute_update(BookingWorkflow.modify, changed)).status
            except (WorkflowUpdateFailedError, RPCError):
                return "refused"  # the cancellation got there first

        # Both at once: whichever the run takes first, every update is answered and the run ends.
        changed, cancelled = await asyncio.gather(change_now(), cancel_now())
        assert (changed, cancelled) in (("refused", "cancelling"), ("applied", "refused"), ("withdrawn", "cancelling"))
        if cancelled == "refused":
            again = dataclasses.replace(cancel, refund=booking.total + 10_000, total=booking.total + 10_000)
            cancelled = await handle.execute_update(BookingWorkflow.cancel, again)
        assert cancelled == "cancelling"  # taken; the run carries it out
        assert await handle.result() == "cancelled"
    [row] = await BookingChange.objects()
    assert row.status == {"refused": "requested", "applied": "applied", "withdrawn": "withdrawn"}[changed]


async def test_a_change_whose_capture_stripe_refuses_after_the_nights_moved_keeps_a_consistent_booking(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    listing = await make_listing(instant_book=True)
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(10), check_out=today + timedelta(12))
    new_in, new_out = today + timedelta(10), today + timedelta(14)
    await make_change(booking, check_in=new_in, check_out=new_out, total=booking.total + 20_000)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        await until_confirmed(env, handle)
        fake_stripe.fail_next, fake_stripe.fail_status, fake_stripe.fail_only = 1, 400, "/capture"
        change = dataclasses.replace(
            change_request(booking, new_in, new_out, needs_host=False), total=booking.total + 20_000
        )
        outcome = await handle.execute_update(BookingWorkflow.modify, change)
        # The nights had moved when Stripe refused: the booking keeps them (as its rows say), the
        # payment problem is on the change for an operator, and the booking can still be cancelled.
        assert outcome.status == "applied"
        [row] = await BookingChange.objects()
        assert row.status == "applied" and "payment failed" in (row.status_reason or "")
        await booking.refresh()
        assert booking.check_out == new_out
        cancel = CancellationRequest(str(booking.id), "host", "Pipes burst", 0, [], True, booking.total)
        assert await handle.execute_update(BookingWorkflow.cancel, cancel) == "cancelling"
        assert await handle.result() == "cancelled"
    assert len(fake_stripe.calls("POST", "/capture")) == 1  # only the booking's own
