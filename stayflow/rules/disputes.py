"""Disputes (chargebacks): when the evidence goes to Stripe, what the books post, and what a lost
dispute costs the host (issue 11, item 7). Pure functions: the activities and the tests call them.

The policy, in short:
- Evidence is submitted **at once** once assembled (the bank has it early; nothing we would add
  later): `EVIDENCE_MARGIN` before Stripe's `due_by` is the deadline of the retries, after which
  admins are told the evidence did not go.
- While a dispute is open the booking's payout is `held`; won, it is released as scheduled.
- Lost: the host bears what they earned on the disputed money (at most the disputed amount): an
  unpaid payout is cut by it (often to nothing), a paid one is taken back by a Transfer
  reversal. The platform bears the rest: its fees, the taxes, Stripe's dispute fee.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EVIDENCE_MARGIN = dt.timedelta(hours=12)
"""How long before Stripe's `evidence_details.due_by` we stop retrying the submission."""

SHORTEST_SUBMISSION_WINDOW = dt.timedelta(minutes=5)
"""The least time the submission gets, even when Stripe's due date is (nearly) past."""

NEEDS_RESPONSE = ("warning_needs_response", "needs_response")
"""Stripe's statuses of a dispute that still takes evidence."""


def evidence_deadline(due_by: dt.datetime) -> dt.datetime:
    """The instant the evidence must be in by: Stripe's due date less our margin."""
    return due_by - EVIDENCE_MARGIN


def submission_window(due_by: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """How long the submission may keep retrying from `now` (Stripe outages) before giving up."""
    return max(evidence_deadline(due_by) - now, SHORTEST_SUBMISSION_WINDOW)


def outcome_of(status: str) -> str | None:
    """`won`, `lost` or None (still open) from Stripe's dispute status. An inquiry closed without a
    chargeback (`warning_closed`) kept the money with us: won."""
    if status in ("won", "warning_closed"):
        return "won"
    if status == "lost":
        return "lost"
    return None


@dataclass(frozen=True)
class Settlement:
    """What a closed dispute posts, from what Stripe withdrew and reinstated."""

    disputed_back: int
    """Reinstated to the balance (won): Dr stripe_balance / Cr disputed_funds."""
    lost: int
    """Kept by the guest's bank: Dr dispute_losses / Cr disputed_funds."""
    fee_back: int
    """Stripe's dispute fee returned: Dr stripe_balance / Cr dispute_fees."""


def dispute_settlement(withdrawn: int, reinstated: int, fee_returned: int) -> Settlement:
    """The split of the disputed funds once the bank decided: whatever Stripe did not give back
    is lost (a won dispute may be reinstated in part)."""
    back = max(0, min(reinstated, withdrawn))
    return Settlement(disputed_back=back, lost=withdrawn - back, fee_back=max(0, fee_returned))


def host_share_of_loss(lost: int, host_earned: int, already_recovered: int = 0) -> int:
    """What a lost dispute takes from the host: what they earned on the booking (after refunds),
    at most the money lost, less what earlier lost disputes of the booking took already."""
    return max(0, min(lost, host_earned - already_recovered))


FIELD_LIMIT = 20_000
"""The most characters we give one evidence field (Stripe takes 150,000 in all)."""


@dataclass(frozen=True)
class EvidenceFacts:
    """What the platform knows of the disputed booking, as plain values."""

    guest_name: str
    guest_email: str
    listing: str
    """The listing's title and city."""
    check_in: dt.date
    check_out: dt.date
    check_in_at: dt.datetime
    """The check-in instant on the listing's clock (the booking's frozen terms)."""
    check_out_at: dt.datetime
    time_zone: str
    guests: int
    total: str
    """The amount charged, for people (e.g. "€386.00")."""
    cancellation_policy: str
    terms: str
    """The booking's frozen terms, one line."""
    booked_at: dt.datetime
    documents: list[tuple[str, str, dt.datetime, str]]
    """(kind, number, issued at, total) of the invoice, the receipt and any credit notes."""
    timeline: list[tuple[dt.datetime, str]]
    """What happened when: booked, charged, changed, confirmed, cancelled, completed."""
    messages: list[tuple[dt.datetime, str, str]]
    """The host-guest conversation: (sent at, who, text)."""


POLICY_TEXT = {
    "flexible": "a full refund up to 24 hours before check-in; later, 50% of the nights not yet started.",
    "moderate": "a full refund up to 5 days before check-in; later, 50% of the nights not yet started.",
    "strict": "a full refund within 48 hours of booking if 14 days or more before check-in; 50% of the nights"
    " up to 7 days before check-in; nothing later.",
}
"""The guest's side of `stayflow.rules.refunds` (the service fee back with a full refund, the cleaning
fee while the stay has not started), in the words the bank reads."""


def _clip(text: str) -> str:
    return text if len(text) <= FIELD_LIMIT else text[: FIELD_LIMIT - 1] + "…"


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def dispute_evidence(facts: EvidenceFacts) -> dict[str, str]:
    """Stripe's evidence fields (text ones: no file uploads) for a booking's dispute."""
    documents = "; ".join(
        f"{kind} {number} issued {_when(at)} for {total}" for kind, number, at, total in facts.documents
    )
    timeline = "\n".join(f"{_when(at)}  {what}" for at, what in sorted(facts.timeline))
    conversation = "\n".join(f"[{_when(at)}] {who}: {text}" for at, who, text in facts.messages)
    policy = POLICY_TEXT.get(facts.cancellation_policy, facts.cancellation_policy)
    stay = (
        f"{(facts.check_out - facts.check_in).days} nights for {facts.guests} guests at {facts.listing}, "
        f"{facts.check_in.isoformat()} to {facts.check_out.isoformat()} (check-in {_when(facts.check_in_at)}, "
        f"check-out {_when(facts.check_out_at)}; local time zone {facts.time_zone}), {facts.total} charged."
    )
    return {
        "customer_name": _clip(facts.guest_name),
        "customer_email_address": _clip(facts.guest_email),
        "product_description": _clip(f"A short-term rental stay booked {_when(facts.booked_at)}: {stay}"),
        "service_date": facts.check_in.isoformat(),
        "cancellation_policy_disclosure": _clip(
            f"The guest accepted the {facts.cancellation_policy} cancellation policy when booking "
            f"({_when(facts.booked_at)}); it is frozen with the booking: {policy}"
        ),
        "refund_policy_disclosure": _clip(f"Refunds follow the booking's policy: {policy} Terms: {facts.terms}."),
        "access_activity_log": _clip(timeline),
        "uncategorized_text": _clip(
            f"Invoice and receipt: {documents or 'none issued'}.\n\nBooking terms: {facts.terms}.\n\n"
            f"Timeline:\n{timeline}\n\nHost-guest messages:\n{conversation or '(none)'}"
        ),
    }
