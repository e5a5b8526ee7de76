"""Admin: the marketplace in numbers (SPEC §9), from PostgreSQL and Temporal's visibility store.

Workflow counts cover this deployment's task queue. When Temporal does not answer, the
database numbers still come back and `workflows_unavailable` says why the rest is missing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from datetime import timedelta

import msgspec
from piccolo.query.functions.aggregate import Count
from temporalio.client import Client

from models import Booking, Listing, ReconcilerRun, User
from stayflow.rules.booking_status import BookingStatus
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.roles import Role
from stayflow.temporal import TemporalGateway
from workflows.payloads.reconcile import FindingKind
from workflows.registry import WORKFLOWS

log = logging.getLogger("stayflow.api")

WORKFLOW_TYPES = [w.__name__ for w in WORKFLOWS]
"""Counted one by one; workflows of any other type still count in the totals."""

VISIBILITY_TIMEOUT = timedelta(seconds=3)

# Temporal's ExecutionStatus values, as this API names them.
_STATUS_NAMES = {
    "Running": "running",
    "Completed": "completed",
    "Failed": "failed",
    "Canceled": "canceled",
    "Terminated": "terminated",
    "ContinuedAsNew": "continued_as_new",
    "TimedOut": "timed_out",
}


class UserCounts(msgspec.Struct):
    total: int
    by_role: dict[str, int]
    suspended: int


class MoneyTotal(msgspec.Struct):
    currency: str
    amount: int
    """Minor units."""
    count: int


class WorkflowStatusCounts(msgspec.Struct):
    running: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0
    terminated: int = 0
    continued_as_new: int = 0
    timed_out: int = 0


class WorkflowCounts(msgspec.Struct):
    task_queue: str
    total: WorkflowStatusCounts
    by_type: dict[str, WorkflowStatusCounts]


class ReconcilerSummary(msgspec.Struct):
    """The reconciler's last pass (`workflows.reconcile`); counts by kind of finding."""

    last_run_at: dt.datetime
    found: dict[str, int]
    """`orphan_bookings`, `stale_holds`, `captures_without_ledger`, `missing_payouts`: 0 when none."""
    repaired: dict[str, int]
    reported: list[dict[str, object]]
    """The findings of that pass left for an operator (not repaired), at most 20."""
    runs: int
    """Passes recorded in the last 30 days."""


class Metrics(msgspec.Struct):
    generated_at: dt.datetime
    users: UserCounts
    listings_by_status: dict[str, int]
    bookings_by_status: dict[str, int]
    gross_booking_value: list[MoneyTotal]
    """Totals of confirmed and completed bookings, per currency."""
    refunds: list[MoneyTotal]
    """Money given back to guests (ledger refunds), per currency."""
    workflows: WorkflowCounts | None
    workflows_unavailable: str | None = None
    reconciler: ReconcilerSummary | None = None
    """None until the reconciler's first pass."""


async def _by_status(table: type[Listing] | type[Booking], names: list[str]) -> dict[str, int]:
    rows = await table.select(table.status, Count(alias="n")).group_by(table.status)
    return {name: 0 for name in names} | {r["status"]: r["n"] for r in rows}


async def _users() -> UserCounts:
    rows = await User.raw(
        "SELECT role, count(*)::int AS n, (count(*) FILTER (WHERE suspended_at IS NOT NULL))::int AS suspended "
        "FROM users GROUP BY role"
    )
    by_role = {role.value: 0 for role in Role} | {r["role"]: r["n"] for r in rows}
    return UserCounts(total=sum(by_role.values()), by_role=by_role, suspended=sum(r["suspended"] for r in rows))


async def _money(sql: str) -> list[MoneyTotal]:
    return [MoneyTotal(currency=r["currency"], amount=r["amount"], count=r["n"]) for r in await User.raw(sql)]


async def _status_counts(client: Client, query: str) -> WorkflowStatusCounts:
    counted = await client.count_workflows(f"{query} GROUP BY ExecutionStatus", rpc_timeout=VISIBILITY_TIMEOUT)
    counts = WorkflowStatusCounts()
    for group in counted.groups:
        name = _STATUS_NAMES.get(str(group.group_values[0])) if group.group_values else None
        if name is not None:
            setattr(counts, name, getattr(counts, name) + group.count)
    return counts


async def workflow_counts(temporal: TemporalGateway, task_queue: str) -> WorkflowCounts:
    client = await temporal.client()
    scope = f"TaskQueue = '{task_queue}'"
    total, *per_type = await asyncio.gather(
        _status_counts(client, scope),
        *(_status_counts(client, f"{scope} AND WorkflowType = '{name}'") for name in WORKFLOW_TYPES),
    )
    return WorkflowCounts(task_queue=task_queue, total=total, by_type=dict(zip(WORKFLOW_TYPES, per_type, strict=True)))


async def platform_metrics(temporal: TemporalGateway, task_queue: str) -> Metrics:
    """The database numbers always; the workflow counts when Temporal answers within 8 s."""
    workflows: WorkflowCounts | None = None
    unavailable: str | None = None
    try:
        workflows = await asyncio.wait_for(workflow_counts(temporal, task_queue), timeout=8)
    except Exception as exc:  # Temporal down or slow: the database part still answers
        log.warning("workflow metrics unavailable: %s", exc)
        unavailable = f"Temporal did not answer ({type(exc).__name__}); workflow counts are missing."
    return Metrics(
        generated_at=dt.datetime.now(dt.UTC),
        users=await _users(),
        listings_by_status=await _by_status(Listing, [s.value for s in ListingStatus]),
        bookings_by_status=await _by_status(Booking, [s.value for s in BookingStatus]),
        gross_booking_value=await _money(
            "SELECT currency, sum(total)::bigint AS amount, count(*)::int AS n FROM bookings "
            "WHERE status IN ('confirmed', 'completed') GROUP BY currency ORDER BY currency"
        ),
        refunds=await _money(
            "SELECT currency, sum(amount)::bigint AS amount, count(*)::int AS n FROM ledger_entries "
            "WHERE kind = 'refund' GROUP BY currency ORDER BY currency"
        ),
        workflows=workflows,
        workflows_unavailable=unavailable,
        reconciler=await _reconciler(),
    )


async def _reconciler() -> ReconcilerSummary | None:
    rows = await ReconcilerRun.raw(
        "SELECT finished_at, found, repaired, findings, (SELECT count(*)::int FROM reconciler_runs) AS runs"
        " FROM reconciler_runs ORDER BY finished_at DESC LIMIT 1"
    )
    if not rows:
        return None
    row = rows[0]
    found, repaired, findings = (
        json.loads(v) if isinstance(v := row[k], str) else v for k in ("found", "repaired", "findings")
    )
    return ReconcilerSummary(
        last_run_at=row["finished_at"],
        found={kind.value: int(found.get(kind.value, 0)) for kind in FindingKind},
        repaired={kind.value: int(repaired.get(kind.value, 0)) for kind in FindingKind},
        reported=[f for f in findings if not f.get("repaired")][:20],
        runs=row["runs"],
    )
