"""Platform settings: typed and bounded, every change audited, in force for new bookings only."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from httpx import AsyncClient

from models import AuditEntry, Booking, PlatformSettings
from stayflow.rules.roles import Role
from tests.factories import make_listing, signed_in_user
from tests.helpers import audit_log, book, day, stay, wait_status
from workflows.booking import booking_workflow_id

DEFAULTS = {
    "service_fee_bps": 1200,
    "host_fee_bps": 300,
    "tax_bps": 0,
    "host_response_window_hours": 24,
    "review_window_days": 14,
    "listing_review_reminder_hours": 24,
    "require_payouts_to_publish": False,  # the test deployment's default (production's is True)
}

BAD_CHANGES: list[dict[str, Any]] = [
    {"service_fee_bps": -1},
    {"service_fee_bps": 2501},
    {"service_fee_bps": 12.5},
    {"host_fee_bps": -1},
    {"host_fee_bps": 2001},
    {"tax_bps": "five percent"},
    {"tax_bps": 3001},
    {"host_response_window_hours": 0},
    {"host_response_window_hours": 73},
    {"review_window_days": 0},
    {"review_window_days": 61},
    {"listing_review_reminder_hours": None},
    {"listing_review_reminder_hours": 169},
    {"service_fee_bps": 1300, "tax_bps": -5},  # one good value does not go through with a bad one
    {"service_fee_bps": 1300, "platform_cut": 1},
    {"service_fee_bps": 1300, "note": ""},
    {"require_payouts_to_publish": "yes"},
]


async def test_bad_values_are_refused_and_change_nothing(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    row_before = await PlatformSettings.select().where(PlatformSettings.id == 1)
    for body in BAD_CHANGES:
        response = await client.patch("/api/v1/admin/settings", headers=admin.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await PlatformSettings.select().where(PlatformSettings.id == 1) == row_before
    assert await AuditEntry.count() == 0
    current = (await client.get("/api/v1/admin/settings", headers=admin.headers)).json()
    assert {k: v for k, v in current.items() if k != "updated_at"} == DEFAULTS


async def started_with(dev_server_env: Any, booking_id: str) -> dict[str, Any]:
    """The BookingRequest the booking's workflow was started with."""
    history = await dev_server_env.client.get_workflow_handle(booking_workflow_id(booking_id)).fetch_history()
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    return dict(json.loads(payload.data))


async def quote(client: AsyncClient, listing_id: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"check_in": day(20), "check_out": day(23), "guests": 2}
    response = await client.get(f"/api/v1/listings/{listing_id}/quote", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_change_is_audited_and_holds_for_new_bookings_only(
    client: AsyncClient, worker: None, dev_server_env: Any
) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing(instant_book=True, nightly_price=10_000, cleaning_fee=5_000)
    guest = await signed_in_user(client)
    earlier = (await book(client, guest, stay(listing, start=10))).json()
    await wait_status(earlier["id"], "confirmed")
    assert (await quote(client, listing.id))["service_fee"] == 3_600  # 12% of 300.00

    change = {
        "service_fee_bps": 1500,
        "tax_bps": 500,
        "host_response_window_hours": 48,
        "review_window_days": 30,
        "listing_review_reminder_hours": 24,  # unchanged: not audited
        "note": "New pricing for the season",
    }
    response = await client.patch("/api/v1/admin/settings", headers=admin.headers, json=change)
    assert response.status_code == 200, response.text
    assert {k: v for k, v in response.json().items() if k != "updated_at"} == DEFAULTS | {
        "service_fee_bps": 1500,
        "tax_bps": 500,
        "host_response_window_hours": 48,
        "review_window_days": 30,
    }
    [entry] = await audit_log(client, admin, action="settings.update")
    assert entry["before"] == {
        "service_fee_bps": 1200,
        "tax_bps": 0,
        "host_response_window_hours": 24,
        "review_window_days": 14,
    }
    assert entry["after"] == {
        "service_fee_bps": 1500,
        "tax_bps": 500,
        "host_response_window_hours": 48,
        "review_window_days": 30,
    }
    assert entry["reason"] == "New pricing for the season" and entry["actor_id"] == str(admin.user.id)
    same_again = await client.patch("/api/v1/admin/settings", headers=admin.headers, json={"service_fee_bps": 1500})
    assert same_again.status_code == 200 and await AuditEntry.count() == 1  # nothing changed, nothing audited

    # The next quote prices with the new fees: 15% of 300.00 and 5% of (300.00 + 50.00).
    fresh_quote = await quote(client, listing.id)
    assert (fresh_quote["service_fee"], fresh_quote["taxes"]) == (4_500, 1_750)
    assert fresh_quote["total"] == 30_000 + 5_000 + 4_500 + 1_750
    later_guest = await signed_in_user(client)
    later = (await book(client, later_guest, stay(listing, start=20))).json()
    assert later["price"] == fresh_quote
    await wait_status(later["id"], "confirmed")

    # The booking made before keeps its price, its host response window and its review window.
    kept = (await client.get(f"/api/v1/bookings/{earlier['id']}", headers=guest.headers)).json()
    assert kept["price"] == earlier["price"] and kept["price"]["service_fee"] == 3_600 and kept["price"]["taxes"] == 0
    assert (await started_with(dev_server_env, earlier["id"]))["host_response_hours"] == 24
    assert (await started_with(dev_server_env, later["id"]))["host_response_hours"] == 48
    windows = {
        str(b.id): b.review_window_days
        for b in await Booking.objects().where(Booking.id.is_in([uuid.UUID(earlier["id"]), uuid.UUID(later["id"])]))
    }
    assert windows == {earlier["id"]: 14, later["id"]: 30}

    # Twenty days after check-out, the earlier stay's 14-day window has closed; the later one's 30 has not.
    await Booking.update(
        {Booking.status: "completed", Booking.completed_at: dt.datetime.now(dt.UTC) - dt.timedelta(days=20)}
    ).where(Booking.id.is_in([uuid.UUID(earlier["id"]), uuid.UUID(later["id"])]))
    review = {"rating": 4, "comment": "Fine.", "categories": dict.fromkeys(
        ("cleanliness", "accuracy", "communication", "location", "check_in", "value"), 4
    )}  # fmt: skip
    closed = await client.post(f"/api/v1/bookings/{earlier['id']}/reviews", headers=guest.headers, json=review)
    assert closed.status_code == 409 and "14-day" in closed.json()["detail"]
    still_open = await client.post(f"/api/v1/bookings/{later['id']}/reviews", headers=later_guest.headers, json=review)
    assert still_open.status_code == 201, still_open.text
