"""Property: whatever sequence of book -> change -> cancel -> payout -> refund -> dispute (won or
lost, the payout tried while it is open) a booking goes through, the books balance to the cent, the
host is paid exactly the earnings the policy leaves (less what a lost dispute took), and our
`stripe_balance` equals the fake Stripe's own balance (disputed amounts and dispute fees included).
The money activities run as the worker runs them (real Stripe SDK against the fake Stripe, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from temporalio.testing import ActivityEnvironment

from activities.disputes import DisputeActivities
from activities.ledger import balances, json_value
from activities.payments import PaymentActivities
from activities.payouts import PayoutActivities
from api.ledger.service import trial_balance
from api.payments.service import dispute_opened
from models import Booking, Dispute, HostPayoutAccount, Payment, Payout
from models.identity import Role
from stayflow.providers.payments import dispute_facts, payments_for
from stayflow.rules.payouts import host_earnings_after_refund
from stayflow.rules.pricing import stored_quote
from stayflow.rules.refunds import Refund, credit_lines
from stayflow.rules.terms import BookingTerms, terms_json
from stayflow.settings import Settings
from tests.factories import make_booking, make_change, make_listing, make_user
from tests.helpers import eventually
from workflows.payloads.booking import BookingRef
from workflows.payloads.cancellation import Settlement
from workflows.payloads.change import ChangeRef
from workflows.payloads.payouts import DisputeClosed, PayoutRef

TERMS = BookingTerms(cancellation_policy="moderate", guest_fee_bps=1200, host_fee_bps=300, tax_bps=1000, currency="EUR")

step = st.one_of(
    st.tuples(st.just("change"), st.integers(-4_000, 6_000).filter(lambda d: abs(d) >= 100)),  # Stripe: 50 min
    st.tuples(st.just("cancel"), st.sampled_from([0, 5000, 10_000]), st.booleans()),
    st.tuples(st.just("payout"), st.just(0)),
    # won?, the payout tried while it is open?, Stripe gives the dispute fee back when won?
    st.tuples(st.just("dispute"), st.booleans(), st.booleans(), st.booleans()),
)


async def _book(nightly_total: int, cleaning: int) -> Booking:
    host = await make_user(role=Role.host)
    listing = await make_listing(host, instant_book=True)
    today = dt.datetime.now(dt.UTC).date()
    taxes = (nightly_total + cleaning) // 10
    service = nightly_total * 12 // 100
    price: dict[str, Any] = {"nights": 3, "nightly": [], "subtotal": nightly_total, "cleaning_fee": cleaning,
                             "service_fee": service, "taxes": taxes, "currency": "EUR",
                             "total": nightly_total + cleaning + service + taxes}  # fmt: skip
    booking = await make_booking(
        listing,
        await make_user(),
        check_in=today + timedelta(9),
        check_out=today + timedelta(12),
        quote=stored_quote(price),
    )
    await Booking.update({Booking.price: price, Booking.terms: terms_json(TERMS)}).where(Booking.id == booking.id)
    await booking.refresh()
    return booking


async def _change(payments: PaymentActivities, env: ActivityEnvironment, booking: Booking, n: int, d: int) -> None:
    price = dict(json_value(booking.price))
    if price["subtotal"] + d < 1_000:
        return
    price.update(subtotal=price["subtotal"] + d, total=price["total"] + d)
    await make_change(booking, check_in=booking.check_in, check_out=booking.check_out, total=booking.total + d,
                      number=n, status="applied")  # fmt: skip
    # what the change's `move_dates` does: the booking takes the new price
    await Booking.update({Booking.price: price, Booking.total: booking.total + d}).where(Booking.id == booking.id)
    await booking.refresh()
    ref = ChangeRef(str(booking.id), n)
    if d > 0:
        assert (await env.run(payments.authorize_change, ref)).outcome == "authorized"
        await env.run(payments.capture_change, ref)
    else:
        await env.run(payments.refund_change, ref)


async def _cancel(
    payments: PaymentActivities, env: ActivityEnvironment, booking: Booking, bps: int, full: bool
) -> None:
    price = json_value(booking.price)
    refund = Refund(
        nights=price["subtotal"] * bps // 10_000,
        cleaning_fee=price["cleaning_fee"] if full else 0,
        service_fee=price["service_fee"] if bps == 10_000 else 0,
        taxes=0,
        rule="property test",
    )
    if refund.amount == 0:
        return
    lines = credit_lines(refund)
    await Booking.update({Booking.refund_amount: refund.amount, Booking.refund_lines: lines}).where(
        Booking.id == booking.id
    )
    await env.run(payments.settle_cancellation, Settlement(str(booking.id), refund.amount, lines, captured=True))
    await booking.refresh()


async def _dispute(
    disputes: DisputeActivities,
    payouts: PayoutActivities,
    env: ActivityEnvironment,
    fake_stripe: Any,
    booking: Booking,
    won: bool,
    release_while_open: bool,
    fee_back: bool,
) -> None:
    """The guest's bank disputes what is left of the booking's first charge (a charge refunded in
    full cannot be disputed), then decides; the activities run as the DisputeWorkflow runs them."""
    payment = await Payment.objects().where(Payment.booking == booking.id).order_by(Payment.sequence).first()
    assert payment is not None and payment.intent_id
    intent = fake_stripe.intents[payment.intent_id]
    if intent["amount_received"] <= sum(r["amount"] for r in fake_stripe.refunds.values()
                                        if r["payment_intent"] == payment.intent_id):  # fmt: skip
        return
    fake_stripe.return_fee_when_won = fee_back
    opened = dispute_opened(dispute_facts(fake_stripe.open_dispute(payment.intent_id)), booking, payment.intent_id)
    await env.run(disputes.open_dispute, opened)
    if release_while_open:
        transfers = len(fake_stripe.transfers)
        await env.run(payouts.release_payout, PayoutRef(str(booking.id)))
        assert len(fake_stripe.transfers) == transfers  # a held payout is not released
    closed = dispute_facts(fake_stripe.close_dispute(opened.dispute_id, won=won))
    await env.run(disputes.close_dispute, DisputeClosed(closed.dispute_id, closed.status, closed.reinstated,
                                                        closed.fee_returned))  # fmt: skip


async def _run_sequence(stripe_settings: Settings, fake_stripe: Any, nightly: int, cleaning: int, steps: list) -> None:
    env = ActivityEnvironment()
    payments = PaymentActivities(payments_for(stripe_settings))
    payouts = PayoutActivities(payments_for(stripe_settings), stripe_settings)
    disputes = DisputeActivities(payments_for(stripe_settings), stripe_settings)
    booking = await _book(nightly, cleaning)
    _, account = fake_stripe.handle("POST", "/v1/accounts", {"type": "express"})
    fake_stripe.complete_onboarding(account["id"])
    await HostPayoutAccount(host=booking.host, account_id=account["id"], payouts_enabled=True).save()
    assert (await env.run(payments.authorize_payment, BookingRef(str(booking.id)))).outcome == "authorized"
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None
    await payments.capture(booking, payment, f"booking-{booking.id}-capture")
    cancelled, disputed, changes = False, False, 0
    for op, *args in steps:
        if op == "dispute" and not disputed:  # a disputed charge is neither refunded nor changed any more
            disputed = True
            await _dispute(disputes, payouts, env, fake_stripe, booking, *args)
        elif disputed and op in ("change", "cancel"):
            continue
        elif op == "change" and not cancelled:
            changes += 1
            await _change(payments, env, booking, changes, args[0])
        elif op == "cancel" and not cancelled:
            await _cancel(payments, env, booking, args[0], args[1])
            cancelled = booking.refund_amount is not None
        elif op == "payout":
            await env.run(payouts.release_payout, PayoutRef(str(booking.id)))
    await booking.refresh()

    books = await trial_balance()
    assert books.balanced and books.difference == 0
    ours = {a.currency: a.balance for a in books.accounts if a.account == "stripe_balance"}
    assert ours == await payments_for(stripe_settings).available_balance()  # agrees with Stripe's books
    mine = await balances(booking.id)
    assert mine.get("guest_funds", 0) == 0  # every cent the guest left is split
    assert mine.get("disputed_funds", 0) == 0  # every dispute decided: nothing in limbo
    lines = json_value(booking.refund_lines) if cancelled else None
    recovered = sum(d.recovered_from_host for d in await Dispute.objects().where(Dispute.booking == booking.id))
    owed = host_earnings_after_refund(json_value(booking.price), TERMS, lines).amount - recovered
    payout = await Payout.objects().get(Payout.booking == booking.id)
    assert payout is not None
    paid = payout.amount - payout.reversed if payout.transfer_id else 0
    assert paid + (-mine.get("host_payable", 0)) == owed  # paid plus still owed is what the host earned
    if payout.transfer_id:
        assert paid == sum(t["amount"] - t["amount_reversed"] for t in fake_stripe.transfers.values()
                           if t["metadata"].get("booking_id") == str(booking.id))  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    nightly=st.integers(5_000, 60_000),
    cleaning=st.sampled_from([0, 2_500, 7_777]),
    steps=st.lists(step, min_size=1, max_size=5),
)
# Each way a dispute meets the payout, always tried: lost after the transfer (reversed), lost before
# it (the payout cut to nothing), won with a release tried while it was open (held, then paid).
@example(nightly=20_000, cleaning=2_500, steps=[("payout", 0), ("dispute", False, False, False)])
@example(nightly=20_000, cleaning=0, steps=[("cancel", 5000, False), ("dispute", False, True, False), ("payout", 0)])
@example(nightly=20_000, cleaning=7_777, steps=[("change", 3_000), ("dispute", True, True, True), ("payout", 0)])
async def test_books_balance_after_any_sequence(
    stripe_settings: Settings, fake_stripe: Any, nightly: int, cleaning: int, steps: list
) -> None:
    await _run_sequence(stripe_settings, fake_stripe, nightly, cleaning, steps)


async def test_a_dispute_opened_while_the_payout_is_being_sent_waits_for_it_and_takes_it_back(
    stripe_settings: Settings, fake_stripe: Any
) -> None:
    """The dispute's hold and the payout's transfer are serialised on the payout's row: a dispute
    that opens while Stripe is still sending the host's money does not mark the payout `held`
    (it is paid), and losing it takes the host's share back by a reversal; the books balance."""
    env = ActivityEnvironment()
    payments = PaymentActivities(payments_for(stripe_settings))
    payouts = PayoutActivities(payments_for(stripe_settings), stripe_settings)
    disputes = DisputeActivities(payments_for(stripe_settings), stripe_settings)
    booking = await _book(20_000, 2_500)
    _, account = fake_stripe.handle("POST", "/v1/accounts", {"type": "express"})
    fake_stripe.complete_onboarding(account["id"])
    await HostPayoutAccount(host=booking.host, account_id=account["id"], payouts_enabled=True).save()
    assert (await env.run(payments.authorize_payment, BookingRef(str(booking.id)))).outcome == "authorized"
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.intent_id
    await payments.capture(booking, payment, f"booking-{booking.id}-capture")
    # Another guest's money on the platform's balance, so the dispute's withdrawal does not leave
    # Stripe short of the host's transfer.
    other = await _book(30_000, 0)
    assert (await env.run(payments.authorize_payment, BookingRef(str(other.id)))).outcome == "authorized"
    other_payment = await Payment.objects().get(Payment.booking == other.id)
    assert other_payment is not None
    await payments.capture(other, other_payment, f"booking-{other.id}-capture")

    fake_stripe.delay_seconds, fake_stripe.delay_only = 2.0, "/v1/transfers"
    release = asyncio.create_task(env.run(payouts.release_payout, PayoutRef(str(booking.id))))

    async def transfer_in_flight() -> bool:
        return bool(fake_stripe._in_flight)

    await eventually(transfer_in_flight, timeout=10, what="the transfer to reach Stripe")
    opened = dispute_opened(dispute_facts(fake_stripe.open_dispute(payment.intent_id)), booking, payment.intent_id)
    held = await env.run(disputes.open_dispute, opened)
    outcome = await release
    fake_stripe.delay_seconds = 0.0
    assert outcome.status == "paid", outcome
    assert held is False  # the hold waited for the transfer and found the payout paid
    payout = await Payout.objects().get(Payout.booking == booking.id)
    assert payout is not None and payout.status == "paid" and payout.transfer_id

    closed = dispute_facts(fake_stripe.close_dispute(opened.dispute_id, won=False))
    await env.run(disputes.close_dispute, DisputeClosed(closed.dispute_id, closed.status, closed.reinstated,
                                                        closed.fee_returned))  # fmt: skip
    [transfer] = [t for t in fake_stripe.transfers.values() if t["metadata"].get("booking_id") == str(booking.id)]
    assert transfer["amount_reversed"] > 0  # the host's share came back from the paid transfer
    books = await trial_balance()
    assert books.balanced and books.difference == 0
    ours = {a.currency: a.balance for a in books.accounts if a.account == "stripe_balance"}
    assert ours == await payments_for(stripe_settings).available_balance()
