"""Connect onboarding, the host's account state, their payouts, and `account.updated`."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from api.errors import Problem
from api.pagination import Page, keyset
from api.payouts.schemas import Onboarding, PayoutAccountRead, PayoutRead
from models import HostPayoutAccount, Payout, User
from stayflow.providers.payments import ConnectedAccount, PaymentProviderError, PaymentRejected, StripePayments
from stayflow.settings import Settings


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
    requirements = account.requirements if isinstance(account.requirements, list) else json.loads(account.requirements)
    return PayoutAccountRead(account.account_id, bool(account.payouts_enabled), [str(r) for r in requirements])


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
