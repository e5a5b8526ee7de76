"""A listing goes live only once its host can be paid, while the platform requires it
(`require_payouts_to_publish`): submitting, approving and restoring are refused with a 409 naming
the requirement, and change nothing. Real API, worker, Temporal dev server and the fake Stripe."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from httpx import AsyncClient

from api.errors import Problem
from api.payouts.service import ensure_host_can_publish
from models import AuditEntry, HostPayoutAccount
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from tests.factories import SignedIn, make_listing, make_user, signed_in_user
from tests.helpers import audit_log, listing_status, ready_draft, submit_and_wait


async def require_payouts(client: AsyncClient, admin: SignedIn, value: bool | None) -> dict[str, Any]:
    response = await client.patch(
        "/api/v1/admin/settings", headers=admin.headers, json={"require_payouts_to_publish": value}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_payouts_required(response: httpx.Response, requirements: list[str]) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "https://stayflow.dev/problems/payouts-not-enabled"
    assert problem["requirement"] == "payouts_not_enabled"
    assert problem["requirements"] == requirements
    assert problem["onboarding"] == "POST /api/v1/host/payouts/onboarding"
    assert "/api/v1/host/payouts/onboarding" in problem["detail"]


async def onboard(client: AsyncClient, host: SignedIn) -> str:
    """What a host does: ask for the onboarding link and open it (the fake completes it at once)."""
    started = (await client.post("/api/v1/host/payouts/onboarding", headers=host.headers)).json()
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(started["onboarding_url"])).status_code == 303
    account = (await client.get("/api/v1/host/payouts/account", headers=host.headers)).json()
    assert account["payouts_enabled"] is True
    return str(started["account_id"])


async def test_the_setting_is_off_in_tests_by_default_audited_and_null_restores_the_default(
    client: AsyncClient,
) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    assert (await client.get("/api/v1/admin/settings", headers=admin.headers)).json()[
        "require_payouts_to_publish"
    ] is False  # fmt: skip
    assert (await require_payouts(client, admin, True))["require_payouts_to_publish"] is True
    assert (await require_payouts(client, admin, None))["require_payouts_to_publish"] is False
    entries = await audit_log(client, admin, action="settings.update")
    assert [(e["before"], e["after"]) for e in reversed(entries)] == [
        ({"require_payouts_to_publish": None}, {"require_payouts_to_publish": True}),
        ({"require_payouts_to_publish": True}, {"require_payouts_to_publish": None}),
    ]


async def test_a_host_who_cannot_be_paid_cannot_submit_until_onboarded(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    host = await signed_in_user(client, role=Role.host)
    listing_id = await ready_draft(client, host)
    await require_payouts(client, admin, True)
    audited = await AuditEntry.count()

    refused = await client.post(f"/api/v1/listings/{listing_id}/submit", headers=host.headers)
    assert_payouts_required(refused, ["onboarding"])  # no account at all yet
    assert await listing_status(listing_id) == "draft" and await AuditEntry.count() == audited

    # An account Stripe still needs details for: what it needs is named.
    account_id = (await client.post("/api/v1/host/payouts/onboarding", headers=host.headers)).json()["account_id"]
    pending = await client.post(f"/api/v1/listings/{listing_id}/submit", headers=host.headers)
    stored = await HostPayoutAccount.objects().get(HostPayoutAccount.account_id == account_id)
    assert stored is not None and stored.payouts_enabled is False
    assert_payouts_required(pending, (await client.get("/api/v1/host/payouts/account", headers=host.headers)).json()[
        "requirements"
    ])  # fmt: skip
    assert pending.json()["requirements"] and await listing_status(listing_id) == "draft"

    await onboard(client, host)
    await submit_and_wait(client, host, listing_id)


async def test_approval_and_restore_do_not_publish_while_the_host_cannot_be_paid(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    host = await signed_in_user(client, role=Role.host)
    listing_id = await ready_draft(client, host)
    await submit_and_wait(client, host, listing_id)  # submitted while the platform did not require it
    await require_payouts(client, admin, True)

    refused = await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    assert_payouts_required(refused, ["onboarding"])
    assert await listing_status(listing_id) == "pending_review"
    assert (await client.get("/api/v1/listings", params={"city": "Amsterdam"})).json()["items"] == []
    suspended = await make_listing(host.user, status="suspended")
    restore = await client.post(f"/api/v1/admin/listings/{suspended.id}/restore", headers=admin.headers)
    assert_payouts_required(restore, ["onboarding"])
    assert await listing_status(suspended.id) == "suspended"

    await onboard(client, host)
    approved = await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    found = (await client.get("/api/v1/listings", params={"city": "Amsterdam"})).json()["items"]
    assert listing_id in [item["id"] for item in found]
    restored = await client.post(f"/api/v1/admin/listings/{suspended.id}/restore", headers=admin.headers)
    assert restored.status_code == 200 and restored.json()["status"] == "published"


async def test_with_the_setting_off_a_host_without_payouts_publishes_as_before(
    client: AsyncClient, worker: None
) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    host = await signed_in_user(client, role=Role.host)
    listing_id = await ready_draft(client, host)
    await require_payouts(client, admin, False)
    await submit_and_wait(client, host, listing_id)
    approved = await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    assert approved.status_code == 200 and approved.json()["status"] == "published"


async def test_a_production_deployment_requires_payouts_until_an_admin_says_otherwise(
    client: AsyncClient, api_settings: Settings
) -> None:
    """The stored setting is NULL until an admin sets it: production then requires payouts."""
    production = msgspec.structs.replace(api_settings, env="production")
    host = await make_user(role=Role.host)
    with pytest.raises(Problem) as refused:
        await ensure_host_can_publish(host.id, production)
    assert refused.value.status_code == 409 and refused.value.extra == {
        "requirement": "payouts_not_enabled",
        "requirements": ["onboarding"],
        "onboarding": "POST /api/v1/host/payouts/onboarding",
    }
    await ensure_host_can_publish(host.id, api_settings)  # the test deployment's default: off
    admin = await signed_in_user(client, role=Role.admin)
    await require_payouts(client, admin, False)
    await ensure_host_can_publish(host.id, production)  # an admin's choice holds in production too
