"""The dispute rules (when evidence is due, what the books post, the host's share of a loss), the
evidence a bank reads, and the fake Stripe's dispute helpers as `make dev`'s docs use them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.request
from typing import Any

from stayflow.fakes.stripe_server import FakeStripe
from stayflow.providers.payments import dispute_facts
from stayflow.rules.disputes import (
    EVIDENCE_MARGIN,
    FIELD_LIMIT,
    EvidenceFacts,
    dispute_evidence,
    dispute_settlement,
    evidence_deadline,
    host_share_of_loss,
    outcome_of,
    submission_window,
)

DUE = dt.datetime(2026, 12, 20, 23, 59, tzinfo=dt.UTC)


def test_evidence_is_in_before_stripes_due_date_even_when_it_is_close() -> None:
    assert evidence_deadline(DUE) == DUE - EVIDENCE_MARGIN
    assert submission_window(DUE, DUE - dt.timedelta(days=7)) == dt.timedelta(days=7) - EVIDENCE_MARGIN
    assert submission_window(DUE, DUE) == dt.timedelta(minutes=5)  # past the margin: one short try


def test_outcomes_and_what_they_post() -> None:
    assert (outcome_of("won"), outcome_of("warning_closed"), outcome_of("lost"), outcome_of("under_review")) == (
        "won", "won", "lost", None,
    )  # fmt: skip
    won = dispute_settlement(withdrawn=38_600, reinstated=38_600, fee_returned=0)
    assert (won.disputed_back, won.lost, won.fee_back) == (38_600, 0, 0)
    lost = dispute_settlement(withdrawn=38_600, reinstated=0, fee_returned=0)
    assert (lost.disputed_back, lost.lost) == (0, 38_600)
    partly = dispute_settlement(withdrawn=10_000, reinstated=4_000, fee_returned=1_500)
    assert (partly.disputed_back, partly.lost, partly.fee_back) == (4_000, 6_000, 1_500)


def test_a_lost_dispute_takes_at_most_the_hosts_earnings_once() -> None:
    assert host_share_of_loss(lost=38_600, host_earned=33_950) == 33_950
    assert host_share_of_loss(lost=5_000, host_earned=33_950) == 5_000
    assert host_share_of_loss(lost=38_600, host_earned=33_950, already_recovered=30_000) == 3_950
    assert host_share_of_loss(lost=38_600, host_earned=0) == 0


def _facts(**changes: Any) -> EvidenceFacts:
    at = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    values: dict[str, Any] = dict(
        guest_name="Gus Guest", guest_email="gus@example.com", listing="“Tagus loft”, Lisbon",
        check_in=dt.date(2026, 12, 10), check_out=dt.date(2026, 12, 13),
        check_in_at=dt.datetime(2026, 12, 10, 15, tzinfo=dt.UTC),
        check_out_at=dt.datetime(2026, 12, 13, 11, tzinfo=dt.UTC),
        time_zone="Europe/Lisbon", guests=2, total="€386.00", cancellation_policy="strict",
        terms="cancellation_policy strict, currency EUR", booked_at=at,
        documents=[("invoice", "INV-2026-000007", at, "€386.00"), ("receipt", "RCT-2026-000007", at, "€386.00")],
        timeline=[(at + dt.timedelta(minutes=1), "payment capture €386.00"), (at, "booked by the guest")],
        messages=[(at, "Guest", "Can we arrive at 4?"), (at, "Host", "Yes, see you then")],
    )  # fmt: skip
    return EvidenceFacts(**(values | changes))


def test_the_evidence_tells_the_bank_the_booking() -> None:
    evidence = dispute_evidence(_facts())
    assert evidence["customer_name"] == "Gus Guest" and evidence["customer_email_address"] == "gus@example.com"
    assert evidence["service_date"] == "2026-12-10"
    assert "check-in 2026-12-10 15:00 UTC" in evidence["product_description"]
    assert "Europe/Lisbon" in evidence["product_description"] and "€386.00" in evidence["product_description"]
    assert "strict" in evidence["cancellation_policy_disclosure"]
    assert "nothing later" in evidence["cancellation_policy_disclosure"]
    assert evidence["access_activity_log"].splitlines()[0].endswith("booked by the guest")  # in time order
    assert "INV-2026-000007" in evidence["uncategorized_text"] and "RCT-2026-000007" in evidence["uncategorized_text"]
    assert "Guest: Can we arrive at 4?" in evidence["uncategorized_text"]


def test_a_long_conversation_is_clipped_to_what_stripe_takes() -> None:
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    evidence = dispute_evidence(_facts(messages=[(at, "Guest", "x" * 500)] * 100))
    assert all(len(text) <= FIELD_LIMIT for text in evidence.values())
    assert evidence["uncategorized_text"].endswith("…")


def _post(fake: FakeStripe, path: str, form: dict[str, str]) -> dict[str, Any]:
    """As `curl -u sk_test_stayflow_fake: -d ...` sends it."""
    auth = base64.b64encode(f"{fake.api_key}:".encode()).decode()
    request = urllib.request.Request(
        fake.url + path,
        data="&".join(f"{k}={v}" for k, v in form.items()).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.load(answer))


def test_the_fakes_dispute_helpers_move_its_balance_as_stripe_does() -> None:
    with FakeStripe() as fake:
        _, intent = fake.handle("POST", "/v1/payment_intents", {"amount": "38600", "currency": "eur",
                                "payment_method": "pm_card_visa", "capture_method": "manual", "confirm": "true",
                                "metadata": {"booking_id": "b-1"}})  # fmt: skip
        fake.handle("POST", f"/v1/payment_intents/{intent['id']}/capture", {})
        assert fake.balance == {"eur": 38_600}
        opened = _post(
            fake, "/v1/test_helpers/disputes", {"booking": "b-1", "reason": "fraudulent", "due_in_days": "3"}
        )
        facts = dispute_facts(opened)
        assert facts.intent_id == intent["id"] and facts.reason == "fraudulent" and facts.status == "needs_response"
        assert (facts.withdrawn, facts.fee, facts.amount, facts.currency) == (38_600, 1_500, 38_600, "EUR")
        assert facts.due_by is not None and facts.due_by - dt.datetime.now(dt.UTC) < dt.timedelta(days=3)
        assert fake.balance == {"eur": -1_500} and fake.events[-1]["type"] == "charge.dispute.created"
        closed = dispute_facts(_post(fake, f"/v1/test_helpers/disputes/{opened['id']}/close", {"outcome": "won"}))
        assert (closed.status, closed.reinstated, closed.fee_returned) == ("won", 38_600, 0)
        assert fake.balance == {"eur": -1_500 + 38_600} and fake.events[-1]["type"] == "charge.dispute.closed"
