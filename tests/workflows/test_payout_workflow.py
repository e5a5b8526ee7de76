"""PayoutWorkflow on the time-skipping server: the host is paid after check-in, a restricted
account is retried, a refund after release reverses the host's share; the books balance and
agree with the fake Stripe's own balance. Real Stripe SDK against the local fake Stripe."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from api.ledger.service import trial_balance
from models import Booking, HostPayoutAccount, Payout
from stayflow.providers.payments import payments_for
from stayflow.rules.payouts import host_earnings
from stayflow.rules.refunds import Refund, credit_lines
from stayflow.rules.terms import BookingTerms
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import payable_booking
from tests.helpers import start_booking
from workers.main import build_worker
from workflows.booking import BookingWorkflow
from workflows.payloads.cancellation import Settlement
from workflows.payout import PayoutWorkflow

TERMS = BookingTerms(cancellation_policy="moderate", guest_fee_bps=1200, host_fee_bps=300, tax_bps=0, currency="EUR")
PRICE: dict[str, Any] = {"nights": 3, "nightly": [], "subtotal": 30_000, "cleaning_fee": 5_000, "service_fee": 3_600,
         "taxes": 0, "total": 38_600, "currency": "EUR"}  # fmt: skip


async def booked(fake_stripe: Any, *, days_ahead: int = 10, onboarded: bool = True) -> Booking:
    """An instant booking with its terms, by a host with a connected account."""
    return await payable_booking(fake_stripe, price=PRICE, terms=TERMS, days_ahead=days_ahead, onboarded=onboarded)


async def books_agree_with_stripe(settings: Settings) -> None:
    balance = await trial_balance()
    assert balance.balanced and balance.difference == 0
    ours = {a.currency: a.balance for a in balance.accounts if a.account == "stripe_balance"}
    assert ours == await payments_for(settings).available_balance()


async def test_host_is_paid_a_day_after_check_in_and_the_books_balance(
    own_time_skipping_env: Any,
    stripe_settings: Settings,
    task_queue: str,
    fake_stripe: Any,
    record_history: RecordHistory,
) -> None:
    env = own_time_skipping_env
    booking = await booked(fake_stripe)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        while await handle.query(BookingWorkflow.status) != "confirmed":
            await env.sleep(timedelta(seconds=1))
        payout_run = env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}")
        payout = await Payout.objects().get(Payout.booking == booking.id)
        assert payout is not None and payout.status == "scheduled"
        assert payout.release_at == dt.datetime.combine(booking.check_in, dt.time(15), tzinfo=dt.UTC) + timedelta(
            hours=24
        )
        assert fake_stripe.transfers == {}  # nothing moves before check-in
        await env.sleep(payout.release_at - await env.get_current_time() - timedelta(hours=1))
        assert fake_stripe.transfers == {}  # an hour before the release: still nothing
        await env.sleep(timedelta(hours=2))
        outcome = await payout_run.result()
        await record_history(env, payout_run.id, "payout_paid_after_check_in")
        await handle.terminate("test done")
    earnings = host_earnings(PRICE, TERMS)
    assert earnings.amount == 35_000 - 1_050 and outcome.status == "paid" and outcome.amount == earnings.amount
    (transfer,) = fake_stripe.transfers.values()
    assert transfer["amount"] == earnings.amount and transfer["currency"] == "eur"
    assert [r.idempotency_key for r in fake_stripe.calls("POST", "/v1/transfers")] == [
        f"payout-{booking.id}-transfer-0"
    ]
    await payout.refresh()
    assert payout.status == "paid" and payout.transfer_id == transfer["id"]
    await books_agree_with_stripe(stripe_settings)
    accounts = {a.account: a.balance for a in (await trial_balance()).accounts}
    assert accounts["host_payable"] == 0 and accounts["platform_revenue"] == -(3_600 + 1_050)


async def test_restricted_account_fails_then_is_paid_once_enabled(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    booking = await booked(fake_stripe, onboarded=False)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        while await handle.query(BookingWorkflow.status) != "confirmed":
            await env.sleep(timedelta(seconds=1))
        payout = await Payout.objects().get(Payout.booking == booking.id)
        assert payout is not None
        await env.sleep(payout.release_at - await env.get_current_time() + timedelta(hours=1))
        await payout.refresh()
        assert payout.status == "failed" and "transfers capability" in (payout.failure_message or "")
        account = await HostPayoutAccount.objects().get(HostPayoutAccount.host == booking.host)
        assert account is not None
        fake_stripe.complete_onboarding(account.account_id)
        await env.sleep(timedelta(hours=7))  # the next try, six hours after the refusal
        outcome = await env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}").result()
        await handle.terminate("test done")
    assert outcome.status == "paid"
    assert len(fake_stripe.transfers) == 1
    await books_agree_with_stripe(stripe_settings)


async def cancel_with_refund(settings: Settings, booking: Booking, refund: Refund) -> None:
    """What the cancellation's settle step does once the API decided the refund (rules/refunds)."""
    lines = credit_lines(refund)
    await Booking.update({Booking.refund_amount: refund.amount, Booking.refund_lines: lines}).where(
        Booking.id == booking.id
    )
    activities = PaymentActivities(payments_for(settings))
    await ActivityEnvironment().run(
        activities.settle_cancellation, Settlement(str(booking.id), refund.amount, lines, captured=True)
    )


async def test_refund_after_release_reverses_the_hosts_share(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    booking = await booked(fake_stripe, days_ahead=5)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        while await handle.query(BookingWorkflow.status) != "confirmed":
            await env.sleep(timedelta(seconds=1))
        payout_run = env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}")
        payout = await Payout.objects().get(Payout.booking == booking.id)
        assert payout is not None
        await env.sleep(payout.release_at - await env.get_current_time() + timedelta(hours=1))
        assert (await payout_run.result()).status == "paid"
        await handle.terminate("test done")
    # The host cancels mid-stay: everything back to the guest, the whole payout taken back.
    await cancel_with_refund(stripe_settings, booking, Refund(30_000, 5_000, 3_600, 0, "cancelled by the host"))
    await payout.refresh()
    (transfer,) = fake_stripe.transfers.values()
    assert payout.status == "reversed" and payout.reversed == payout.amount == 33_950
    assert transfer["amount_reversed"] == 33_950
    await books_agree_with_stripe(stripe_settings)
    accounts = {a.account: a.balance for a in (await trial_balance()).accounts}
    assert accounts["stripe_balance"] == 0 and accounts["host_payable"] == 0 and accounts["platform_revenue"] == 0


async def test_cancellation_before_release_pays_the_host_what_the_policy_leaves(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    booking = await booked(fake_stripe, days_ahead=5)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        while await handle.query(BookingWorkflow.status) != "confirmed":
            await env.sleep(timedelta(seconds=1))
        # Moderate, under 5 days: half the nights back, the cleaning fee back (stay not started).
        await cancel_with_refund(stripe_settings, booking, Refund(15_000, 5_000, 0, 0, "moderate: 50%"))
        payout = await Payout.objects().get(Payout.booking == booking.id)
        assert payout is not None and fake_stripe.transfers == {}
        await env.sleep(payout.release_at - await env.get_current_time() + timedelta(hours=1))
        outcome = await env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}").result()
        await handle.terminate("test done")
    kept = 30_000 - 15_000  # the nights the guest still pays for
    assert outcome.status == "paid" and outcome.amount == kept - 450  # less the 3% host fee
    (transfer,) = fake_stripe.transfers.values()
    assert transfer["amount"] == kept - 450
    await books_agree_with_stripe(stripe_settings)
    accounts = {a.account: a.balance for a in (await trial_balance()).accounts}
    assert accounts["platform_revenue"] == -(3_600 + 450) and accounts["host_payable"] == 0
