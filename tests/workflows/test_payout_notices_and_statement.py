"""What a host sees of a payout: the notice when it is paid (in-app and email), the notice to host
and admins when Stripe refuses it, and the monthly statement (JSON and PDF) whose totals agree with
the ledger and the payouts table. A real booking, capture and PayoutWorkflow on the time-skipping
server, the real Stripe SDK against the fake Stripe, the statement read through the API."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import msgspec
import pypdf
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from api.app import create_app
from models import Booking, HostPayoutAccount, LedgerPosting, Message, Notification, Payout, User
from models.identity import Role
from stayflow.providers.payments import payments_for
from stayflow.rules.refunds import Refund, credit_lines
from stayflow.rules.terms import BookingTerms
from stayflow.settings import Settings
from tests.factories import make_user, payable_booking, sign_in
from tests.helpers import api_client, eventually, start_booking, until_confirmed
from workers.main import build_worker
from workflows.payloads.cancellation import Settlement
from workflows.payout import PayoutWorkflow

TERMS = BookingTerms(cancellation_policy="moderate", guest_fee_bps=1200, host_fee_bps=300, tax_bps=0, currency="EUR")
PRICE: dict[str, Any] = {"nights": 3, "nightly": [], "subtotal": 30_000, "cleaning_fee": 5_000, "service_fee": 3_600,
         "taxes": 0, "total": 38_600, "currency": "EUR"}  # fmt: skip
EARNINGS = 35_000 - 1_050  # nights + cleaning, less the 3% host fee
LAKE_HOUSE = "Домик у озера"  # noqa: RUF001 (Cyrillic on purpose: a title beyond Latin-1)


async def booked(fake_stripe: Any, *, onboarded: bool = True) -> Booking:
    """An instant booking of a lake house by Zoë, ten days out, by a host with a connected account."""
    host = await make_user(role=Role.host, full_name="Łukasz Host")
    guest = await make_user(full_name="Zoë Ngô")
    return await payable_booking(
        fake_stripe, price=PRICE, terms=TERMS, host=host, guest=guest, onboarded=onboarded, title=LAKE_HOUSE
    )


async def until_released(env: Any, booking: Booking, after: timedelta = timedelta(hours=1)) -> Payout:
    payout = await Payout.objects().get(Payout.booking == booking.id)
    assert payout is not None
    await env.sleep(payout.release_at - await env.get_current_time() + after)
    await payout.refresh()
    return payout


async def notices(user_id: Any, kind: str) -> list[Notification]:
    return list(await Notification.objects().where((Notification.user == user_id) & (Notification.kind == kind)))


async def delivered(env: Any, user_id: Any, kind: str) -> Message:
    """The user's one email of `kind`, once its DeliverMessageWorkflow handed it to the provider."""
    [email] = await Message.objects().where((Message.user == user_id) & (Message.kind == kind))
    assert await env.client.get_workflow_handle(f"deliver-message-{email.id}").result() is True
    await email.refresh()
    assert email.status == "sent"
    return email


async def host_payable_by_kind(booking: Booking) -> dict[str, int]:
    """The ledger's `host_payable` postings of the booking, credit - debit, by entry kind."""
    rows = await LedgerPosting.raw(
        "SELECT kind, SUM(credit - debit) AS owed FROM ledger_postings WHERE booking = {} AND account = 'host_payable'"
        " GROUP BY kind",
        booking.id,
    )
    return {r["kind"]: int(r["owed"]) for r in rows}


def pdf_text(content: bytes) -> str:
    """The text a reader of the PDF sees. (The names are Latin, Cyrillic and Vietnamese: the text
    font covers them; a CJK one would load the fallback font the invoice tests already cover, at
    minutes per document on this loaded machine.)"""
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


async def test_the_host_is_told_of_the_payout_and_reads_it_in_the_months_statement(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    booking = await booked(fake_stripe)
    settings = msgspec.structs.replace(stripe_settings, task_queue=task_queue)
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        await until_confirmed(env, handle)
        assert await notices(booking.host, "payout_paid") == []  # nothing is paid before check-in
        payout = await until_released(env, booking)
        outcome = await env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}").result()
        assert outcome.status == "paid" and payout.status == "paid"
        [notice] = await notices(booking.host, "payout_paid")
        assert notice.title == "Payout sent: EUR 339.50" and LAKE_HOUSE in notice.body
        email = await delivered(env, booking.host, "payout_paid")
        assert "EUR 339.50" in email.text_body and email.text_body.startswith("Hi Łukasz,")
        await handle.terminate("test done")

    month = f"{payout.release_at:%Y-%m}"
    async with api_client(create_app(settings, temporal_client=env.client)) as client:
        host = await sign_in(client, await User.objects().get(User.id == booking.host))  # type: ignore[arg-type]
        answer = await client.get(f"/api/v1/host/payouts/statements/{month}", headers=host.headers)
        assert answer.status_code == 200, answer.text
        statement = answer.json()
        assert statement["month"] == month and statement["host_name"] == "Łukasz Host"
        [line] = statement["lines"]
        assert line["booking_id"] == str(booking.id) and line["guest_first_name"] == "Zoë"
        assert line["listing_title"] == LAKE_HOUSE and line["nights"] == 3
        assert (line["gross"], line["host_fee"], line["earnings"]) == (35_000, 1_050, EARNINGS)
        assert (line["refunded"], line["paid"], line["reversed"], line["net_paid"], line["outstanding"]) == (
            0, EARNINGS, 0, EARNINGS, 0,
        )  # fmt: skip
        assert line["payout_status"] == "paid" and line["paid_at"] is not None
        # The totals are the books': what the host earned, and what was transferred to them.
        books = await host_payable_by_kind(booking)
        [total] = statement["totals"]
        assert total["currency"] == "EUR" and total["bookings"] == 1
        assert total["earnings"] - total["refunded"] == books["allocation"] == EARNINGS
        assert (
            total["paid"] == -books["transfer"] == payout.amount == fake_stripe.transfers[payout.transfer_id]["amount"]
        )

        pdf = await client.get(f"/api/v1/host/payouts/statements/{month}.pdf", headers=host.headers)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content)
        for expected in (f"Payout statement {month}", "Łukasz Host", "Zoë", LAKE_HOUSE, "EUR 350.00", "EUR 10.50",
                         "EUR 339.50", "Total EUR"):  # fmt: skip
            assert expected in text, (expected, text)

        # A refund after the release takes the host's share back: the month's line says so.
        await ActivityEnvironment().run(
            PaymentActivities(payments_for(settings)).settle_cancellation,
            await refunded(booking, Refund(30_000, 5_000, 3_600, 0, "cancelled by the host")),
        )
        again = (await client.get(f"/api/v1/host/payouts/statements/{month}", headers=host.headers)).json()
        [line] = again["lines"]
        assert (line["refunded"], line["paid"], line["reversed"], line["net_paid"], line["outstanding"]) == (
            EARNINGS, EARNINGS, EARNINGS, 0, 0,
        )  # fmt: skip
        await payout.refresh()
        books = await host_payable_by_kind(booking)
        assert line["payout_status"] == payout.status == "reversed" and line["reversed"] == payout.reversed
        assert (
            line["reversed"] == books["transfer_reversal"]
            and line["earnings"] - line["refunded"] == books["allocation"]
        )

        # Only the host's own: another host's month is empty; a malformed month is a 422 problem.
        other = await sign_in(client, await make_user(role=Role.host))
        theirs = (await client.get(f"/api/v1/host/payouts/statements/{month}", headers=other.headers)).json()
        assert theirs["lines"] == [] and theirs["totals"] == []
        assert "Zoë" not in pdf_text((await client.get(f"/api/v1/host/payouts/statements/{month}.pdf",
                                                        headers=other.headers)).content)  # fmt: skip
        for bad in ("2027-13", "2027-3", "march", "2027-13.pdf", "2027-03.pdf.pdf"):
            refused = await client.get(f"/api/v1/host/payouts/statements/{bad}", headers=host.headers)
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        guest = await sign_in(client, await User.objects().get(User.id == booking.guest))  # type: ignore[arg-type]
        assert (await client.get(f"/api/v1/host/payouts/statements/{month}", headers=guest.headers)).status_code == 403


async def refunded(booking: Booking, refund: Refund) -> Settlement:
    """The booking as the cancellation records it once the API decided the refund; its settlement."""
    lines = credit_lines(refund)
    await Booking.update({Booking.refund_amount: refund.amount, Booking.refund_lines: lines}).where(
        Booking.id == booking.id
    )
    return Settlement(str(booking.id), refund.amount, lines, captured=True)


async def test_a_refused_payout_tells_the_host_and_admins_once_and_the_payment_later(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    booking = await booked(fake_stripe, onboarded=False)
    admin = await make_user(role=Role.admin, full_name="Grace Admin")
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue)
        await until_confirmed(env, handle)
        payout = await until_released(env, booking)
        assert payout.status == "failed"
        [host_notice] = await notices(booking.host, "payout_failed")
        assert "EUR 339.50" in host_notice.body and "transfers capability" in host_notice.body
        [admin_notice] = await notices(admin.id, "payout_failed_admin")
        assert "Łukasz Host" in admin_notice.body and "EUR 339.50" in admin_notice.body
        await delivered(env, booking.host, "payout_failed")
        await delivered(env, admin.id, "payout_failed_admin")

        await env.sleep(timedelta(hours=7))  # refused again six hours later: nobody is told twice
        await payout.refresh()
        assert payout.status == "failed" and payout.attempts == 2
        assert len(await notices(booking.host, "payout_failed")) == 1
        assert len(await notices(admin.id, "payout_failed_admin")) == 1

        account = await HostPayoutAccount.objects().get(HostPayoutAccount.host == booking.host)
        assert account is not None
        fake_stripe.complete_onboarding(account.account_id)
        await env.sleep(timedelta(hours=7))
        outcome = await env.client.get_workflow_handle_for(PayoutWorkflow.run, f"payout-{booking.id}").result()
        assert outcome.status == "paid"
        [paid] = await notices(booking.host, "payout_paid")
        assert "EUR 339.50" in paid.body
        await eventually(lambda: _sent(booking.host, "payout_paid"), what="the payout email to be sent")
        await handle.terminate("test done")


async def _sent(user_id: Any, kind: str) -> bool:
    return await Message.exists().where((Message.user == user_id) & (Message.kind == kind) & (Message.status == "sent"))
