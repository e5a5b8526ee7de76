"""Connect onboarding, the host's account state, their payouts and monthly statements,
`account.updated`, and whether a host's listing may go live before the host can be paid."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any
from uuid import UUID

from api.errors import Problem, invalid
from api.pagination import Page, keyset
from api.payouts.schemas import (
    Onboarding,
    PayoutAccountRead,
    PayoutRead,
    StatementLineRead,
    StatementRead,
    StatementTotalRead,
)
from models import HostPayoutAccount, Payout, PlatformSettings, User
from stayflow.providers.payments import ConnectedAccount, PaymentProviderError, PaymentRejected, StripePayments
from stayflow.rules.payouts import (
    Statement,
    StatementBooking,
    payouts_required_to_publish,
    publish_requirement,
    statement_line,
    statement_month,
    statement_totals,
)
from stayflow.rules.terms import stored_terms
from stayflow.settings import Settings
from stayflow.statement_pdf import render_statement

ONBOARDING = "POST /api/v1/host/payouts/onboarding"


async def start_onboarding(payments: StripePayments, settings: Settings, host_id: UUID) -> Onboarding:
    """The host's Express account (created once: its key is the host's id) and a fresh link to
    Stripe's onboarding form (the local fake completes it when the link is opened)."""
    user = await User.objects().get(User.id == host_id)
    assert user is not None
    account = await HostPayoutAccount.objects().get(HostPayoutAccount.host == host_id)
    base = settings.public_url.rstrip("/")
    try:
        if account is None:
            account_id = await payments.create_host_account(
                email=user.email, country="US", user_id=str(host_id), idempotency_key=f"host-{host_id}-account"
            )
            await HostPayoutAccount.raw(
                "INSERT INTO host_payout_accounts (host, account_id, payouts_enabled, requirements, created_at,"
                " updated_at) VALUES ({}, {}, false, '[]', now(), now()) ON CONFLICT (host) DO NOTHING",
                host_id,
                account_id,
            )
            await record_account(await payments.host_account(account_id))  # what Stripe needs, from the start
            account = await HostPayoutAccount.objects().get(HostPayoutAccount.host == host_id)
            assert account is not None
        url = await payments.onboarding_link(
            account_id=account.account_id,
            refresh_url=f"{base}/api/v1/host/payouts/account",
            return_url=f"{base}/api/v1/host/payouts/account",
        )
    except (PaymentProviderError, PaymentRejected) as exc:
        raise Problem(503, f"Stripe cannot set up payouts right now: {exc}") from exc
    return Onboarding(account_id=account.account_id, onboarding_url=url)


async def payout_account(payments: StripePayments, host_id: UUID) -> PayoutAccountRead:
    """The account's state as Stripe says it now (kept in step with `account.updated` too)."""
    account = await HostPayoutAccount.objects().get(HostPayoutAccount.host == host_id)
    if account is None:
        return PayoutAccountRead(account_id=None, payouts_enabled=False, requirements=["onboarding"])
    try:
        await record_account(await payments.host_account(account.account_id))
        await account.refresh()
    except (PaymentProviderError, PaymentRejected):
        pass  # Stripe unreachable: answer what we last heard
    return PayoutAccountRead(account.account_id, bool(account.payouts_enabled), _requirements(account))


async def record_account(account: ConnectedAccount) -> bool:
    """Keep `payouts_enabled` and the outstanding requirements; False for an unknown account."""
    rows = await HostPayoutAccount.raw(
        "UPDATE host_payout_accounts SET payouts_enabled = {}, requirements = {}::jsonb, updated_at = now()"
        " WHERE account_id = {} RETURNING host",
        account.payouts_enabled,
        json.dumps(account.requirements),
        account.account_id,
    )
    return bool(rows)


def _requirements(account: HostPayoutAccount) -> list[str]:
    stored = account.requirements if isinstance(account.requirements, list) else json.loads(account.requirements)
    return [str(r) for r in stored]


async def ensure_host_can_publish(host_id: UUID, settings: Settings) -> None:
    """While the platform requires payouts to publish (`require_payouts_to_publish`), a listing of a
    host whose connected account cannot be paid is neither submitted nor published: 409 naming the
    requirement, what Stripe still needs, and where to onboard. Nothing changes."""
    row = await PlatformSettings.select(PlatformSettings.require_payouts_to_publish).first()
    required = payouts_required_to_publish(row["require_payouts_to_publish"] if row else None, settings.env)
    account = await HostPayoutAccount.objects().get(HostPayoutAccount.host == host_id)
    requirement = publish_requirement(required, bool(account and account.payouts_enabled))
    if requirement is None:
        return
    outstanding = _requirements(account) if account else ["onboarding"]
    raise Problem(
        409,
        "The host's payout account cannot be paid yet: a listing goes live only once its host can be paid."
        f" Onboard with {ONBOARDING}" + (f" (Stripe still needs: {', '.join(outstanding)})." if outstanding else "."),
        slug="payouts-not-enabled",
        requirement=requirement,
        requirements=outstanding,
        onboarding=ONBOARDING,
    )


async def page_of_payouts(host_id: UUID, *, limit: int, cursor: str | None) -> Page[PayoutRead]:
    rows, next_cursor = await keyset(
        Payout.select().where(Payout.host == host_id),
        time_column=Payout.created_at,
        id_column=Payout.id,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[_read(r) for r in rows], next_cursor=next_cursor)


def _read(r: dict[str, Any]) -> PayoutRead:
    return PayoutRead(
        id=r["id"],
        booking_id=r["booking"],
        amount=r["amount"],
        reversed=r["reversed"],
        currency=r["currency"],
        status=r["status"],
        release_at=r["release_at"],
        failure_message=r["failure_message"],
        created_at=r["created_at"],
    )


# One row per payout released in the month, with the booking's facts and its `host_payable`
# postings summed by kind: transfers debit it, their reversals credit it back, every other entry
# (the allocations after captures and refunds) is what the host has earned.
_STATEMENT_SQL = """
SELECT b.id AS booking_id, b.check_in, b.check_out, b.price, b.terms, b.currency, l.title, g.full_name AS guest_name,
       p.status, p.release_at,
       COALESCE(SUM(lp.credit - lp.debit) FILTER (WHERE lp.kind NOT IN ('transfer', 'transfer_reversal')), 0)
           AS accrued,
       COALESCE(SUM(lp.debit - lp.credit) FILTER (WHERE lp.kind = 'transfer'), 0) AS transferred,
       COALESCE(SUM(lp.credit - lp.debit) FILTER (WHERE lp.kind = 'transfer_reversal'), 0) AS reversed,
       MIN(lp.created_at) FILTER (WHERE lp.kind = 'transfer') AS paid_at
  FROM payouts p
  JOIN bookings b ON b.id = p.booking
  JOIN listings l ON l.id = b.listing
  JOIN users g ON g.id = b.guest
  LEFT JOIN ledger_postings lp ON lp.booking = p.booking AND lp.account = 'host_payable'
 WHERE p.host = {} AND p.release_at >= {} AND p.release_at < {}
 GROUP BY p.id, b.id, l.id, g.id
 ORDER BY p.release_at, b.id
"""


async def monthly_statement(host_id: UUID, month: str) -> StatementRead:
    """The host's statement of `month` (`YYYY-MM`, 422 otherwise): every booking of theirs whose
    payout is released in that UTC month, one line each (`stayflow.rules.payouts.statement_line`),
    and the totals per currency. Another host's bookings never appear."""
    statement = await _statement(host_id, month)
    return StatementRead(
        month=month,
        starts_at=statement.starts_at,
        ends_at=statement.ends_at,
        host_name=statement.host_name,
        lines=[StatementLineRead(**dataclasses.asdict(line)) for line in statement.lines],
        totals=[StatementTotalRead(**dataclasses.asdict(total)) for total in statement.totals],
    )


async def monthly_statement_pdf(host_id: UUID, month: str) -> bytes:
    """The same statement as a PDF, rendered off the event loop (a CJK name loads a large font)."""
    return await asyncio.to_thread(render_statement, await _statement(host_id, month))


async def _statement(host_id: UUID, month: str) -> Statement:
    try:
        starts_at, ends_at = statement_month(month)
    except ValueError as exc:
        raise invalid("month", str(exc)) from exc
    host = await User.select(User.full_name).where(User.id == host_id).first()
    rows = await Payout.raw(_STATEMENT_SQL, host_id, starts_at, ends_at)
    lines = [statement_line(_statement_booking(row)) for row in rows]
    return Statement(
        month=month,
        starts_at=starts_at,
        ends_at=ends_at,
        host_name=host["full_name"] if host else "",
        lines=lines,
        totals=statement_totals(lines),
    )


def _statement_booking(row: dict[str, Any]) -> StatementBooking:
    price = json.loads(row["price"]) if isinstance(row["price"], str) else row["price"]
    return StatementBooking(
        booking_id=str(row["booking_id"]),
        guest_first_name=((row["guest_name"] or "").split() or ["Guest"])[0],
        listing_title=row["title"],
        check_in=row["check_in"],
        check_out=row["check_out"],
        quote=price or {},
        terms=stored_terms(row["terms"]) if row["terms"] else None,
        currency=row["currency"],
        accrued=int(row["accrued"]),
        transferred=int(row["transferred"]),
        reversed=int(row["reversed"]),
        payout_status=row["status"],
        release_at=row["release_at"],
        paid_at=row["paid_at"],
    )
