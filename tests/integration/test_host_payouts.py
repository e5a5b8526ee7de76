"""Hosts onboard to Stripe Connect and see their payouts; `account.updated` keeps the account's
state; admins read the trial balance. Real API, real Stripe SDK against the local fake Stripe."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from httpx import AsyncClient

from models import HostPayoutAccount, LedgerPosting
from models.identity import Role
from stayflow.settings import Settings
from tests.factories import signed_in_user
from tests.helpers import deliver


async def test_host_onboards_through_the_link_and_can_then_be_paid(
    client: AsyncClient, fake_stripe: Any, api_settings: Settings
) -> None:
    host = await signed_in_user(client, role=Role.host)
    started = await client.post("/api/v1/host/payouts/onboarding", headers=host.headers)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["account_id"].startswith("acct_") and body["onboarding_url"]
    before = (await client.get("/api/v1/host/payouts/account", headers=host.headers)).json()
    assert before["payouts_enabled"] is False and "external_account" in before["requirements"]
    # The same host asking again gets the same account (a fresh link).
    again = (await client.post("/api/v1/host/payouts/onboarding", headers=host.headers)).json()
    assert again["account_id"] == body["account_id"] and len(fake_stripe.accounts) == 1

    async with httpx.AsyncClient() as browser:  # the fake's form completes at once, no browser needed
        opened = await browser.get(body["onboarding_url"])
    assert opened.status_code == 303
    after = (await client.get("/api/v1/host/payouts/account", headers=host.headers)).json()
    assert after == {"account_id": body["account_id"], "payouts_enabled": True, "requirements": []}


async def test_account_updated_webhook_keeps_the_state_and_unknown_accounts_are_ignored(
    client: AsyncClient, fake_stripe: Any, api_settings: Settings
) -> None:
    host = await signed_in_user(client, role=Role.host)
    account_id = (await client.post("/api/v1/host/payouts/onboarding", headers=host.headers)).json()["account_id"]
    fake_stripe.complete_onboarding(account_id)
    fake_stripe.restrict_account(account_id, "individual.verification.document")
    for event in fake_stripe.events:
        assert (await deliver(client, event, api_settings)).status_code == 200
    stored = await HostPayoutAccount.objects().get(HostPayoutAccount.account_id == account_id)
    assert stored is not None and stored.payouts_enabled is False
    requirements = stored.requirements if isinstance(stored.requirements, list) else json.loads(stored.requirements)
    assert requirements == ["individual.verification.document"]
    unknown = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "account.updated",
               "data": {"object": {"id": "acct_nobody", "object": "account", "payouts_enabled": True}}}  # fmt: skip
    answer = await deliver(client, unknown, api_settings)
    assert answer.status_code == 200 and answer.json()["received"] is True
    assert await HostPayoutAccount.count() == 1


async def test_onboarding_is_for_hosts_only_and_payouts_are_my_own(client: AsyncClient, fake_stripe: Any) -> None:
    guest = await signed_in_user(client)
    refused = await client.post("/api/v1/host/payouts/onboarding", headers=guest.headers)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert fake_stripe.accounts == {}
    host = await signed_in_user(client, role=Role.host)
    page = (await client.get("/api/v1/host/payouts", headers=host.headers)).json()
    assert page["items"] == []


async def test_trial_balance_is_for_admins_and_balanced_when_empty(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    assert (await client.get("/api/v1/admin/ledger/balance", headers=host.headers)).status_code == 403
    admin = await signed_in_user(client, role=Role.admin)
    answer = (await client.get("/api/v1/admin/ledger/balance", headers=admin.headers)).json()
    assert answer == {"balanced": True, "difference": 0, "accounts": []}
    assert await LedgerPosting.count() == 0
