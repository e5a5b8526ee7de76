"""Disputes (chargebacks): the dispute's row and its journal entries in one transaction, the
booking's payout held while it is open, the evidence submitted to Stripe, and the outcome.
Every activity is keyed by the Stripe dispute id, so a retry (or a redelivered webhook) does
nothing twice. The policy is `stayflow.rules.disputes`; the ledger's accounts `activities/ledger.py`:

| event        | debit                                            | credit                              |
| ------------ | ------------------------------------------------ | ----------------------------------- |
| opened       | `disputed_funds` (amount), `dispute_fees` (fee)  | `stripe_balance`                    |
| won          | `stripe_balance`                                 | `disputed_funds`, `dispute_fees` (fee back) |
| lost         | `dispute_losses`                                 | `disputed_funds`                    |
| host's share | `host_payable`                                   | `dispute_losses`                    |
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from temporalio import activity

from activities.ledger import (
    DISPUTE_FEES,
    DISPUTE_LOSSES,
    DISPUTED_FUNDS,
    HOST_PAYABLE,
    STRIPE_BALANCE,
    accrued_host_earnings,
    json_value,
    post_entry,
)
from activities.notifications import record_notification
from activities.payouts import reverse_overpaid_payout
from models import (
    Booking,
    Conversation,
    ConversationMessage,
    Dispute,
    Invoice,
    LedgerEntry,
    LedgerPosting,
    Listing,
    Payout,
    User,
)
from models.identity import Role
from stayflow import templates
from stayflow.providers.payments import PaymentRejected, StripePayments
from stayflow.rules.disputes import (
    EvidenceFacts,
    dispute_evidence,
    dispute_settlement,
    host_share_of_loss,
    outcome_of,
)
from stayflow.rules.stays import UTC_CLOCK
from stayflow.rules.terms import stored_terms
from stayflow.settings import Settings
from stayflow.templates import Notice
from workflows.payloads.payouts import (
    DisputeClosed,
    DisputeNotice,
    DisputeOpened,
    DisputeOutcome,
    DisputeRef,
    EvidenceSubmitted,
)


class DisputeActivities:
    def __init__(self, payments: StripePayments, settings: Settings) -> None:
        self.payments = payments
        self.settings = settings

    @activity.defn
    async def open_dispute(self, opened: DisputeOpened) -> bool:
        """Record the dispute and the money the bank took (Dr disputed_funds and dispute_fees /
        Cr stripe_balance) in one transaction, and hold the booking's unreleased payout. True when
        a payout is held (the workflow tells the payout's run)."""
        booking_id = UUID(opened.booking_id)
        due_by = dt.datetime.fromisoformat(opened.due_by) if opened.due_by else None
        async with Dispute._meta.db.transaction():
            await Dispute.raw(
                """INSERT INTO disputes (id, booking, intent_id, amount, currency, status, reason, evidence_due_by,
                   fee, created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, now(), now())
                   ON CONFLICT (id) DO NOTHING""",
                opened.dispute_id, booking_id, opened.intent_id, opened.amount, opened.currency, opened.status,
                opened.reason[:60], due_by, opened.fee,
            )  # fmt: skip
            await post_entry(
                f"dispute:{opened.dispute_id}", "dispute", booking_id, opened.currency,
                [(DISPUTED_FUNDS, opened.withdrawn, 0), (DISPUTE_FEES, opened.fee, 0),
                 (STRIPE_BALANCE, 0, opened.withdrawn + opened.fee)],
            )  # fmt: skip
            await Payout.raw(
                "UPDATE payouts SET status = 'held', updated_at = now()"
                " WHERE booking = {} AND status IN ('scheduled', 'failed')",
                booking_id,
            )
        return await Payout.exists().where((Payout.booking == booking_id) & (Payout.status == "held"))

    @activity.defn
    async def submit_evidence(self, ref: DisputeRef) -> EvidenceSubmitted:
        """Assemble the booking's evidence and submit it to Stripe (idempotency key from the dispute).
        A refusal (the dispute no longer takes evidence) is answered, not raised: admins are told."""
        dispute = await _dispute(ref.dispute_id)
        evidence = dispute_evidence(await evidence_facts(dispute))
        if dispute.evidence_submitted_at is not None:
            return EvidenceSubmitted(dispute.evidence_submitted_at.isoformat(), sorted(evidence))
        try:
            status = await self.payments.submit_dispute_evidence(
                dispute_id=dispute.id, evidence=evidence, idempotency_key=f"dispute-{dispute.id}-evidence"
            )
        except PaymentRejected as exc:
            return EvidenceSubmitted("", [], str(exc))
        now = dt.datetime.now(dt.UTC)
        await Dispute.raw(
            "UPDATE disputes SET evidence_submitted_at = {}, status = {}, updated_at = now()"
            " WHERE id = {} AND evidence_submitted_at IS NULL AND outcome IS NULL",
            now, status, dispute.id,
        )  # fmt: skip
        return EvidenceSubmitted(now.isoformat(), sorted(evidence))

    @activity.defn
    async def close_dispute(self, closed: DisputeClosed) -> DisputeOutcome:
        """The bank decided. In one transaction with the dispute's status: won, the funds (and the
        fee, if Stripe gave it back) return to the balance; lost, they are a loss, of which the host
        bears what they earned on the booking. The payout is then released (won), cut, or taken
        back by a Transfer reversal if already paid (lost)."""
        dispute = await _dispute(closed.dispute_id)
        booking = await Booking.objects().get(Booking.id == dispute.booking)
        assert booking is not None
        outcome = outcome_of(closed.status) or "lost"
        if dispute.outcome is None:
            withdrawn = await _withdrawn(dispute.id)
            settlement = dispute_settlement(withdrawn, closed.reinstated, min(closed.fee_returned, dispute.fee))
            async with Dispute._meta.db.transaction():
                claimed = await Dispute.raw(
                    "UPDATE disputes SET status = {}, outcome = {}, closed_at = now(), updated_at = now()"
                    " WHERE id = {} AND outcome IS NULL RETURNING id",
                    closed.status, outcome, dispute.id,
                )  # fmt: skip
                if claimed:
                    await self._settle(dispute, booking, settlement.disputed_back, settlement.lost,
                                       settlement.fee_back)  # fmt: skip
            dispute = await _dispute(closed.dispute_id)
        message = ""
        if dispute.recovered_from_host:
            try:
                await reverse_overpaid_payout(self.payments, booking)  # the payout went out already
            except PaymentRejected as exc:  # the host's account cannot give it back: the books say it is owed
                message = f"The transfer reversal was refused: {exc}"
        return DisputeOutcome(str(dispute.outcome), dispute.amount, dispute.recovered_from_host, message)

    async def _settle(self, dispute: Dispute, booking: Booking, back: int, lost: int, fee_back: int) -> None:
        """The outcome's journal entries and the payout's next step (inside the close's transaction)."""
        await post_entry(
            f"dispute_closed:{dispute.id}", "dispute_closed", booking.id, dispute.currency,
            [(STRIPE_BALANCE, back + fee_back, 0), (DISPUTE_LOSSES, lost, 0),
             (DISPUTED_FUNDS, 0, back + lost), (DISPUTE_FEES, 0, fee_back)],
        )  # fmt: skip
        if lost:
            earlier = await Dispute.raw(
                "SELECT COALESCE(SUM(recovered_from_host), 0) AS taken FROM disputes WHERE booking = {} AND id <> {}",
                booking.id, dispute.id,
            )  # fmt: skip
            share = host_share_of_loss(lost, await accrued_host_earnings(booking.id), int(earlier[0]["taken"]))
            if share and await post_entry(
                f"dispute_recovery:{dispute.id}", "dispute_recovery", booking.id, dispute.currency,
                [(HOST_PAYABLE, share, 0), (DISPUTE_LOSSES, 0, share)],
            ):  # fmt: skip
                await Dispute.update({Dispute.recovered_from_host: share}).where(Dispute.id == dispute.id)
        still_open = await Dispute.exists().where(
            (Dispute.booking == booking.id) & Dispute.outcome.is_null() & (Dispute.id != dispute.id)
        )
        if not still_open:  # the payout goes on: released as scheduled, or cut to what the books leave
            await Payout.raw(
                "UPDATE payouts SET status = 'scheduled', updated_at = now() WHERE booking = {} AND status = 'held'",
                booking.id,
            )

    @activity.defn
    async def tell_about_dispute(self, notice: DisputeNotice) -> list[str]:
        """Admins and the host hear of a dispute opened or decided; admins of evidence that could
        not be submitted. Returns the messages to deliver (recorded once per event and user)."""
        dispute = await _dispute(notice.dispute_id)
        booking = await Booking.objects().get(Booking.id == dispute.booking)
        assert booking is not None
        listing = await Listing.select(Listing.title).where(Listing.id == booking.listing).first()
        title = listing["title"] if listing else "a listing"
        amount = templates.money(dispute.amount, dispute.currency)
        due = f"by {dispute.evidence_due_by:%Y-%m-%d %H:%M} UTC" if dispute.evidence_due_by else "soon"
        stay = f"{booking.check_in.isoformat()} to {booking.check_out.isoformat()}"
        taken = templates.money(dispute.recovered_from_host, dispute.currency) if dispute.recovered_from_host else ""
        won = dispute.outcome == "won"
        base = self.settings.public_url.rstrip("/")
        admin_url, host_url = f"{base}/api/v1/admin/disputes", f"{base}/api/v1/host/payouts"
        admins = await User.objects().where((User.role == Role.admin) & User.suspended_at.is_null())
        host = await User.objects().get(User.id == booking.host) if booking.host else None
        told: list[tuple[User, str, Notice, str]] = []  # who, kind, what, link
        for user in admins:
            name = user.full_name
            if notice.event == "opened":
                what = templates.dispute_opened_email(full_name=name, title=title, amount=amount,
                                                      reason=dispute.reason, due=due, url=admin_url)  # fmt: skip
                told.append((user, "dispute_opened", what, admin_url))
            elif notice.event == "closed":
                what = templates.dispute_closed_email(full_name=name, title=title, amount=amount,
                                                      won=won, taken=taken, url=admin_url)  # fmt: skip
                told.append((user, "dispute_closed", what, admin_url))
            else:
                what = templates.dispute_evidence_missed_email(full_name=name, title=title, amount=amount, due=due,
                                                               url=admin_url)  # fmt: skip
                told.append((user, "dispute_evidence_missed", what, admin_url))
        if host is not None and notice.event == "opened":
            what = templates.dispute_opened_host_email(full_name=host.full_name, title=title, amount=amount,
                                                       stay=stay, url=host_url)  # fmt: skip
            told.append((host, "dispute_opened_host", what, host_url))
        elif host is not None and notice.event == "closed":
            what = templates.dispute_closed_email(full_name=host.full_name, title=title, amount=amount,
                                                  won=won, taken=taken, url=host_url)  # fmt: skip
            told.append((host, "dispute_closed", what, host_url))
        ids: list[str] = []
        for user, kind, what, link in told:
            ids += await record_notification(
                user_id=user.id, kind=kind, dedupe_key=f"{kind}:{dispute.id}:{user.id}", notice=what, link=link
            )
        return ids


async def _dispute(dispute_id: str) -> Dispute:
    dispute = await Dispute.objects().get(Dispute.id == dispute_id)
    assert dispute is not None, f"no dispute {dispute_id}"
    return dispute


async def _withdrawn(dispute_id: str) -> int:
    """What the books say the bank took for this dispute (its opening entry)."""
    rows = await LedgerPosting.raw(
        "SELECT COALESCE(SUM(debit), 0) AS taken FROM ledger_postings WHERE entry_key = {} AND account = {}",
        f"dispute:{dispute_id}",
        DISPUTED_FUNDS,
    )
    return int(rows[0]["taken"])


async def evidence_facts(dispute: Dispute) -> EvidenceFacts:
    """The disputed booking as the evidence tells it: guest, stay, terms, documents, timeline, messages."""
    booking = await Booking.objects().get(Booking.id == dispute.booking)
    assert booking is not None
    guest = await User.objects().get(User.id == booking.guest)
    host = await User.objects().get(User.id == booking.host) if booking.host else None
    listing = await Listing.select(Listing.title, Listing.city).where(Listing.id == booking.listing).first()
    terms = stored_terms(booking.terms) if booking.terms else None
    clock = terms.clock if terms else UTC_CLOCK
    documents = await Invoice.objects().where(Invoice.booking == booking.id).order_by(Invoice.issued_at)
    payments = await LedgerEntry.objects().where(LedgerEntry.booking == booking.id).order_by(LedgerEntry.created_at)
    timeline: list[tuple[dt.datetime, str]] = [(booking.created_at, "booked by the guest")]
    timeline += [(e.created_at, f"payment {e.kind} {templates.money(e.amount, e.currency)}") for e in payments]
    if booking.confirmed_at:
        timeline.append((booking.confirmed_at, "booking confirmed"))
    if clock.night_starts(booking.check_in) <= dt.datetime.now(dt.UTC):
        timeline.append((clock.night_starts(booking.check_in), "check-in time of the stay"))
    if booking.completed_at:
        timeline.append((booking.completed_at, "stay completed"))
    if booking.status == "cancelled":
        timeline.append((booking.updated_at, f"cancelled by the {booking.cancelled_by or 'platform'}"))
    names = {booking.guest: "Guest"} | ({host.id: "Host"} if host else {})
    messages: list[tuple[dt.datetime, str, str]] = []
    conversation = await Conversation.objects().get(Conversation.booking == booking.id)
    if conversation is not None:
        rows = (
            await ConversationMessage.objects()
            .where(ConversationMessage.conversation == conversation.id)
            .order_by(ConversationMessage.seq)
        )
        messages = [(m.created_at, names.get(m.sender, "Stayflow"), m.body) for m in rows]
    return EvidenceFacts(
        guest_name=guest.full_name if guest else "",
        guest_email=guest.email if guest else "",
        listing=f"“{listing['title']}”, {listing['city']}" if listing else "the listing",
        check_in=booking.check_in,
        check_out=booking.check_out,
        check_in_at=clock.night_starts(booking.check_in),
        check_out_at=clock.stay_ends(booking.check_out),
        time_zone=clock.time_zone,
        guests=booking.guests,
        total=templates.money(booking.total, booking.currency),
        cancellation_policy=terms.cancellation_policy if terms else "moderate",
        terms=_terms_line(json_value(booking.terms)) if booking.terms else "not recorded",
        booked_at=booking.created_at,
        documents=[(d.kind, d.number, d.issued_at, templates.money(d.total, d.currency)) for d in documents],
        timeline=timeline,
        messages=messages,
    )


def _terms_line(terms: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in terms.items())
