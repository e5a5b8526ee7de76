"""Listing approval end to end: the API, the real worker and the Temporal dev server."""

from __future__ import annotations

import asyncio
from typing import Any

from httpx import AsyncClient

from models import Listing, ListingReport
from stayflow.rules.roles import Role
from tests.factories import LISTING_FIELDS, make_listing, signed_in_user
from tests.helpers import eventually, listing_status, ready_draft, submit_and_wait, wait_for_outbox


async def test_submit_review_approve_publish(client: AsyncClient, worker: None, dev_server_env: Any) -> None:
    host = await signed_in_user(client, role=Role.host, email="host@example.com")
    admin = await signed_in_user(client, role=Role.admin)
    guest = await signed_in_user(client)
    listing_id = await ready_draft(client, host)
    await submit_and_wait(client, host, listing_id)
    again = await client.post(f"/api/v1/listings/{listing_id}/submit", headers=host.headers)
    assert again.status_code == 409

    queue = await client.get("/api/v1/admin/listings", headers=admin.headers, params={"status": "pending_review"})
    assert [item["id"] for item in queue.json()["items"]] == [listing_id]
    assert (await client.get("/api/v1/admin/listings", headers=guest.headers)).status_code == 403
    assert (await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=guest.headers)).status_code == 403
    assert (await client.get("/api/v1/listings", params={"city": "Amsterdam"})).json()["items"] == []

    approved = await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    found = (await client.get("/api/v1/listings", params={"city": "Amsterdam"})).json()["items"]
    assert [item["id"] for item in found] == [listing_id]
    email = await wait_for_outbox(client, "host@example.com")
    assert email["subject"].startswith("Your listing is live")
    twice = await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    assert twice.status_code == 409

    # Operators find the run in the Temporal UI by business key.
    runs = [w async for w in dev_server_env.client.list_workflows(f"ListingId = '{listing_id}'")]
    assert len(runs) == 1 and runs[0].workflow_type == "ListingApprovalWorkflow"


async def test_reject_edit_and_resubmit_is_a_new_run(client: AsyncClient, worker: None, dev_server_env: Any) -> None:
    host = await signed_in_user(client, role=Role.host, email="host@example.com")
    admin = await signed_in_user(client, role=Role.admin)
    listing_id = await ready_draft(client, host)
    await submit_and_wait(client, host, listing_id)
    no_reason = await client.post(f"/api/v1/admin/listings/{listing_id}/reject", headers=admin.headers, json={})
    assert no_reason.status_code == 422
    rejected = await client.post(f"/api/v1/admin/listings/{listing_id}/reject", headers=admin.headers,
                                 json={"reason": "The photos show a different flat."})  # fmt: skip
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    mine = (await client.get(f"/api/v1/listings/{listing_id}", headers=host.headers)).json()
    assert mine["review_notes"] == "The photos show a different flat."
    assert (await client.get(f"/api/v1/listings/{listing_id}")).status_code == 404
    email = await wait_for_outbox(client, "host@example.com")
    assert "different flat" in email["text"]

    edited = await client.patch(
        f"/api/v1/listings/{listing_id}", headers=host.headers, json={"title": "Canal loft, true photos"}
    )
    assert edited.status_code == 200
    await submit_and_wait(client, host, listing_id)

    async def two_runs() -> bool:  # visibility is eventually consistent
        return len([w async for w in dev_server_env.client.list_workflows(f"ListingId = '{listing_id}'")]) == 2

    await eventually(two_runs)


async def test_submit_refuses_an_unready_listing_with_reasons(client: AsyncClient, worker: None) -> None:
    host = await signed_in_user(client, role=Role.host)
    created = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS | {"description": "Nice"})
    listing_id = created.json()["id"]
    response = await client.post(f"/api/v1/listings/{listing_id}/submit", headers=host.headers)
    assert response.status_code == 422
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert "photo" in messages and "description" in messages
    assert await listing_status(listing_id) == "draft"


async def test_moving_a_published_listing_sends_it_back_to_review(client: AsyncClient, worker: None) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    listing_id = await ready_draft(client, host)
    await submit_and_wait(client, host, listing_id)
    await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    repriced = await client.patch(
        f"/api/v1/listings/{listing_id}", headers=host.headers, json={"nightly_price": 13_000}
    )
    assert repriced.json()["status"] == "published"  # price, text, photos: live at once

    moved = await client.patch(f"/api/v1/listings/{listing_id}", headers=host.headers,
                               json={"city": "Rotterdam", "latitude": 51.92, "longitude": 4.48})  # fmt: skip
    assert moved.status_code == 200

    async def back_in_review() -> bool:
        return await listing_status(listing_id) == "pending_review"

    await eventually(back_in_review)


async def test_suspend_and_restore(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing()
    draft = await make_listing(status="draft", title="A draft listing here")
    suspended = await client.post(f"/api/v1/admin/listings/{listing.id}/suspend", headers=admin.headers,
                                  json={"reason": "Reported as a scam"})  # fmt: skip
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert (await client.get("/api/v1/listings")).json()["items"] == []
    assert (await client.get(f"/api/v1/listings/{listing.id}")).status_code == 404
    restored = await client.post(f"/api/v1/admin/listings/{listing.id}/restore", headers=admin.headers)
    assert restored.json()["status"] == "published"
    assert len((await client.get("/api/v1/listings")).json()["items"]) == 1
    illegal = await client.post(f"/api/v1/admin/listings/{draft.id}/suspend", headers=admin.headers,
                                json={"reason": "x"})  # fmt: skip
    assert illegal.status_code == 409
    assert await listing_status(draft.id) == "draft"


async def test_reports_reach_admins_and_are_resolved(client: AsyncClient) -> None:
    listing = await make_listing()
    draft = await make_listing(status="draft", title="A draft listing here")
    guest = await signed_in_user(client)
    admin = await signed_in_user(client, role=Role.admin)
    body = {"reason": "scam", "details": "Asked me to pay outside the platform."}
    anonymous = await client.post(f"/api/v1/listings/{listing.id}/reports", json=body)
    assert anonymous.status_code == 401
    reported = await client.post(f"/api/v1/listings/{listing.id}/reports", headers=guest.headers, json=body)
    assert reported.status_code == 201, reported.text
    duplicate = await client.post(f"/api/v1/listings/{listing.id}/reports", headers=guest.headers, json=body)
    assert duplicate.status_code == 409
    hidden = await client.post(f"/api/v1/listings/{draft.id}/reports", headers=guest.headers, json=body)
    assert hidden.status_code == 404
    bad = await client.post(f"/api/v1/listings/{listing.id}/reports", headers=guest.headers, json={"reason": "meh"})
    assert bad.status_code == 422
    assert await ListingReport.count() == 1

    queue = (await client.get("/api/v1/admin/reports", headers=admin.headers)).json()["items"]
    assert [r["details"] for r in queue] == [body["details"]]
    assert (await client.get("/api/v1/admin/reports", headers=guest.headers)).status_code == 403
    report_id = queue[0]["id"]
    resolved = await client.post(f"/api/v1/admin/reports/{report_id}/resolve", headers=admin.headers,
                                 json={"resolution": "Host warned; listing suspended."})  # fmt: skip
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = await client.post(f"/api/v1/admin/reports/{report_id}/resolve", headers=admin.headers,
                              json={"resolution": "again"})  # fmt: skip
    assert again.status_code == 409
    assert (await client.get("/api/v1/admin/reports", headers=admin.headers)).json()["items"] == []


async def test_a_published_listing_cannot_be_edited_out_of_review_shape(client: AsyncClient, worker: None) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    listing_id = await ready_draft(client, host)
    await submit_and_wait(client, host, listing_id)
    await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    for change in ({"cleaning_fee": 5_000_000, "nightly_price": 100}, {"description": ""},
                   {"city": "Rotterdam", "description": "short"}):  # fmt: skip
        response = await client.patch(f"/api/v1/listings/{listing_id}", headers=host.headers, json=change)
        assert response.status_code == 422, change
    stored = await Listing.objects().get(Listing.id == listing_id)
    assert stored is not None and stored.status == "published" and stored.city == "Amsterdam"
    assert stored.nightly_price == LISTING_FIELDS["nightly_price"]
    photos = (await client.get(f"/api/v1/listings/{listing_id}/photos")).json()
    last = await client.delete(f"/api/v1/listings/{listing_id}/photos/{photos[0]['id']}", headers=host.headers)
    assert last.status_code == 409


async def test_a_moved_listing_leaves_search_at_once(client: AsyncClient, worker: None) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    listing_id = await ready_draft(client, host)
    await submit_and_wait(client, host, listing_id)
    await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)
    moves = await asyncio.gather(
        client.patch(f"/api/v1/listings/{listing_id}", headers=host.headers, json={"city": "Utrecht"}),
        client.patch(f"/api/v1/listings/{listing_id}", headers=host.headers, json={"city": "Haarlem"}),
    )
    codes = sorted(m.status_code for m in moves)
    assert codes in ([200, 409], [200, 200]), codes
    winner = next(m for m in moves if m.status_code == 200).json()
    assert winner["status"] == "pending_review"
    stored = await Listing.objects().get(Listing.id == listing_id)
    assert stored is not None and stored.city == winner["city"]  # the losing move changed nothing
    for city in ("Utrecht", "Haarlem", "Amsterdam"):
        assert (await client.get("/api/v1/listings", params={"city": city})).json()["items"] == []
