"""Stripe webhooks: verified, turned into signals on the booking's workflow, recorded once signalled.
A dispute (`charge.dispute.created`/`closed`) on any booking's charge, whatever the booking's state,
starts (or signals) its own DisputeWorkflow `dispute-<dispute id>`.

An event is recorded in `stripe_events` only after its signal was accepted, so no crash can record an
event the workflow never got; Stripe redelivers unrecorded events, and the signal's request id (from
the event id) makes Temporal drop a repeat, so the workflow sees each event once."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Problem
from api.pagination import Page, keyset
from api.payments.schemas import LedgerRead, WebhookAnswer
from api.payouts.service import record_account
from models import Booking, HostPayoutAccount, LedgerEntry, Payment, Payout, StripeEvent
from stayflow.providers.payments import (
    ConnectedAccount,
    DisputeFacts,
    StripePayments,
    WebhookEvent,
    WebhookSignatureInvalid,
    connected_account,
    dispute_facts,
)
from stayflow.temporal import TemporalGateway, TemporalUnavailable
from workflows.booking import PaymentEvent, booking_workflow_id
from workflows.dispute import DisputeWorkflow, dispute_workflow_id
from workflows.payloads.payouts import DisputeClosed, DisputeOpened
from workflows.search_attributes import BOOKING_ID, GUEST_ID, HOST_ID, LISTING_ID

PAYMENT_EVENT_SIGNAL = "payment_event"
"""The name of `BookingWorkflow.payment_event` (a `@workflow.signal` is named after its method)."""

EVENT_KINDS = {
    "payment_intent.amount_capturable_updated": "succeeded",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "charge.refunded": "refunded",
    "charge.dispute.created": "disputed",
}


async def payment_history(guest_id: UUID, *, limit: int, cursor: str | None) -> Page[LedgerRead]:
    """Every authorization, capture, void and refund of the guest's money, oldest first."""
    rows, next_cursor = await keyset(
        LedgerEntry.select().where(LedgerEntry.guest == guest_id),
        time_column=LedgerEntry.created_at,
        id_column=LedgerEntry.id,
        limit=limit,
        cursor=cursor,
    )
    return Page(
        items=[
            LedgerRead(
                id=r["id"],
                booking_id=r["booking"],
                payment_id=r["payment"],
                kind=r["kind"],
                amount=r["amount"],
                currency=r["currency"],
                created_at=r["created_at"],
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


def _intent_id(obj: dict[str, Any]) -> str | None:
    if obj.get("object") == "payment_intent":
        return str(obj.get("id"))
    return obj.get("payment_intent")


DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.closed")


async def receive_payment_event(
    payments: StripePayments, temporal: TemporalGateway, payload: bytes, signature: str, *, task_queue: str
) -> WebhookAnswer:
    """Hand a signed Stripe event to the booking whose payment it is about, once."""
    try:
        event = payments.verified_event(payload, signature)
    except WebhookSignatureInvalid as exc:
        raise Problem(400, "The Stripe signature does not match this payload (or is too old).",
                      slug="bad-signature") from exc  # fmt: skip
    if await StripeEvent.exists().where(StripeEvent.id == event.id):
        return WebhookAnswer(received=True, duplicate=True)
    if event.type == "account.updated":  # a host's Connect account: unknown ones are acknowledged, ignored
        await _account_updated(temporal, connected_account(event.object))
    if event.type in DISPUTE_EVENTS:  # a dispute of a charge we do not know is acknowledged, ignored
        await _dispute_event(temporal, event, task_queue)
    kind = EVENT_KINDS.get(event.type)
    intent_id = _intent_id(event.object) if kind else None
    if kind and intent_id:
        payment = await Payment.objects().where(Payment.intent_id == intent_id).first()
        if payment is not None:
            await _signal_booking(temporal, payment.booking, event.id, PaymentEvent(kind=kind, intent_id=intent_id))
    # Recorded only once the booking's workflow has it: a crash before this line leaves the event
    # unrecorded, Stripe redelivers it, and the repeated signal is dropped by Temporal (same request id).
    first_time = await StripeEvent.raw(
        "INSERT INTO stripe_events (id, type, received_at) VALUES ({}, {}, now())"
        " ON CONFLICT DO NOTHING RETURNING id",
        event.id, event.type,
    )  # fmt: skip
    return WebhookAnswer(received=True, duplicate=not first_time)


async def _signal_booking(temporal: TemporalGateway, booking_id: UUID, event_id: str, event: PaymentEvent) -> None:
    """`BookingWorkflow.payment_event`, once per Stripe event: the request id is derived from the event
    id, so Temporal ignores the same event signalled again (a redelivery, two deliveries at once)."""
    try:
        client = await temporal.client()
        request = SignalWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=booking_workflow_id(booking_id)),
            signal_name=PAYMENT_EVENT_SIGNAL,
            identity=client.identity,
            request_id=f"stripe-{event_id}",
        )
        request.input.payloads.extend(await client.data_converter.encode([event]))
        await client.workflow_service.signal_workflow_execution(request, retry=True)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return  # the booking's process has ended: nothing to tell
        raise _temporal_unavailable() from exc
    except (RuntimeError, TimeoutError) as exc:  # no connection to Temporal
        raise _temporal_unavailable() from exc


async def _dispute_event(temporal: TemporalGateway, event: WebhookEvent, task_queue: str) -> None:
    """Start `dispute-<id>` for a booking's charge (once: a redelivery joins the run or finds it
    ended); `closed` is signalled to it, starting it first if the `created` event never came."""
    facts = dispute_facts(event.object)
    payment = await Payment.objects().where(Payment.intent_id == facts.intent_id).first() if facts.intent_id else None
    booking = await Booking.objects().get(Booking.id == payment.booking) if payment is not None else None
    if payment is None or booking is None or not facts.intent_id:
        return
    opened = dispute_opened(facts, booking, facts.intent_id)
    closed = None
    if event.type == "charge.dispute.closed":
        closed = DisputeClosed(facts.dispute_id, facts.status, facts.reinstated, facts.fee_returned)
    try:
        client = await temporal.client()
        await client.start_workflow(
            DisputeWorkflow.run,
            opened,
            id=dispute_workflow_id(facts.dispute_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Dispute {facts.dispute_id} of booking {booking.id} ({facts.reason})",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(BOOKING_ID, str(booking.id)),
                    SearchAttributePair(LISTING_ID, str(booking.listing)),
                    SearchAttributePair(GUEST_ID, str(booking.guest)),
                    SearchAttributePair(HOST_ID, str(booking.host)),
                ]
            ),
            start_signal="closed" if closed else None,
            start_signal_args=[closed] if closed else [],
        )
    except WorkflowAlreadyStartedError:
        return  # its run has ended: it has the outcome already
    except RPCError as exc:
        raise _temporal_unavailable() from exc
    except (RuntimeError, TimeoutError, TemporalUnavailable) as exc:
        raise _temporal_unavailable() from exc


def dispute_opened(facts: DisputeFacts, booking: Booking, intent_id: str) -> DisputeOpened:
    return DisputeOpened(
        dispute_id=facts.dispute_id,
        booking_id=str(booking.id),
        intent_id=intent_id,
        amount=facts.amount,
        currency=facts.currency or booking.currency,
        reason=facts.reason,
        status=facts.status,
        due_by=facts.due_by.isoformat() if facts.due_by else "",
        withdrawn=facts.withdrawn,
        fee=facts.fee,
    )


async def _account_updated(temporal: TemporalGateway, account: ConnectedAccount) -> None:
    """Keep the host's payout state; a host who can now be paid gets the refused payouts tried again."""
    if not await record_account(account) or not account.payouts_enabled:
        return
    host = (
        await HostPayoutAccount.select(HostPayoutAccount.host)
        .where(HostPayoutAccount.account_id == account.account_id)
        .first()
    )
    if host is None:
        return
    refused = await Payout.select(Payout.booking).where((Payout.host == host["host"]) & (Payout.status == "failed"))
    try:
        client = await temporal.client()
        for row in refused:
            await client.get_workflow_handle(f"payout-{row['booking']}").signal("reconsider")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise _temporal_unavailable() from exc
    except (RuntimeError, TimeoutError) as exc:
        raise _temporal_unavailable() from exc


def _temporal_unavailable() -> Problem:
    # Not recorded as handled: Stripe redelivers a non-2xx answer, and we try again then.
    return Problem(503, "The booking's workflow cannot be reached right now; Stripe will deliver the event again.")
