"""Paying hosts: Stripe Connect transfers and their reversals, with the payout's row and its
journal entry in one transaction. With `activities/payments.py` the only Stripe caller.

Charge model: separate charges and transfers. The guest's PaymentIntent is the platform's own
charge; the host's earnings (`stayflow.rules.payouts.host_earnings`) stay in the platform's
balance until the payout's release (check-in + the platform's payout delay), then go to the
host's Express account as one Transfer (idempotency key `payout-<booking id>-transfer-<attempt>`,
the attempt counting refusals only). A refund after release takes the host's overpaid share
back with a Transfer reversal (`payout-<booking id>-reversal-<reversed so far>`).

The host is told of a paid payout (`payout_paid`), and host and admins of a refused one
(`payout_failed`, `payout_failed_admin`, once per payout), recorded in the transaction that records
the payout's status: the PayoutWorkflow's own commands stay as they were, and each recorded
message goes out in a `DeliverMessageWorkflow` of its own, started here once it is committed.
"""

from __future__ import annotations

import datetime as dt
import logging
from uuid import UUID

from temporalio import activity
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.ledger import HOST_PAYABLE, STRIPE_BALANCE, allocate, host_balance, json_value, post_entry
from activities.notifications import record_notification
from models import Booking, HostPayoutAccount, Listing, Payout, PlatformSettings, User
from stayflow import templates
from stayflow.providers.payments import PaymentRejected, StripePayments
from stayflow.rules.payouts import DEFAULT_PAYOUT_DELAY_HOURS, host_earnings, payout_release_at
from stayflow.rules.roles import Role
from stayflow.rules.stays import UTC_CLOCK
from stayflow.rules.terms import stored_terms
from stayflow.settings import Settings
from workflows.payloads.notifications import DeliverMessage
from workflows.payloads.payouts import PayoutOutcome, PayoutPlan, PayoutRef

FINAL = ("paid", "partially_reversed", "reversed", "cancelled")

log = logging.getLogger("stayflow.worker")


def payout_workflow_id(booking_id: object) -> str:
    return f"payout-{booking_id}"


async def _delay_hours() -> int:
    row = await PlatformSettings.select(PlatformSettings.payout_delay_hours).first()
    return int(row["payout_delay_hours"]) if row else DEFAULT_PAYOUT_DELAY_HOURS


async def schedule_payout(booking: Booking) -> None:
    """The booking's payout row (once): the host's earnings by its terms, released after check-in.
    Called in the capture's transaction."""
    terms = stored_terms(booking.terms) if booking.terms else None
    due = host_earnings(json_value(booking.price) or {}, terms).amount if terms else 0
    await Payout.raw(
        """INSERT INTO payouts (id, booking, host, amount, currency, status, release_at, created_at, updated_at)
           VALUES (gen_random_uuid(), {}, {}, {}, {}, 'scheduled', {}, now(), now())
           ON CONFLICT (booking) DO NOTHING""",
        booking.id,
        booking.host,
        due,
        booking.currency,
        payout_release_at(booking.check_in, await _delay_hours(), terms.clock if terms else UTC_CLOCK),
    )


async def start_payout_workflow(booking_id: str) -> None:
    """Start `payout-<booking id>` from the capture activity, once (an existing run is kept)."""
    from workflows.payout import PayoutWorkflow

    booking = await Booking.objects().get(Booking.id == UUID(booking_id))
    assert booking is not None
    try:
        await activity.client().start_workflow(
            PayoutWorkflow.run,
            PayoutRef(booking_id),
            id=payout_workflow_id(booking_id),
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Payout of booking {booking_id} to host {booking.host}",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(SearchAttributeKey.for_keyword("BookingId"), booking_id),
                    SearchAttributePair(SearchAttributeKey.for_keyword("HostId"), str(booking.host)),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        pass  # it ran and finished already (a retried capture): nothing to start


class PayoutActivities:
    def __init__(self, payments: StripePayments, settings: Settings) -> None:
        self.payments = payments
        self.settings = settings

    @activity.defn
    async def payout_plan(self, ref: PayoutRef) -> PayoutPlan:
        """The payout's state, its release moved with the booking's check-in (a change of dates)."""
        booking = await Booking.objects().get(Booking.id == UUID(ref.booking_id))
        payout = await Payout.objects().get(Payout.booking == UUID(ref.booking_id))
        assert booking is not None and payout is not None
        if payout.status in ("scheduled", "failed"):
            clock = stored_terms(booking.terms).clock if booking.terms else UTC_CLOCK
            release_at = payout_release_at(booking.check_in, await _delay_hours(), clock)
            if release_at != payout.release_at and payout.status == "scheduled":
                await Payout.update({Payout.release_at: release_at}).where(Payout.id == payout.id)
                payout.release_at = release_at
        return PayoutPlan(status=str(payout.status), release_at=payout.release_at.isoformat())

    @activity.defn
    async def release_payout(self, ref: PayoutRef) -> PayoutOutcome:
        """Transfer what the books say the host is owed on the booking (nothing after a full
        refund). A refusal (an account that cannot be paid) is recorded as `failed`, to retry."""
        booking_id = UUID(ref.booking_id)
        booking = await Booking.objects().get(Booking.id == booking_id)
        payout = await Payout.objects().get(Payout.booking == booking_id)
        assert booking is not None and payout is not None
        if payout.status in FINAL or payout.status == "held":
            if payout.transfer_id:  # a retry after the transfer committed: its notice goes out once
                await _deliver(await self._tell_paid(booking, payout, payout.amount))
            return PayoutOutcome(str(payout.status), payout.amount)
        async with Payout._meta.db.transaction():
            await allocate(booking, f"release:{payout.id}")  # the split as of now (a change, a refund)
        due = await host_balance(booking_id)
        if due <= 0:
            await Payout.update({Payout.status: "cancelled", Payout.amount: 0, Payout.updated_at: _now()}).where(
                Payout.id == payout.id
            )
            return PayoutOutcome("cancelled", 0, "Nothing is left to pay after the cancellation.")
        account = await HostPayoutAccount.objects().get(HostPayoutAccount.host == booking.host)
        if account is None:
            return await self._refused(booking, payout, due, "The host has not set up payouts yet.")
        message_ids: list[str] = []
        refusal: str | None = None
        # The transfer is made under the payout row's lock: a dispute that opens meanwhile holds the
        # payout (activities/disputes.py) either before it (nothing is sent) or after it is recorded
        # as paid (a lost dispute then takes it back by a reversal); never in between.
        async with Payout._meta.db.transaction():
            [row] = await Payout.raw("SELECT status FROM payouts WHERE id = {} FOR UPDATE", payout.id)
            if row["status"] not in ("scheduled", "failed"):
                return PayoutOutcome(str(row["status"]), payout.amount)
            try:
                transfer_id = await self.payments.transfer(
                    amount=due,
                    currency=payout.currency,
                    destination=account.account_id,
                    idempotency_key=f"payout-{booking_id}-transfer-{payout.attempts}",
                    metadata={"booking_id": str(booking_id), "payout_id": str(payout.id)},
                )
            except PaymentRejected as exc:
                refusal = str(exc)
            else:
                if await post_entry(
                    f"transfer:{payout.id}:{payout.attempts}", "transfer", booking_id, payout.currency,
                    [(HOST_PAYABLE, due, 0), (STRIPE_BALANCE, 0, due)],
                ):  # fmt: skip
                    await Payout.update(
                        {Payout.status: "paid", Payout.amount: due, Payout.transfer_id: transfer_id,
                         Payout.failure_message: None, Payout.updated_at: _now()}
                    ).where(Payout.id == payout.id)  # fmt: skip
                    message_ids = await self._tell_paid(booking, payout, due)
        if refusal is not None:
            return await self._refused(booking, payout, due, refusal)
        await _deliver(message_ids)
        await reverse_overpaid_payout(self.payments, booking)  # a refund that raced the release
        return PayoutOutcome("paid", due)

    async def _refused(self, booking: Booking, payout: Payout, due: int, message: str) -> PayoutOutcome:
        """Stripe (or the host's missing account) refused: `failed`, shown to admins, tried again.
        The first refusal of a payout is told to the host and to every admin."""
        async with Payout._meta.db.transaction():
            await Payout.raw(
                "UPDATE payouts SET status = 'failed', amount = {}, failure_message = {}, attempts = attempts + 1,"
                " updated_at = now() WHERE id = {} AND status IN ('scheduled', 'failed')",  # a dispute's hold stays
                due,
                message,
                payout.id,
            )
            message_ids = await self._tell_refused(booking, payout, due, message)
        await _deliver(message_ids)
        return PayoutOutcome("failed", due, message)

    def _url(self, path: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/api/v1/{path}"

    async def _tell_paid(self, booking: Booking, payout: Payout, amount: int) -> list[str]:
        """Record the host's `payout_paid` notice (once per payout); the ids of its messages."""
        host, title = await _host_and_title(booking)
        url = self._url("host/payouts")
        return await record_notification(
            user_id=host.id,
            kind="payout_paid",
            dedupe_key=f"payout_paid:{payout.id}",
            notice=templates.payout_paid_email(
                full_name=host.full_name,
                title=title,
                check_in=booking.check_in.isoformat(),
                check_out=booking.check_out.isoformat(),
                amount=amount,
                currency=payout.currency,
                url=url,
            ),
            link=url,
        )

    async def _tell_refused(self, booking: Booking, payout: Payout, amount: int, reason: str) -> list[str]:
        """Record `payout_failed` for the host and `payout_failed_admin` for every admin (once per payout)."""
        host, title = await _host_and_title(booking)
        account_url = self._url("host/payouts/account")
        ids = await record_notification(
            user_id=host.id,
            kind="payout_failed",
            dedupe_key=f"payout_failed:{payout.id}",
            notice=templates.payout_failed_email(
                full_name=host.full_name,
                title=title,
                amount=amount,
                currency=payout.currency,
                reason=reason,
                account_url=account_url,
            ),
            link=account_url,
        )
        booking_url = self._url(f"admin/bookings/{booking.id}")
        for admin in await User.objects().where((User.role == Role.admin) & User.suspended_at.is_null()):
            ids += await record_notification(
                user_id=admin.id,
                kind="payout_failed_admin",
                dedupe_key=f"payout_failed_admin:{payout.id}:{admin.id}",
                notice=templates.payout_failed_admin_email(
                    full_name=admin.full_name,
                    host_name=host.full_name,
                    title=title,
                    amount=amount,
                    currency=payout.currency,
                    reason=reason,
                    url=booking_url,
                ),
                link=booking_url,
            )
        return ids


async def _host_and_title(booking: Booking) -> tuple[User, str]:
    host = await User.objects().get(User.id == booking.host)
    listing = await Listing.select(Listing.title).where(Listing.id == booking.listing).first()
    assert host is not None
    return host, listing["title"] if listing else "your listing"


async def _deliver(message_ids: list[str]) -> None:
    """Start one `DeliverMessageWorkflow` per recorded message (as `deliver_in_background` does,
    with the same ids: a message is never delivered twice), on this run's task queue."""
    from workflows.messaging import DeliverMessageWorkflow

    if not message_ids:
        return
    try:
        client = activity.client()
    except RuntimeError:  # run outside a worker (an ActivityEnvironment without a client)
        log.warning("no Temporal client: messages %s stay queued", ", ".join(message_ids))
        return
    for message_id in message_ids:
        try:
            await client.start_workflow(
                DeliverMessageWorkflow.run,
                DeliverMessage(message_id),
                id=f"deliver-message-{message_id}",
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary="Deliver a notification",
            )
        except WorkflowAlreadyStartedError:
            pass  # on its way already (or delivered): one delivery per message


async def reverse_overpaid_payout(payments: StripePayments, booking: Booking) -> int:
    """After a refund: take back from the host what the books say was overpaid (Transfer
    reversal), at most what was transferred. Returns the amount reversed now."""
    payout = await Payout.objects().get(Payout.booking == booking.id)
    if payout is None or not payout.transfer_id or payout.status not in ("paid", "partially_reversed"):
        return 0
    overpaid = -(await host_balance(booking.id))
    amount = min(overpaid, payout.amount - payout.reversed)
    if amount <= 0:
        return 0
    await payments.reverse_transfer(
        transfer_id=payout.transfer_id,
        amount=amount,
        idempotency_key=f"payout-{booking.id}-reversal-{payout.reversed}",
    )
    async with Payout._meta.db.transaction():
        if await post_entry(
            f"reversal:{payout.id}:{payout.reversed}", "transfer_reversal", booking.id, payout.currency,
            [(STRIPE_BALANCE, amount, 0), (HOST_PAYABLE, 0, amount)],
        ):  # fmt: skip
            reversed_total = payout.reversed + amount
            status = "reversed" if reversed_total >= payout.amount else "partially_reversed"
            await Payout.update(
                {Payout.reversed: reversed_total, Payout.status: status, Payout.updated_at: _now()}
            ).where(Payout.id == payout.id)
    return amount


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
