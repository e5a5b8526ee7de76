"""The audit log: every admin action leaves one row with before/after, written with the action
itself; rows cannot be changed or deleted; admins page and filter it."""

from __future__ import annotations

import datetime as dt

import pytest
from httpx import AsyncClient

from models import AuditEntry, Listing
from stayflow.audit import Actor, AuditOutsideTransaction, record_admin_action
from stayflow.rules.roles import Role
from tests.factories import make_listing, make_user, signed_in_user
from tests.helpers import audit_log, ready_draft, submit_and_wait


async def test_user_role_suspension_and_restore_are_audited(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    target = await make_user()
    await client.post(f"/api/v1/admin/users/{target.id}/role", headers=admin.headers, json={"role": "host"})
    await client.post(f"/api/v1/admin/users/{target.id}/suspend", headers=admin.headers, json={"reason": "fraud"})
    refused = await client.post(f"/api/v1/admin/users/{target.id}/suspend", headers=admin.headers, json={"reason": "x"})
    assert refused.status_code == 409  # refused actions leave no row
    await client.post(f"/api/v1/admin/users/{target.id}/restore", headers=admin.headers)

    entries = await audit_log(client, admin, target_type="user", target_id=str(target.id))
    assert [(e["action"], e["before"], e["after"], e["reason"]) for e in reversed(entries)] == [
        ("user.role_change", {"role": "guest"}, {"role": "host"}, None),
        ("user.suspend", {"suspended": False}, {"suspended": True, "sessions_revoked": 0}, "fraud"),
        ("user.restore", {"suspended": True, "suspension_reason": "fraud"}, {"suspended": False}, None),
    ]
    assert {e["actor_id"] for e in entries} == {str(admin.user.id)}
    assert all(e["ip_address"] for e in entries)  # where the request came from


async def test_listing_decisions_moderation_and_reports_are_audited(client: AsyncClient, worker: None) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    host = await signed_in_user(client, role=Role.host)
    approved, rejected = await ready_draft(client, host), await ready_draft(client, host)
    for listing_id in (approved, rejected):
        await submit_and_wait(client, host, listing_id)
    assert (await client.post(f"/api/v1/admin/listings/{approved}/approve", headers=admin.headers)).status_code == 200
    rejection = await client.post(
        f"/api/v1/admin/listings/{rejected}/reject", headers=admin.headers, json={"reason": "Photos are blurry"}
    )
    assert rejection.status_code == 200
    published = await make_listing()
    await client.post(f"/api/v1/admin/listings/{published.id}/suspend", headers=admin.headers, json={"reason": "scam"})
    await client.post(f"/api/v1/admin/listings/{published.id}/restore", headers=admin.headers)
    guest = await signed_in_user(client)
    report = await client.post(
        f"/api/v1/listings/{published.id}/reports", headers=guest.headers, json={"reason": "scam"}
    )
    await client.post(
        f"/api/v1/admin/reports/{report.json()['id']}/resolve", headers=admin.headers, json={"resolution": "Warned"}
    )

    rows = {(e["action"], e["target_id"]): e for e in await audit_log(client, admin, target_type="listing")}
    assert rows[("listing.approve", approved)]["after"] == {"status": "published"}
    assert rows[("listing.approve", approved)]["actor_id"] == str(admin.user.id)
    assert rows[("listing.reject", rejected)]["reason"] == "Photos are blurry"
    assert rows[("listing.reject", rejected)]["before"] == {"status": "pending_review"}
    assert rows[("listing.suspend", str(published.id))]["after"] == {"status": "suspended"}
    assert rows[("listing.restore", str(published.id))]["before"] == {"status": "suspended"}
    assert len(rows) == 4
    [resolution] = await audit_log(client, admin, action="report.resolve")
    assert resolution["target_id"] == report.json()["id"] and resolution["reason"] == "Warned"
    assert resolution["after"] == {"status": "resolved", "listing_id": str(published.id)}


async def test_a_failed_action_leaves_neither_change_nor_audit_row(client: AsyncClient) -> None:
    """Action and audit row share one transaction: when the row cannot be written, nothing changes."""
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing()
    # Make every audit insert fail, as a full disk or a broken constraint would: the suspension must not stick.
    await AuditEntry.raw("ALTER TABLE audit_log ADD CONSTRAINT test_refuse_all CHECK (false) NOT VALID")
    try:
        response = await client.post(
            f"/api/v1/admin/listings/{listing.id}/suspend", headers=admin.headers, json={"reason": "scam"}
        )
    finally:
        await AuditEntry.raw("ALTER TABLE audit_log DROP CONSTRAINT test_refuse_all")
    assert response.status_code == 500
    stored = await Listing.objects().get(Listing.id == listing.id)
    assert stored is not None and stored.status == "published"
    assert await AuditEntry.count() == 0


async def test_audit_rows_cannot_be_changed_or_deleted(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    target = await make_user()
    await client.post(f"/api/v1/admin/users/{target.id}/role", headers=admin.headers, json={"role": "host"})
    [entry] = await AuditEntry.select()
    with pytest.raises(Exception, match="immutable"):
        await AuditEntry.update({AuditEntry.reason: "nothing happened"}).where(AuditEntry.id == entry["id"])
    with pytest.raises(Exception, match="immutable"):
        await AuditEntry.raw("UPDATE audit_log SET actor = {}", target.id)
    with pytest.raises(Exception, match="immutable"):
        await AuditEntry.delete(force=True)
    assert await AuditEntry.select() == [entry]


async def test_an_audit_row_outside_a_transaction_is_refused(client: AsyncClient) -> None:
    admin = await make_user(role=Role.admin)
    with pytest.raises(AuditOutsideTransaction):
        await record_admin_action(Actor(admin.id), "user.role_change", "user", admin.id)
    assert await AuditEntry.count() == 0


async def test_audit_log_pages_newest_first_and_filters(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    other_admin = await signed_in_user(client, role=Role.admin)
    started = dt.datetime.now(dt.UTC)
    for fee in (1000, 1100, 1300, 1400):
        await client.patch("/api/v1/admin/settings", headers=admin.headers, json={"service_fee_bps": fee})
    target = await make_user()
    await client.post(f"/api/v1/admin/users/{target.id}/role", headers=other_admin.headers, json={"role": "host"})

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/admin/audit-log", headers=admin.headers, params=params)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["action"] for e in seen] == ["user.role_change"] + ["settings.update"] * 4
    assert [e["after"] for e in seen[1:]] == [{"service_fee_bps": f} for f in (1400, 1300, 1100, 1000)]

    by_actor = await audit_log(client, admin, actor=str(other_admin.user.id))
    assert [e["target_id"] for e in by_actor] == [str(target.id)]
    assert len(await audit_log(client, admin, action="settings.update", target_type="settings", target_id="1")) == 4
    assert await audit_log(client, admin, **{"from": (started + dt.timedelta(hours=1)).isoformat()}) == []
    assert len(await audit_log(client, admin, **{"from": started.isoformat()})) == 5
    assert await audit_log(client, admin, to=started.isoformat()) == []
    backwards = await client.get(
        "/api/v1/admin/audit-log",
        headers=admin.headers,
        params={"from": started.isoformat(), "to": (started - dt.timedelta(days=1)).isoformat()},
    )
    assert backwards.status_code == 422
    bad_actor = await client.get("/api/v1/admin/audit-log", headers=admin.headers, params={"actor": "nobody"})
    assert bad_actor.status_code in (400, 422)
