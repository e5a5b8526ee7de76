"""DisputeWorkflow on the time-skipping server, started as the webhook endpoint starts it: a dispute
freezes the booking's payout, the evidence reaches Stripe at once (before `due_by`) with the
booking's records, and the bank's decision is booked: won, the host is paid; lost, the host's
earnings pay for it. The books balance and agree with the fake Stripe's own balance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from api.ledger.service import trial_balance
from models import Booking, Conversation, ConversationMessage, Dispute, Notification, Payment, Payout
from models.identity import Role
from stayflow.providers.payments import payments_for
from stayflow.rules.payouts import host_earnings
from stayflow.rules.terms import BookingTerms
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_user, payable_booking
from tests.helpers import start_booking, until_confirmed, webhook_from_stripe
from workers.main import build_worker
from workflows.dispute import DisputeWorkflow
from workflows.payout import PayoutWorkflow

TERMS = BookingTerms(cancellation_policy="strict", guest_fee_bps=1200, host_fee_bps=300, tax_bps=0, currency="EUR",
                     time_zone="Europe/Lisbon")  # fmt: skip
PRICE: dict[str, Any] = {"nights": 3, "nightly": [], "subtotal": 30_000, "cleaning_fee": 5_000, "service_fee": 3_600,
         "taxes": 0, "total": 38_600, "currency": "EUR"}  # fmt: skip
EARNINGS = host_earnings(PRICE, TERMS).amount  # 35,000 less the 3% host fee


async def disputed_booking(env: Any, fake_stripe: Any, task_queue: str) -> tuple[Booking, Any]:
    """A confirmed instant booking (host onboarded, a conversation), the guest's first word."""
    host = await make_user(role=Role.host, full_name="Hana Host")
    admin = await make_user(role=Role.admin)
    assert admin.id
    guest = await make_user(full_name="Gus Guest")
    booking = await payable_booking(fake_stripe, price=PRICE, terms=TERMS, host=host, guest=guest, title="Tagus loft")
    conversation = Conversation(listing=booking.listing, booking=booking.id, host=host.id, guest=guest.id, last_seq=2)
    await conversation.save()
    await ConversationMessage(conversation=conversation.id, seq=1, sender=guest.id, body="Can we arrive at 4?").save()
    await ConversationMessage(conversation=conversation.id, seq=2, sender=host.id, body="Yes, see you then").save()
    await booking.refresh()
    handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
    await until_confirmed(env, handle)
    return booking, handle


async def open_dispute(env: Any, settings: Settings, fake_stripe: Any, booking: Booking) -> dict[str, Any]:
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None and payment.intent_id
    dispute = fake_stripe.open_dispute(payment.intent_id, reason="product_not_received")
    answer = await webhook_from_stripe(env.client, settings, fake_stripe.events[-1])
    assert answer.received and not answer.duplicate
    return dict(dispute)


async def close_dispute(env: Any, settings: Settings, fake_stripe: Any, dispute_id: str, *, won: bool) -> Any:
    fake_stripe.close_dispute(dispute_id, won=won)
    assert (await webhook_from_stripe(env.client, settings, fake_stripe.events[-1])).received
    return await env.client.get_workflow_handle_for(DisputeWorkflow.run, f"dispute-{dispute_id}").result()


async def books_agree_with_stripe(settings: Settings) -> dict[str, int]:
    balance = await trial_balance()
    assert balance.balanced and balance.difference == 0
    ours = {a.currency: a.balance for a in balance.accounts if a.account == "stripe_balance"}
    assert ours == await payments_for(settings).available_balance()
    return {a.account: a.balance for a in balance.accounts}


async def test_a_won_dispute_holds_the_payout_submits_evidence_then_releases_it(
    own_time_skipping_env: Any,
    stripe_settings: Settings,
    task_queue: str,
    fake_stripe: Any,
    record_history: RecordHistory,
) -> None:
    env = own_time_skipping_env
    settings = msgspec.structs.replace(stripe_settings, task_queue=task_queue)
    async with build_worker(env.client, settings, task_queue=task_queue):
        booking, booking_run = await disputed_booking(env, fake_stripe, task_queue)
        dispute = await open_dispute(env, settings, fake_stripe, booking)
        run = env.client.get_workflow_handle_for(DisputeWorkflow.run, f"dispute-{dispute['id']}")
        while await run.query(DisputeWorkflow.state) == "opened":
            await env.sleep(timedelta(seconds=1))
        payout = await Payout.objects().get(Payout.booking == booking.id)
        assert payout is not None and payout.status == "held"

        # The evidence reached Stripe at once, submitted, with the booking's records.
        stored = await Dispute.objects().get(Dispute.id == dispute["id"])
        assert stored is not None and stored.evidence_submitted_at is not None
        assert stored.evidence_due_by is not None and stored.evidence_submitted_at < stored.evidence_due_by
        assert fake_stripe.disputes[dispute["id"]]["status"] == "under_review"
        evidence = fake_stripe.disputes[dispute["id"]]["evidence"]
        assert evidence["customer_name"] == "Gus Guest" and "@" in evidence["customer_email_address"]
        assert evidence["service_date"] == booking.check_in.isoformat()
        assert "strict" in evidence["cancellation_policy_disclosure"]
        assert "Tagus loft" in evidence["product_description"]
        assert "check-in" in evidence["product_description"]
        assert "Guest: Can we arrive at 4?" in evidence["uncategorized_text"]
        assert "Host: Yes, see you then" in evidence["uncategorized_text"]
        assert "INV-" in evidence["uncategorized_text"] or "invoice" in evidence["uncategorized_text"]
        assert "payment capture" in evidence["access_activity_log"]
        (submission,) = fake_stripe.calls("POST", f"/v1/disputes/{dispute['id']}")
        assert submission.idempotency_key == f"dispute-{dispute['id']}-evidence"
        assert submission.params["submit"] == "true"

        # Admins and the host were told.
        kinds = {n.kind for n in await Notification.objects()}
        assert {"dispute_opened", "dispute_opened_host"} <= kinds

        # Past the release, the held payout is not paid.
        await env.sleep(payout.release_at - await env.get_current_time() + timedelta(hours=2))
        await payout.refresh()
        assert payout.status == "held" and fake_stripe.transfers == {}
        accounts = await books_agree_with_stripe(settings)
        assert accounts["disputed_funds"] == 38_600 and accounts["dispute_fees"] == 1_500

        outcome = await close_dispute(env, settings, fake_stripe, dispute["id"], won=True)
        await record_history(env, run.id, "dispute_won_after_evidence")
        paid = await env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}").result()
        await booking_run.terminate("test done")
    assert outcome.outcome == "won" and outcome.recovered_from_host == 0
    assert paid.status == "paid" and paid.amount == EARNINGS
    await stored.refresh()
    assert stored.status == "won" and stored.outcome == "won" and stored.closed_at is not None
    accounts = await books_agree_with_stripe(settings)
    assert accounts["disputed_funds"] == 0 and accounts.get("dispute_losses", 0) == 0
    assert accounts["dispute_fees"] == 1_500  # Stripe keeps its fee, won or lost
    assert accounts["stripe_balance"] == 38_600 - EARNINGS - 1_500


async def test_a_lost_dispute_costs_the_host_the_payout_and_the_platform_the_rest(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    settings = msgspec.structs.replace(stripe_settings, task_queue=task_queue)
    async with build_worker(env.client, settings, task_queue=task_queue):
        booking, booking_run = await disputed_booking(env, fake_stripe, task_queue)
        dispute = await open_dispute(env, settings, fake_stripe, booking)
        run = env.client.get_workflow_handle_for(DisputeWorkflow.run, f"dispute-{dispute['id']}")
        while await run.query(DisputeWorkflow.state) == "opened":
            await env.sleep(timedelta(seconds=1))
        outcome = await close_dispute(env, settings, fake_stripe, dispute["id"], won=False)
        payout_run = env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}")
        payout = await Payout.objects().get(Payout.booking == booking.id)
        assert payout is not None
        await env.sleep(payout.release_at - await env.get_current_time() + timedelta(hours=1))
        released = await payout_run.result()
        await booking_run.terminate("test done")
    assert outcome.outcome == "lost" and outcome.recovered_from_host == EARNINGS
    assert released.status == "cancelled" and fake_stripe.transfers == {}
    accounts = await books_agree_with_stripe(settings)
    assert accounts["stripe_balance"] == -1_500  # the guest's money went back through the bank, and the fee
    assert accounts["dispute_losses"] == 38_600 - EARNINGS and accounts["dispute_fees"] == 1_500
    assert accounts["disputed_funds"] == 0 and accounts["host_payable"] == 0
    kinds = [n.kind for n in await Notification.objects()]
    assert kinds.count("dispute_closed") == 2  # the admin and the host
