"""The reconciler (issue 15, item 5) on the Temporal dev server, with the real worker and the real
Stripe SDK against the local fake Stripe: each kind of inconsistency is made for real (a booking's
run terminated, rows left as a crash of an older build would leave them), one pass of the
ReconcileWorkflow runs, and what a guest, a host and an operator would notice is asserted: the
nights are bookable again, the hold is released at Stripe exactly once, the ledger row is written
once, the payout has its process, the metrics count it all, and a healthy booking is untouched."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from temporalio.client import WorkflowExecutionStatus

from activities.payouts import payout_workflow_id
from models import Booking, LedgerEntry, LedgerPosting, Notification, Payment, Payout, ReconcilerRun
from models.identity import Role
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_booking, make_listing, make_user, signed_in_user
from tests.helpers import book, date_in, eventually, stay, wait_status
from workers.schedules import ensure_reconciler_schedule
from workflows.booking import booking_workflow_id
from workflows.payloads.reconcile import ReconcileReport, ReconcileRequest
from workflows.reconcile import ReconcileWorkflow, reconciler_schedule_id

GRACE = timedelta(minutes=10)
"""The default grace period: rows younger than this are never judged."""


async def reconcile(env: Any, settings: Settings) -> tuple[str, ReconcileReport]:
    """One pass of the reconciler, as its Schedule starts it."""
    workflow_id = f"{reconciler_schedule_id(settings.task_queue)}-{uuid.uuid4()}"
    report = await env.client.execute_workflow(
        ReconcileWorkflow.run, ReconcileRequest(), id=workflow_id, task_queue=settings.task_queue
    )
    return workflow_id, report


async def backdate(*booking_ids: object) -> None:
    """The bookings, their payments and payouts last changed an hour ago: past the grace period."""
    ids = [uuid.UUID(str(b)) for b in booking_ids]
    await Booking.raw("UPDATE bookings SET updated_at = now() - interval '1 hour' WHERE id = ANY({})", ids)
    await Booking.raw("UPDATE payments SET updated_at = now() - interval '1 hour' WHERE booking = ANY({})", ids)
    await Booking.raw("UPDATE payouts SET updated_at = now() - interval '1 hour' WHERE booking = ANY({})", ids)


async def run_status(env: Any, workflow_id: str) -> WorkflowExecutionStatus | None:
    return (await env.client.get_workflow_handle(workflow_id).describe()).status


async def intent_of(booking_id: str) -> str:
    payment = await Payment.objects().get((Payment.booking == uuid.UUID(booking_id)) & (Payment.sequence == 0))
    assert payment is not None and payment.intent_id
    return payment.intent_id


def cancels_of(fake_stripe: Any, intent_id: str) -> int:
    return len(fake_stripe.calls("POST", f"/payment_intents/{intent_id}/cancel"))


async def metrics(client: AsyncClient) -> dict[str, Any]:
    admin = await signed_in_user(client, role=Role.admin)
    answer = await client.get("/api/v1/admin/metrics", headers=admin.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["reconciler"])


async def test_a_request_whose_process_is_gone_is_expired_its_hold_voided_once_and_its_nights_freed(
    client: AsyncClient,
    api_settings: Settings,
    dev_server_env: Any,
    fake_stripe: Any,
    worker: None,
    record_history: RecordHistory,
) -> None:
    host = await make_user(role=Role.host)
    home, healthy_home, fresh_home = [await make_listing(host, instant_book=False) for _ in range(3)]
    guest, other_guest, third_guest = [await signed_in_user(client) for _ in range(3)]
    lost = (await book(client, guest, stay(home, start=20))).json()["id"]
    healthy = (await book(client, other_guest, stay(healthy_home, start=20))).json()["id"]
    fresh = (await book(client, third_guest, stay(fresh_home, start=20))).json()["id"]
    for booking_id in (lost, healthy, fresh):
        await wait_status(booking_id, "awaiting_host")
    # Two runs lost (a worker bug, an operator's terminate); one of them only just now.
    for booking_id in (lost, fresh):
        await dev_server_env.client.get_workflow_handle(booking_workflow_id(booking_id)).terminate("lost in a test")
    await backdate(lost, healthy)

    workflow_id, report = await reconcile(dev_server_env, api_settings)

    assert report.found == {"orphan_bookings": 1} and report.repaired == {"orphan_bookings": 1}
    expired = await wait_status(lost, "expired")
    assert "hold was released" in (expired.status_reason or "")
    assert cancels_of(fake_stripe, await intent_of(lost)) == 1
    kinds = sorted(e.kind for e in await LedgerEntry.objects().where(LedgerEntry.booking == expired.id))
    assert kinds == ["authorization", "void"]
    told = await Notification.objects().where(
        (Notification.user == guest.user.id) & (Notification.kind == "booking_expired")
    )
    assert len(told) == 1
    # The nights are free again: another guest books them.
    rebooked = await book(client, await signed_in_user(client), stay(home, start=20))
    assert rebooked.status_code == 201, rebooked.text
    # The healthy booking (its run alive) and the fresh one (inside the grace period) are untouched.
    assert (await wait_status(healthy, "awaiting_host")).status == "awaiting_host"
    assert await run_status(dev_server_env, booking_workflow_id(healthy)) == WorkflowExecutionStatus.RUNNING
    assert cancels_of(fake_stripe, await intent_of(healthy)) == 0
    assert (await wait_status(fresh, "awaiting_host")).status == "awaiting_host"
    assert cancels_of(fake_stripe, await intent_of(fresh)) == 0
    await record_history(dev_server_env, workflow_id, "reconcile_expiring_an_orphan")

    # The next pass finds nothing more (and releases nothing twice).
    _, again = await reconcile(dev_server_env, api_settings)
    assert again.found == {} and cancels_of(fake_stripe, await intent_of(lost)) == 1
    shown = await metrics(client)
    assert shown["runs"] == 2
    assert shown["found"] == {"orphan_bookings": 0, "stale_holds": 0, "captures_without_ledger": 0,
                              "missing_payouts": 0}  # fmt: skip
    first = await ReconcilerRun.objects().get(ReconcilerRun.workflow_id == workflow_id)
    assert first is not None and json.loads(first.repaired) == {"orphan_bookings": 1}
    await dev_server_env.client.get_workflow_handle(booking_workflow_id(healthy)).terminate("test done")


async def test_a_pending_booking_with_no_process_fails_and_its_nights_are_bookable_again(
    client: AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any, worker: None
) -> None:
    """A row as an older build's API left it when killed between the insert and the start."""
    home = await make_listing(instant_book=True)
    guest = await make_user()
    booking = await make_booking(home, guest, check_in=date_in(30), check_out=date_in(33))
    await backdate(booking.id)

    _, report = await reconcile(dev_server_env, api_settings)

    assert report.found == {"orphan_bookings": 1} and report.repaired == {"orphan_bookings": 1}
    failed = await wait_status(str(booking.id), "payment_failed")
    assert "nothing was charged" in (failed.status_reason or "")
    assert fake_stripe.calls("POST", "/cancel") == []  # nothing was ever held
    rebooked = await book(client, await signed_in_user(client), stay(home, start=30))
    assert rebooked.status_code == 201, rebooked.text
    await wait_status(rebooked.json()["id"], "confirmed")
    shown = await metrics(client)
    assert shown["found"]["orphan_bookings"] == 1 and shown["repaired"]["orphan_bookings"] == 1


async def test_a_hold_left_open_on_a_cancelled_booking_is_voided_exactly_once(
    client: AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any, worker: None
) -> None:
    """The booking says cancelled, the card is still held: the run died before its void."""
    home = await make_listing(instant_book=False)
    guest = await signed_in_user(client)
    booking_id = (await book(client, guest, stay(home, start=25))).json()["id"]
    await wait_status(booking_id, "awaiting_host")
    await dev_server_env.client.get_workflow_handle(booking_workflow_id(booking_id)).terminate("lost in a test")
    await Booking.raw("UPDATE bookings SET status = 'cancelled' WHERE id = {}", uuid.UUID(booking_id))
    await backdate(booking_id)

    _, report = await reconcile(dev_server_env, api_settings)
    _, again = await reconcile(dev_server_env, api_settings)

    assert report.found == {"stale_holds": 1} and report.repaired == {"stale_holds": 1}
    assert again.found == {}
    assert cancels_of(fake_stripe, await intent_of(booking_id)) == 1
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(booking_id))
    assert payment is not None and payment.status == "voided"
    assert fake_stripe.intents[await intent_of(booking_id)]["status"] == "canceled"
    assert await LedgerEntry.count().where(LedgerEntry.kind == "void") == 1


async def test_a_capture_without_its_ledger_row_is_recorded_once_and_a_lost_payout_process_restarted(
    client: AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any, worker: None
) -> None:
    """The payment says captured, the ledger has nothing: what a worker of an older build left when
    killed between the two statements. The repair is the capture step's own (no Stripe call)."""
    home = await make_listing(instant_book=True)
    booking = await make_booking(home, await make_user(), check_in=date_in(40), check_out=date_in(42))
    await Booking.raw("UPDATE bookings SET status = 'confirmed' WHERE id = {}", booking.id)
    await Booking.raw("UPDATE payments SET status = 'completed', intent_id = 'pi_captured' WHERE booking = {}",
                      booking.id)  # fmt: skip
    # A past stay recorded before the books existed (as the demo's are): its ledger row, no journal
    # entry, no payout. Not a crash's leftover, and nobody is paid for it now.
    past = await make_booking(home, await make_user(), check_in=date_in(-9), check_out=date_in(-7))
    await Booking.raw("UPDATE bookings SET status = 'completed' WHERE id = {}", past.id)
    await Booking.raw("UPDATE payments SET status = 'completed', intent_id = 'pi_old' WHERE booking = {}", past.id)
    old_payment = await Payment.objects().get(Payment.booking == past.id)
    assert old_payment is not None
    await LedgerEntry(payment=old_payment.id, booking=past.id, guest=past.guest, kind="capture", amount=past.total,
                      currency=past.currency, dedupe_key=f"{old_payment.id}:capture").save()  # fmt: skip
    await backdate(booking.id, past.id)

    _, report = await reconcile(dev_server_env, api_settings)

    assert {o.finding.booking_id for o in report.outcomes} == {str(booking.id)}
    assert report.found == {"orphan_bookings": 1, "captures_without_ledger": 1}
    assert report.repaired == {"captures_without_ledger": 1}  # the confirmed booking's lost run is reported
    entries = await LedgerEntry.objects().where(LedgerEntry.booking == booking.id)
    assert [(e.kind, e.amount) for e in entries] == [("capture", booking.total)]
    assert await LedgerPosting.count().where(LedgerPosting.entry_key == f"capture:{entries[0].payment}") == 2
    payout = await Payout.objects().get(Payout.booking == booking.id)
    assert payout is not None and payout.status == "scheduled"
    assert await run_status(dev_server_env, payout_workflow_id(booking.id)) == WorkflowExecutionStatus.RUNNING
    assert fake_stripe.requests == []  # recorded from our own rows: Stripe was not asked again
    shown = await metrics(client)
    assert shown["repaired"]["captures_without_ledger"] == 1
    assert [(f["kind"], f["repair"]) for f in shown["reported"]] == [("orphan_bookings", "report")]

    # The payout's process is lost too: the next pass starts it again, and writes no row twice.
    await dev_server_env.client.get_workflow_handle(payout_workflow_id(booking.id)).terminate("lost in a test")
    await backdate(booking.id)
    _, later = await reconcile(dev_server_env, api_settings)
    assert later.found == {"orphan_bookings": 1, "missing_payouts": 1}
    assert later.repaired == {"missing_payouts": 1}
    assert await run_status(dev_server_env, payout_workflow_id(booking.id)) == WorkflowExecutionStatus.RUNNING
    assert await LedgerEntry.count().where(LedgerEntry.booking == booking.id) == 1
    assert await Payout.count().where(Payout.booking == past.id) == 0
    await dev_server_env.client.get_workflow_handle(payout_workflow_id(booking.id)).terminate("test done")


async def test_the_worker_creates_the_reconcilers_schedule_once_and_updates_its_interval(
    api_settings: Settings, dev_server_env: Any, worker: None
) -> None:
    import msgspec

    handle = dev_server_env.client.get_schedule_handle(reconciler_schedule_id(api_settings.task_queue))
    await ensure_reconciler_schedule(dev_server_env.client, api_settings)
    try:
        slower = msgspec.structs.replace(api_settings, reconciler_interval_minutes=7)
        await ensure_reconciler_schedule(dev_server_env.client, slower)  # a second worker, new settings
        described = await handle.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=7)]
        await handle.trigger()

        async def recorded() -> ReconcilerRun | None:
            return await ReconcilerRun.objects().first()

        run = await eventually(recorded, timeout=60, what="the scheduled pass to be recorded")
        assert run.workflow_id.startswith(reconciler_schedule_id(api_settings.task_queue))
        assert json.loads(run.found) == {} and run.finished_at > dt.datetime.now(dt.UTC) - GRACE
    finally:
        await handle.delete()
