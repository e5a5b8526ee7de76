"""DisputeWorkflow (`dispute-<stripe dispute id>`): a chargeback on a booking's charge, from the
bank's first word to its decision, whatever state the booking is in.

Started by the API's webhook for `charge.dispute.created` (or by `charge.dispute.closed` if that
came first: signal-with-start). It records the dispute and the money the bank took (one
transaction), holds the booking's unreleased payout (the PayoutWorkflow re-reads its plan), tells
admins and the host, then assembles the evidence (invoice and receipt, the frozen terms and
cancellation policy, the timeline, check-in, the host-guest messages, the guest) and submits it
to Stripe at once, retrying through an outage until `due_by` less a margin (then admins are told).
It waits, durably and for as long as the bank takes, for the `closed` signal
(`charge.dispute.closed`), and records the outcome in the ledger with the dispute's status: won,
the payout goes ahead; lost, the host's earnings on the booking pay for it (`stayflow.rules.disputes`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.disputes import DisputeActivities
    from stayflow.rules.disputes import NEEDS_RESPONSE, submission_window
    from workflows.payloads.payouts import (
        DisputeClosed,
        DisputeNotice,
        DisputeOpened,
        DisputeOutcome,
        DisputeRef,
        EvidenceSubmitted,
    )

from workflows.messaging import deliver_messages
from workflows.policies import DB, PROVIDER_RETRY

STRIPE_CALL = timedelta(seconds=60)
"""Start-to-close of an activity that calls Stripe."""
NO_DUE_DATE = timedelta(days=7)
"""How long the submission retries when Stripe names no due date."""


def dispute_workflow_id(dispute_id: str) -> str:
    return f"dispute-{dispute_id}"


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class DisputeWorkflow:
    def __init__(self) -> None:
        self._closed: DisputeClosed | None = None
        self._state = "opened"
        self._evidence: EvidenceSubmitted | None = None
        self._deliveries: list[asyncio.Task[bool]] = []

    @workflow.signal
    def closed(self, closed: DisputeClosed) -> None:
        """`charge.dispute.closed`: the bank decided (the first word counts; a redelivery changes nothing)."""
        if self._closed is None:
            self._closed = closed

    @workflow.query
    def state(self) -> str:
        """`opened`, `evidence_submitted`, `evidence_missed`, `won` or `lost`."""
        return self._state

    @workflow.query
    def evidence(self) -> EvidenceSubmitted | None:
        return self._evidence

    @workflow.run
    async def run(self, opened: DisputeOpened) -> DisputeOutcome:
        ref = DisputeRef(opened.dispute_id)
        held = await workflow.execute_activity_method(DisputeActivities.open_dispute, opened, start_to_close_timeout=DB)
        if held:
            await self._payout_reconsiders(opened.booking_id)
        await self._tell(ref, "opened")
        if self._closed is None and opened.status in NEEDS_RESPONSE:
            await self._submit_evidence(ref, opened)
        await workflow.wait_condition(lambda: self._closed is not None)
        assert self._closed is not None
        outcome: DisputeOutcome = await workflow.execute_activity_method(
            DisputeActivities.close_dispute, self._closed, start_to_close_timeout=STRIPE_CALL,
            retry_policy=PROVIDER_RETRY,
        )  # fmt: skip
        self._state = outcome.outcome
        await self._payout_reconsiders(opened.booking_id)
        await self._tell(ref, "closed")
        await asyncio.gather(*self._deliveries)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def _submit_evidence(self, ref: DisputeRef, opened: DisputeOpened) -> None:
        """At once, retried through a Stripe outage until `due_by` less the margin."""
        now = workflow.now()
        window = submission_window(dt.datetime.fromisoformat(opened.due_by), now) if opened.due_by else NO_DUE_DATE
        try:
            self._evidence = await workflow.execute_activity_method(
                DisputeActivities.submit_evidence, ref, start_to_close_timeout=STRIPE_CALL,
                schedule_to_close_timeout=window, retry_policy=PROVIDER_RETRY,
            )  # fmt: skip
        except ActivityError as err:
            self._evidence = EvidenceSubmitted("", [], str(err.cause or err))
        if self._evidence.submitted_at:
            self._state = "evidence_submitted"
        else:
            self._state = "evidence_missed"
            await self._tell(ref, "evidence_missed")

    async def _tell(self, ref: DisputeRef, event: str) -> None:
        """Record the notices now; deliver them beside the rest of the run (an email outage holds
        up only its messages, never the evidence)."""
        message_ids: list[str] = await workflow.execute_activity_method(
            DisputeActivities.tell_about_dispute, DisputeNotice(ref.dispute_id, event), start_to_close_timeout=DB
        )
        if message_ids:
            self._deliveries.append(asyncio.create_task(deliver_messages(message_ids)))

    async def _payout_reconsiders(self, booking_id: str) -> None:
        """The booking's PayoutWorkflow re-reads its plan (held, released, cut)."""
        try:
            await workflow.get_external_workflow_handle(f"payout-{booking_id}").signal("reconsider")
        except FailureError:
            pass  # no payout run (nothing was captured, or it has ended): nothing to tell
