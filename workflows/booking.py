"""BookingWorkflow: one per booking (`booking-<id>`), from the card hold to check-out (SPEC §6).

1. Authorize the total on the guest's card (PaymentIntent, manual capture). 3-D Secure: wait for
   Stripe's webhook (the `payment_event` signal) at most `payment_authentication_minutes`.
   Declined -> `payment_failed` (the dates are free again), the guest is told why.
2. Instant book: straight to capture. Request to book: `awaiting_host`, the host is told, and the
   `decide` update (accept/decline, only that listing's host, only now) is awaited for the host
   response window; no answer -> `expired`. Declined/expired: the hold is voided.
3. PaymentCaptureWorkflow (child) on acceptance: capture, ledger, invoice and receipt -> `confirmed`
   (an instant booking runs the same steps in its own run).
4. A durable timer until check-out -> `completed`. Check-in and check-out are UTC instants the API
   computed on the listing's local clock (the booking's frozen terms), so the run never reads the
   tz database; a request expires no later than check-in.
0. Placing (runs the API starts with update-with-start): the `place` update inserts the booking and
   its payment holding the nights (a local activity) and answers the API with the booking or why
   not (dates taken, too many unconfirmed bookings); refused, the run ends holding nothing. A
   repeat of the request joins the run and hears the same answer.
At any live stage the `cancel` update ends the wait it interrupts and runs the
CancellationRefundWorkflow (child): void or refund, credit note, `cancelled`, both told. The
update answers as soon as the cancellation is taken (a capture under way is waited for first).
5. Before check-in, the guest's `modify` update changes dates or guests (a request-to-book
   listing's host first accepts it with the `decide_change` update, within the host response
   window): the BookingChangeWorkflow (child) charges or refunds the difference and moves
   the nights; the wait for check-out then follows the new dates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.changes import ChangeActivities
    from activities.payments import PaymentActivities
    from workflows.payloads.booking import (
        AuthorizationOutcome,
        BookingNotices,
        BookingRef,
        BookingRequest,
        BookingState,
        HostDecision,
        PaymentEvent,
        Placement,
        PlacementOutcome,
        StatusChange,
        TimelineStep,
    )
    from workflows.payloads.change import ChangeOutcome, ChangeRef, ChangeRequest, ChangeStatus

from workflows.booking_change import BookingChangeWorkflow, ChangeResult, change_workflow_id
from workflows.cancellation import CancellationRefundWorkflow, CancellationRequest, cancellation_workflow_id
from workflows.messaging import deliver_messages
from workflows.payment_capture import PaymentCaptureWorkflow, capture_and_confirm, capture_workflow_id
from workflows.policies import DB, PROVIDER_RETRY
from workflows.review_reminders import ReviewPeriod, ReviewReminderWorkflow, review_workflow_id
from workflows.search_attributes import BOOKING_ID, BOOKING_STATUS, GUEST_ID, HOST_ID, LISTING_ID

PLACE_WINDOW = timedelta(hours=1)
"""How long a run started by update-with-start waits for its `place` update (lost only if the
Temporal server restarted before a worker took it; a repeat of the request brings it again)."""

MAX_HOLD = timedelta(days=6)
"""A card hold lasts at most 7 days at Stripe: no wait for the host may outlive it."""


def _instant(iso: str) -> dt.datetime:
    """A UTC instant the API put in a payload."""
    return dt.datetime.fromisoformat(iso)


def booking_workflow_id(booking_id: object) -> str:
    return f"booking-{booking_id}"


class Phase(StrEnum):
    """Where the run is. The status is what the marketplace sees; the phase says which messages the
    run can take now (a decision only while awaiting the host, a change only during the stay)."""

    starting = "starting"
    placing = "placing"
    """Waiting for (or running) the `place` update that inserts the booking's rows."""
    authorizing = "authorizing"
    """Holding the money on the card, 3-D Secure included."""
    awaiting_host = "awaiting_host"
    capturing = "capturing"
    """Taking the money: a cancellation or a change arriving now is taken once it is done."""
    staying = "staying"
    """Confirmed, until check-out: cancellable, changeable until check-in."""
    changing = "changing"
    """A change's money and nights are moving (BookingChangeWorkflow)."""
    cancelling = "cancelling"
    closing = "closing"
    """The outcome is decided (declined, expired, failed, completed): nothing more is taken."""


CANCELLABLE_PHASES = (Phase.authorizing, Phase.awaiting_host, Phase.staying)


class Changes:
    """The guest's changes of this booking: at most one open at a time, and how each one ended."""

    def __init__(self) -> None:
        self.open: ChangeRequest | None = None
        self.awaiting_host = False
        """The open change waits for the host's `decide_change`."""
        self.decision: HostDecision | None = None
        self.outcomes: dict[int, ChangeOutcome] = {}
        self.arriving: set[int] = set()
        """Changes taken by the update, waiting for the capture to finish before they start."""

    def knows(self, number: int) -> bool:
        return (
            number in self.outcomes or number in self.arriving or (self.open is not None and self.open.number == number)
        )

    def finish(self, change: ChangeRequest, status: str, reason: str = "", code: str = "") -> None:
        self.outcomes[change.number] = ChangeOutcome(change.number, status, reason, code)
        self.open = None
        self.awaiting_host = False
        self.decision = None


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class BookingWorkflow:
    @workflow.init
    def __init__(self, request: BookingRequest) -> None:
        # (The request is known from the start: a `place` update may come before `run` begins.)
        self._state = BookingState()
        self._request: BookingRequest | None = request
        self._phase = Phase.starting
        self._decision: HostDecision | None = None
        self._payment_events: list[PaymentEvent] = []
        self._cancellation: CancellationRequest | None = None
        self._changes = Changes()
        self._stay: tuple[str, str, int] = ("", "", 0)
        """Check-in, check-out and total as they are now (a change moves them)."""
        self._times = (dt.datetime.min.replace(tzinfo=dt.UTC),) * 2
        """The check-in and check-out instants as they are now (UTC)."""
        self._deliveries: list[asyncio.Task[bool]] = []
        self._placing = False
        self._placement: PlacementOutcome | None = None

    # -- helpers ------------------------------------------------------------------------

    def _step(self, step: str) -> None:
        self._state.timeline.append(TimelineStep(step, workflow.now().isoformat()))

    async def _db_step(self, activity: Any, arg: Any) -> Any:
        """A database-only step: a local activity, in the worker without a round trip through the
        server (still retried, and idempotent); measured by bench/booking.py at 20/s."""
        return await workflow.execute_local_activity_method(activity, arg, start_to_close_timeout=DB)

    async def _move(self, status: str, reason: str | None = None) -> None:
        assert self._request is not None
        await self._db_step(
            BookingActivities.set_booking_status, StatusChange(self._request.booking_id, status, reason)
        )
        self._state.status = status
        self._step(status)
        workflow.upsert_search_attributes([BOOKING_STATUS.value_set(status)])

    async def _tell(self, *kinds: str, reason: str = "", event: str = "") -> None:
        """Record the messages of one event, and deliver them in one activity by a task of this
        run (it lives long enough), not by a child workflow each."""
        assert self._request is not None
        message_ids = await self._db_step(
            BookingActivities.notify_all, BookingNotices(self._request.booking_id, list(kinds), reason, event)
        )
        self._deliveries.append(asyncio.create_task(deliver_messages(message_ids)))

    async def _void(self) -> None:
        assert self._request is not None
        await workflow.execute_activity_method(
            PaymentActivities.void_payment,
            BookingRef(self._request.booking_id),
            start_to_close_timeout=DB,
            retry_policy=PROVIDER_RETRY,
        )
        self._step("payment_voided")

    async def _cancel(self) -> str:
        """Carry out the cancellation that arrived by update (the money first, then the nights)."""
        assert self._cancellation is not None
        self._phase = Phase.cancelling
        await workflow.execute_child_workflow(
            CancellationRefundWorkflow.run,
            self._cancellation,
            id=cancellation_workflow_id(self._cancellation.booking_id),
            static_summary=f"Cancellation by the {self._cancellation.cancelled_by}",
        )
        self._state.status = "cancelled"
        self._step("cancelled")
        workflow.upsert_search_attributes([BOOKING_STATUS.value_set("cancelled")])
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state.status

    async def _change_status(self, change: ChangeRequest, status: str, reason: str | None = None) -> None:
        await workflow.execute_activity_method(
            ChangeActivities.set_change_status,
            ChangeStatus(change.booking_id, change.number, status, reason),
            start_to_close_timeout=DB,
        )

    async def _carry_out_change(self) -> None:
        """One change, start to end: the host's answer if needed, then the money and the nights."""
        assert self._request is not None and self._changes.open is not None
        change = self._changes.open
        event = f"change-{change.number}"
        if change.needs_host:
            await self._change_status(change, "awaiting_host")
            self._changes.awaiting_host = True
            self._step("change_requested")
            await self._tell("change_requested_host", reason=change.summary, event=event)
            window = min(
                timedelta(hours=self._request.host_response_hours),
                self._times[0] - workflow.now(),
            )
            try:
                await workflow.wait_condition(
                    lambda: self._changes.decision is not None or self._cancellation is not None,
                    timeout=max(window, timedelta(seconds=1)),
                )
            except TimeoutError:
                pass
            decision = self._changes.decision
            if self._cancellation is not None or decision is None or not decision.accept:
                outcome = (
                    "withdrawn" if self._cancellation is not None else "expired" if decision is None else "declined"
                )
                await self._change_status(
                    change, outcome, "The booking was cancelled." if outcome == "withdrawn" else None
                )
                self._step(f"change_{outcome}")
                self._changes.finish(change, outcome)
                if outcome != "withdrawn":
                    await self._tell(f"change_{outcome}", event=event)
                return
        self._phase = Phase.changing
        try:
            result: ChangeResult = await workflow.execute_child_workflow(
                BookingChangeWorkflow.run,
                ChangeRef(change.booking_id, change.number),
                id=change_workflow_id(change.booking_id, change.number),
                static_summary=f"Change {change.number}: {change.summary}",
            )
        except ChildWorkflowError as err:
            # Stripe refused for good (or a step failed past its retries): release any hold of the
            # change, record it failed, and keep the stay running rather than fail the booking.
            await workflow.execute_activity_method(
                PaymentActivities.void_change,
                ChangeRef(change.booking_id, change.number),
                start_to_close_timeout=DB,
                retry_policy=PROVIDER_RETRY,
            )
            moved = await workflow.execute_activity_method(
                ChangeActivities.settle_failed_change,
                ChangeStatus(change.booking_id, change.number, "failed", str(err.cause or err), "failed"),
                start_to_close_timeout=DB,
            )
            if moved:  # the nights had moved: the booking keeps them, as its rows say; money is an operator's
                result = ChangeResult(applied=True)
            else:
                reason = "The change could not be completed; nothing more was charged."
                result = ChangeResult(applied=False, reason=reason, code="failed")
        self._phase = Phase.staying
        if result.applied:
            self._stay = (change.check_in, change.check_out, change.total or self._stay[2])
            self._times = (_instant(change.check_in_at), _instant(change.check_out_at))
            self._step("changed")
            self._changes.finish(change, "applied")
            await self._tell("booking_modified", "booking_modified_host", reason=change.summary, event=event)
        else:
            self._step("change_failed")
            self._changes.finish(change, "failed", result.reason, result.code)
            await self._tell("change_failed", reason=result.reason, event=event)

    # -- the process ----------------------------------------------------------------------

    @workflow.run
    async def run(self, request: BookingRequest) -> str:
        status = await self._run(request)
        # The outcome is applied; the run stays open only until its messages are delivered.
        await asyncio.gather(*self._deliveries)
        return status

    async def _run(self, request: BookingRequest) -> str:
        self._request = request
        self._stay = (request.check_in, request.check_out, request.total)
        self._times = (_instant(request.check_in_at), _instant(request.check_out_at))
        ref = BookingRef(request.booking_id)
        if request.await_placement:
            self._phase = Phase.placing
            try:
                await workflow.wait_condition(lambda: self._placement is not None, timeout=PLACE_WINDOW)
            except TimeoutError:
                await workflow.wait_condition(lambda: self._placement is not None or not self._placing)
            if self._placement is None or self._placement.outcome != "placed":
                # Nothing was stored: the run ends holding nothing, its result the answer a repeat gets.
                self._phase = Phase.closing
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self._placement.outcome if self._placement is not None else "expired"
        workflow.upsert_search_attributes(
            [
                BOOKING_ID.value_set(request.booking_id),
                LISTING_ID.value_set(request.listing_id),
                GUEST_ID.value_set(request.guest_id),
                HOST_ID.value_set(request.host_id),
                BOOKING_STATUS.value_set("pending_payment"),
            ]
        )
        self._step("requested")

        self._phase = Phase.authorizing
        auth: AuthorizationOutcome = await workflow.execute_activity_method(
            PaymentActivities.authorize_payment, ref, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY
        )
        if self._cancellation is not None:
            return await self._cancel()
        if auth.outcome == "requires_action":
            self._step("authentication_required")
            try:
                await workflow.wait_condition(
                    lambda: bool(self._payment_events) or self._cancellation is not None,
                    timeout=timedelta(minutes=request.payment_authentication_minutes),
                )
            except TimeoutError:
                pass
            if self._cancellation is not None:
                return await self._cancel()
            auth = await workflow.execute_activity_method(
                PaymentActivities.confirm_authentication, ref, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY
            )
            if self._cancellation is not None:
                return await self._cancel()
        if auth.outcome != "authorized":
            self._phase = Phase.closing
            await self._move("payment_failed", auth.message)
            await self._tell("payment_failed", reason=auth.message)
            return self._state.status
        self._step("payment_authorized")

        if not request.instant_book:
            self._phase = Phase.awaiting_host
            await self._move("awaiting_host")
            await self._tell("booking_requested")
            # The request lapses at the host's deadline, but never after check-in.
            window = max(
                min(timedelta(hours=request.host_response_hours), MAX_HOLD, self._times[0] - workflow.now()),
                timedelta(seconds=1),
            )
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None or self._cancellation is not None, timeout=window
                )
            except TimeoutError:
                pass
            if self._cancellation is not None:
                return await self._cancel()
            if self._decision is None or not self._decision.accept:
                self._phase = Phase.closing
                outcome: Literal["declined", "expired"] = "expired" if self._decision is None else "declined"
                await self._void()
                await self._move(outcome, "The host did not answer in time." if outcome == "expired" else None)
                await self._tell(f"booking_{outcome}")
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self._state.status

        self._phase = Phase.capturing
        try:
            if request.instant_book:
                # An instant booking waits for nobody, so it captures in its own run (the child's
                # very steps): a third less CPU for the Temporal server per booking (bench/booking.py
                # at 20/s). Accepted requests keep the PaymentCaptureWorkflow child (SPEC §6 step 4).
                await capture_and_confirm(ref)
            else:
                await workflow.execute_child_workflow(
                    PaymentCaptureWorkflow.run,
                    ref,
                    id=capture_workflow_id(request.booking_id),
                    static_summary="Capture, ledger, invoice and receipt",
                )
        except (ChildWorkflowError, ActivityError) as err:
            # Stripe refused the capture for good (an expired or cancelled hold): release what is
            # left, free the nights, tell the guest, instead of failing with the dates held.
            self._phase = Phase.closing
            await self._void()
            await self._move("payment_failed", f"The payment could not be captured: {err.cause or err}")
            await self._tell("payment_failed", reason="The payment could not be taken; nothing was charged.")
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self._state.status
        self._phase = Phase.staying
        self._step("payment_captured")
        self._state.status = "confirmed"
        self._step("confirmed")
        workflow.upsert_search_attributes([BOOKING_STATUS.value_set("confirmed")])
        await self._tell("booking_confirmed", "booking_confirmed_host", "payment_receipt")

        # Until check-out (which a change may move): cancellable, changeable until check-in.
        while True:
            until_check_out = self._times[1] - workflow.now()
            if until_check_out > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._cancellation is not None or self._changes.open is not None,
                        timeout=until_check_out,
                    )
                except TimeoutError:
                    pass
            if self._cancellation is not None:
                if self._changes.open is not None:  # a change taken but not started: the cancellation wins
                    await self._change_status(self._changes.open, "withdrawn", "The booking was cancelled.")
                    self._changes.finish(self._changes.open, "withdrawn")
                return await self._cancel()
            if self._changes.open is None:
                break
            await self._carry_out_change()
        self._phase = Phase.closing
        await self._move("completed")
        await workflow.start_child_workflow(
            ReviewReminderWorkflow.run,
            ReviewPeriod(request.booking_id, workflow.now().isoformat(), request.review_window_days),
            id=review_workflow_id(request.booking_id),
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary="Review reminders and publication",
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state.status

    # -- messages -------------------------------------------------------------------------

    @workflow.update
    async def place(self, placement: Placement) -> PlacementOutcome:
        """Insert the booking holding its nights (once: a repeat waits for and hears the first answer)."""
        assert self._request is not None
        if not self._placing:
            self._placing = True
            self._placement = await self._db_step(BookingActivities.place_booking, placement)
        await workflow.wait_condition(lambda: self._placement is not None)
        assert self._placement is not None
        return self._placement

    @place.validator
    def _validate_place(self, placement: Placement) -> None:
        assert self._request is not None
        if placement.booking_id != self._request.booking_id or placement.guest_id != self._request.guest_id:
            raise ValueError("this placement is not this run's booking")
        if placement.request_hash != self._request.request_hash:
            raise ApplicationError("This Idempotency-Key was used with a different request.", type="KeyReused")
        if not self._request.await_placement or (self._phase == Phase.closing and self._placement is None):
            raise ApplicationError(
                "This request expired before the booking was made; send it with a new Idempotency-Key.",
                type="PlacementExpired",
            )

    @workflow.update
    async def decide(self, decision: HostDecision) -> str:
        """The host accepts or declines; answers with the booking's status once it has moved.

        A decision that arrives while the authorization is still being run (or retried after a
        worker was killed: the database may say `awaiting_host` before this run's history does)
        waits for it, and is then judged on where the booking really is. The same decision again
        (a client's retry) is answered like the first."""
        if self._decision is None:
            await workflow.wait_condition(self._hold_settled)
            refusal = self._decision_refusal()
            if refusal is not None:
                raise ApplicationError(refusal, type="DecisionRefused")
            self._decision = decision
        elif self._decision != decision:
            raise ApplicationError("the host has already answered this request", type="DecisionRefused")
        await workflow.wait_condition(lambda: self._state.status not in ("pending_payment", "awaiting_host"))
        return self._state.status

    @decide.validator
    def _validate_decision(self, decision: HostDecision) -> None:
        assert self._request is not None
        if decision.host_id != self._request.host_id:
            raise ValueError("only this listing's host can decide")
        if self._decision is not None and self._decision == decision:
            return  # the same answer again: answered with how it went
        if self._phase in (Phase.starting, Phase.authorizing) and not self._request.instant_book:
            if self._cancellation is not None:
                raise ValueError("this booking is being cancelled")
            return  # judged by the update once the card hold is settled
        refusal = self._decision_refusal()
        if refusal is not None:
            raise ValueError(refusal)

    def _hold_settled(self) -> bool:
        """The authorization is over and its outcome applied (a failed one has moved the status)."""
        if self._phase in (Phase.starting, Phase.authorizing):
            return False
        return self._phase != Phase.closing or self._state.status != "pending_payment"

    def _decision_refusal(self) -> str | None:
        if self._cancellation is not None:
            return "this booking is being cancelled"
        if self._phase != Phase.awaiting_host or self._decision is not None:
            return f"this booking is {self._state.status}, not awaiting the host"
        return None

    @workflow.update
    async def cancel(self, request: CancellationRequest) -> str:
        """Cancel at any live stage. Answers `cancelling` as soon as the cancellation is taken (a
        capture under way is waited for first); the run then settles the money and frees the
        nights. A refusal after the capture fails the update with the reason."""
        await workflow.wait_condition(lambda: self._phase not in (Phase.starting, Phase.capturing))
        refusal = self._cancel_refusal(request)
        if refusal is not None:
            raise ApplicationError(refusal, type="CancellationRefused")
        self._cancellation = request
        return Phase.cancelling.value

    @cancel.validator
    def _validate_cancel(self, request: CancellationRequest) -> None:
        # Decided by the update once the run's first step or the capture under way is done: a
        # retried workflow task may meet the update before the step the database already shows.
        if self._phase in (Phase.starting, Phase.capturing):
            if self._cancellation is not None:
                raise ValueError("this booking is already being cancelled")
            return
        refusal = self._cancel_refusal(request)
        if refusal is not None:
            raise ValueError(refusal)

    def _cancel_refusal(self, request: CancellationRequest) -> str | None:
        if self._cancellation is not None:
            return "this booking is already being cancelled"
        if self._phase not in CANCELLABLE_PHASES:
            return f"this booking cannot be cancelled right now ({self._state.status}); try again in a moment"
        if request.captured != (self._phase == Phase.staying):
            # The refund was decided on a payment status that has changed since: decide again.
            return "the payment changed while cancelling; try again"
        if request.total and self._stay[2] and request.total != self._stay[2]:
            return "the booking was changed while cancelling; try again"
        return None

    @workflow.update
    async def modify(self, change: ChangeRequest) -> ChangeOutcome:
        """The guest changes dates or guests. Answers when the change is applied or refused, or,
        on a request-to-book listing, once the host has been asked (`awaiting_host`)."""
        changes = self._changes
        if not changes.knows(change.number):  # (the same request again is answered with how it went)
            changes.arriving.add(change.number)
            # A booking whose capture is finishing (already `confirmed` for the API) is changed right after.
            await workflow.wait_condition(lambda: self._phase != Phase.capturing)
            changes.arriving.discard(change.number)
            refusal = (
                f"this booking cannot be changed ({self._state.status})"
                if self._phase != Phase.staying or self._cancellation is not None
                else "another change of this booking is still open"
                if changes.open is not None
                else None
            )
            if refusal is not None:  # (kept, so that the same request again hears the same)
                changes.outcomes[change.number] = ChangeOutcome(change.number, "failed", refusal, "refused")
                raise ApplicationError(refusal, type="ChangeRefused")
            changes.open = change
        await workflow.wait_condition(
            lambda: (
                change.number in changes.outcomes
                or (changes.open is not None and changes.open.number == change.number and changes.awaiting_host)
            )
        )
        return changes.outcomes.get(change.number) or ChangeOutcome(change.number, "awaiting_host")

    @modify.validator
    def _validate_modify(self, change: ChangeRequest) -> None:
        assert self._request is not None
        if change.guest_id != self._request.guest_id:
            raise ValueError("only the guest can change a booking")
        if self._changes.knows(change.number):
            return  # the same request again (a retry): answered with how it went
        if self._phase not in (Phase.staying, Phase.capturing) or self._cancellation is not None:
            raise ValueError(f"this booking cannot be changed right now ({self._state.status})")
        if self._changes.open is not None:
            raise ValueError("another change of this booking is still open")
        if workflow.now() >= self._times[0]:
            raise ValueError("the stay has started; it can no longer be changed")

    @workflow.update
    async def decide_change(self, decision: HostDecision) -> ChangeOutcome:
        """The host accepts or declines the guest's change; answers with how the change ended."""
        assert self._changes.open is not None
        number = self._changes.open.number
        self._changes.decision = decision
        await workflow.wait_condition(lambda: number in self._changes.outcomes)
        return self._changes.outcomes[number]

    @decide_change.validator
    def _validate_change_decision(self, decision: HostDecision) -> None:
        assert self._request is not None
        if decision.host_id != self._request.host_id:
            raise ValueError("only this listing's host can decide")
        changes = self._changes
        if not changes.awaiting_host or changes.decision is not None or self._cancellation is not None:
            raise ValueError("no change of this booking is awaiting your answer")

    @workflow.signal
    def payment_event(self, event: PaymentEvent) -> None:
        self._payment_events.append(event)
        self._step(f"stripe_{event.kind}")

    @workflow.query
    def timeline(self) -> list[TimelineStep]:
        return list(self._state.timeline)

    @workflow.query
    def status(self) -> str:
        return self._state.status

    @workflow.query
    def phase(self) -> str:
        return self._phase.value

    @workflow.query
    def knows_change(self, number: int) -> bool:
        """Whether change `number` ever reached this run (the API's check for a lost request)."""
        return self._changes.knows(number)
