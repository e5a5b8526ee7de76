"""The reconciler's eyes (issue 15, item 5): what a crash may have left behind, found by comparing
PostgreSQL with Temporal. The repairs run in `workflows.reconcile` through the very activities the
booking processes use (`PaymentActivities`, `BookingActivities`), with the booking's own Stripe
idempotency keys, so a repair is as safe to repeat as the step it stands in for.

What is looked for (each row untouched for the grace period, STAYFLOW_RECONCILER_GRACE_MINUTES, so
a process being started or moving a row is never raced):
- live bookings (`pending_payment`, `awaiting_host`, `confirmed`) whose `booking-<id>` run is not
  running (listed from Temporal's visibility in batches, each miss confirmed by describing the run:
  visibility lags);
- card holds (`authorized` payments) of bookings that ended (cancelled, declined, expired, failed)
  and whose run is not running;
- captured payments without their ledger row (or, while the stay is ahead, their journal entry or
  the booking's payout row);
- payouts still to be made whose `payout-<booking id>` run is not running.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any
from uuid import UUID

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.payouts import payout_workflow_id, start_payout_workflow
from models import Booking, ReconcilerRun
from stayflow.rules.booking_status import WAS_CAPTURED, BookingStatus, PaymentStatus
from stayflow.settings import Settings
from workflows.payloads.payouts import PayoutRef
from workflows.payloads.reconcile import Finding, FindingKind, Findings, ReconcileReport, ReconcileRequest, Repair

log = logging.getLogger("stayflow.reconciler")

B = BookingStatus
LIVE = (B.pending_payment, B.awaiting_host, B.confirmed)
"""Statuses only a running booking process ever moves on (completed is final)."""
ENDED = (B.cancelled, B.declined, B.expired, B.payment_failed)
"""Statuses in which no money may stay held on the card."""
PAYOUT_OPEN = ("scheduled", "held", "failed")
"""Payouts whose process still has to pay (or retry, or wait for a dispute)."""

PAGE = 500
"""Rows read (and runs looked up) per round trip."""
VISIBILITY_BATCH = 100
KEEP_RUNS_DAYS = 30
"""Passes older than this are dropped from `reconciler_runs` (the log keeps them)."""


def booking_workflow_id(booking_id: object) -> str:
    from workflows.booking import booking_workflow_id  # (the workflow module imports this one)

    return booking_workflow_id(booking_id)


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def running_workflows(client: Client, workflow_ids: list[str]) -> set[str]:
    """Which of `workflow_ids` have a run open now. Visibility answers in batches; every id it does
    not list as running is asked of the run itself (describe), since visibility lags behind."""
    running: set[str] = set()
    for batch in _batches(workflow_ids, VISIBILITY_BATCH):
        quoted = ", ".join(f"'{workflow_id}'" for workflow_id in batch)
        async for execution in client.list_workflows(
            f"ExecutionStatus = 'Running' AND WorkflowId IN ({quoted})", page_size=len(batch)
        ):
            running.add(execution.id)
    for workflow_id in workflow_ids:
        if workflow_id in running:
            continue
        try:
            described = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        if described.status == WorkflowExecutionStatus.RUNNING:
            running.add(workflow_id)
    return running


async def _pages(sql: str, *args: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """`sql` (which takes the last seen id, then `args`, and orders by id) page by page."""
    after = UUID(int=0)
    while True:
        rows = await Booking.raw(sql + f" ORDER BY 1 LIMIT {PAGE}", after, *args)
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


class ReconcileActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    async def find_inconsistencies(self, request: ReconcileRequest) -> Findings:
        """Everything the reconciler should repair or report, at most `request.limit` of each kind."""
        started = dt.datetime.now(dt.UTC)
        grace = request.grace_seconds if request.grace_seconds >= 0 else self.settings.reconciler_grace_minutes * 60
        cutoff = started - dt.timedelta(seconds=grace)
        client = activity.client()
        items = [
            *await self._orphan_bookings(client, cutoff, request.limit),
            *await self._stale_holds(client, cutoff, request.limit),
            *await self._unrecorded_captures(cutoff, request.limit),
            *await self._missing_payouts(client, cutoff, request.limit),
        ]
        return Findings(started.isoformat(), items)

    async def _orphan_bookings(self, client: Client, cutoff: dt.datetime, limit: int) -> list[Finding]:
        found: list[Finding] = []
        async for rows in _pages(
            "SELECT b.id, b.status, p.status AS payment FROM bookings b"
            " LEFT JOIN payments p ON p.booking = b.id AND p.sequence = 0"
            " WHERE b.id > {} AND b.status = ANY({}) AND b.updated_at < {}",
            [s.value for s in LIVE],
            cutoff,
        ):
            running = await running_workflows(client, [booking_workflow_id(r["id"]) for r in rows])
            for row in rows:
                if booking_workflow_id(row["id"]) in running:
                    continue
                status, payment = row["status"], row["payment"]
                if status == B.confirmed:
                    repair, detail = Repair.report, "confirmed, but its process is gone (check-out, cancellation)"
                elif payment in WAS_CAPTURED:
                    repair, detail = Repair.report, f"{status} with its payment captured: confirm or refund it"
                elif status == B.awaiting_host:
                    repair, detail = Repair.expire_request, "awaiting the host with no process to hear the answer"
                else:
                    repair, detail = Repair.fail_booking, "pending payment with no process to take it"
                found.append(
                    Finding(FindingKind.orphan_booking, str(row["id"]), repair, f"{detail} (payment {payment})")
                )
                if len(found) >= limit:
                    return found
        return found

    async def _stale_holds(self, client: Client, cutoff: dt.datetime, limit: int) -> list[Finding]:
        rows = await Booking.raw(
            "SELECT p.booking, p.sequence, b.status FROM payments p JOIN bookings b ON b.id = p.booking"
            " WHERE p.status = {} AND b.status = ANY({}) AND p.updated_at < {} AND b.updated_at < {}"
            " ORDER BY p.updated_at LIMIT {}",
            PaymentStatus.authorized.value,
            [s.value for s in ENDED],
            cutoff,
            cutoff,
            limit,
        )
        running = await running_workflows(client, sorted({booking_workflow_id(r["booking"]) for r in rows}))
        return [
            Finding(
                FindingKind.stale_hold,
                str(row["booking"]),
                Repair.void_payment if row["sequence"] == 0 else Repair.void_change,
                f"a card hold still open on a {row['status']} booking",
                number=row["sequence"],
            )
            for row in rows
            if booking_workflow_id(row["booking"]) not in running
        ]

    async def _unrecorded_captures(self, cutoff: dt.datetime, limit: int) -> list[Finding]:
        # The capture's own transaction writes its ledger row, journal entry and payout row, so only
        # an older build (two steps) or a hand edit leaves one out. A missing ledger row counts for
        # any captured payment; a missing journal entry or payout row only while the stay is ahead
        # (`confirmed`): ended bookings from before the books existed (or the demo's past stays)
        # have none, and paying their hosts now would be wrong.
        rows = await Booking.raw(
            "SELECT p.id, p.booking, p.sequence, p.status, b.status AS booking_status"
            " FROM payments p JOIN bookings b ON b.id = p.booking WHERE p.status = ANY({}) AND p.updated_at < {}"
            " AND (NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.dedupe_key = p.id::text || ':capture')"
            "   OR (b.status = {} AND ("
            "     NOT EXISTS (SELECT 1 FROM ledger_postings j WHERE j.entry_key = 'capture:' || p.id::text)"
            "     OR (p.sequence = 0 AND NOT EXISTS (SELECT 1 FROM payouts o WHERE o.booking = p.booking)))))"
            " ORDER BY p.updated_at LIMIT {}",
            [s.value for s in WAS_CAPTURED],
            cutoff,
            B.confirmed.value,
            limit,
        )
        found = []
        for row in rows:
            if row["status"] == PaymentStatus.completed and row["booking_status"] == B.confirmed:
                repair = Repair.record_capture if row["sequence"] == 0 else Repair.record_change_capture
                detail = "captured, its ledger row, journal entry or payout missing"
            else:  # refunded since, or the stay is over: what the capture wrote then is an accountant's call
                repair = Repair.report
                detail = f"captured ({row['status']}, booking {row['booking_status']}), its ledger row missing"
            found.append(
                Finding(FindingKind.capture_without_ledger, str(row["booking"]), repair, detail, row["sequence"])
            )
        return found

    async def _missing_payouts(self, client: Client, cutoff: dt.datetime, limit: int) -> list[Finding]:
        found: list[Finding] = []
        async for rows in _pages(
            "SELECT booking AS id, status FROM payouts WHERE booking > {} AND status = ANY({}) AND updated_at < {}",
            list(PAYOUT_OPEN),
            cutoff,
        ):
            running = await running_workflows(client, [payout_workflow_id(r["id"]) for r in rows])
            for row in rows:
                if payout_workflow_id(row["id"]) in running:
                    continue
                found.append(
                    Finding(
                        FindingKind.missing_payout,
                        str(row["id"]),
                        Repair.restart_payout,
                        f"a {row['status']} payout with no process to pay it",
                    )
                )
                if len(found) >= limit:
                    return found
        return found

    @activity.defn
    async def restart_payout(self, ref: PayoutRef) -> None:
        """Start the booking's payout process again, as the capture does (an open one is kept)."""
        await start_payout_workflow(ref.booking_id)

    @activity.defn
    async def record_run(self, report: ReconcileReport) -> None:
        """The run's findings: one row (for `/admin/metrics`), one log line each (once per run)."""
        run_id = activity.info().workflow_id
        rows = await ReconcilerRun.raw(
            "INSERT INTO reconciler_runs (id, workflow_id, started_at, finished_at, found, repaired, findings)"
            " VALUES (gen_random_uuid(), {}, {}, now(), {}, {}, {}) ON CONFLICT (workflow_id) DO NOTHING RETURNING id",
            run_id,
            dt.datetime.fromisoformat(report.started_at),
            json.dumps(report.found),
            json.dumps(report.repaired),
            json.dumps(
                [
                    {
                        "kind": o.finding.kind,
                        "booking_id": o.finding.booking_id,
                        "payment_sequence": o.finding.number,
                        "repair": o.finding.repair,
                        "repaired": o.repaired,
                        "detail": o.finding.detail,
                        "error": o.error,
                    }
                    for o in report.outcomes
                ]
            ),
        )
        if not rows:
            return  # a retried step: logged already
        await ReconcilerRun.raw(
            f"DELETE FROM reconciler_runs WHERE finished_at < now() - interval '{KEEP_RUNS_DAYS} days'"
        )
        for outcome in report.outcomes:
            finding = outcome.finding
            log.warning(
                "reconciler finding %s",
                json.dumps(
                    {
                        "run": run_id,
                        "kind": finding.kind,
                        "booking_id": finding.booking_id,
                        "payment_sequence": finding.number,
                        "repair": finding.repair,
                        "repaired": outcome.repaired,
                        "detail": finding.detail,
                        "error": outcome.error,
                    }
                ),
            )
        log.info("reconciler run %s: found %s, repaired %s", run_id, report.found, report.repaired)
