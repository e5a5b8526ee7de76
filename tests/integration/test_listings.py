"""Hosts create, edit and archive listings; bad input gets a 4xx and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from models import Listing
from stayflow.rules.roles import Role
from tests.factories import LISTING_FIELDS, make_listing, signed_in_user


async def test_host_creates_a_draft_with_every_field(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    response = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft" and body["host_id"] == str(host.user.id)
    for field, value in LISTING_FIELDS.items():
        assert body[field] == (sorted(value) if field == "amenities" else value), field
    assert body["photos"] == [] and body["rating"] == {"average": None, "count": 0}
    assert body["host"]["first_name"] == "Ada"


async def test_a_guest_must_become_a_host_first(client: AsyncClient) -> None:
    guest = await signed_in_user(client)
    response = await client.post("/api/v1/listings", headers=guest.headers, json=LISTING_FIELDS)
    assert response.status_code == 403
    assert await Listing.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nightly_price": -100}, "nightly_price"),
        ({"nightly_price": 1_000_000_000}, "nightly_price"),
        ({"cleaning_fee": -1}, "cleaning_fee"),
        ({"min_nights": 10, "max_nights": 5}, "min_nights"),
        ({"latitude": 91}, "latitude"),
        ({"longitude": -181}, "longitude"),
        ({"amenities": ["wifi", "helipad"]}, "amenities"),
        ({"country": "XX"}, "country"),
        ({"country": "nl"}, "country"),
        ({"bathrooms": 1.3}, "bathrooms"),
        ({"property_type": "castle"}, "property_type"),
        ({"currency": "BTC"}, "currency"),
        ({"currency": "KWD"}, "currency"),  # three decimals: not yet (see api/listings/schemas.py)
        ({"max_guests": 0}, "max_guests"),
        ({"status": "published"}, "status"),
    ],
)
async def test_invalid_listings_are_refused_and_nothing_is_created(
    client: AsyncClient, change: dict[str, Any], field: str
) -> None:
    host = await signed_in_user(client, role=Role.host)
    response = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS | change)
    assert response.status_code == 422, response.text
    assert any(field in (e.get("field") or "") or field in e["message"] for e in response.json()["errors"])
    assert await Listing.count() == 0


async def test_edit_changes_what_was_sent(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, status="draft")
    response = await client.patch(
        f"/api/v1/listings/{listing.id}", headers=host.headers, json={"nightly_price": 15_000, "city": "  Den  Haag "}
    )
    assert response.status_code == 200
    assert response.json()["nightly_price"] == 15_000 and response.json()["city"] == "Den Haag"
    assert response.json()["title"] == LISTING_FIELDS["title"]
    bad = await client.patch(f"/api/v1/listings/{listing.id}", headers=host.headers, json={"min_nights": 60})
    assert bad.status_code == 422  # 60 > max_nights 30
    stored = await Listing.objects().get(Listing.id == listing.id)
    assert stored is not None and stored.min_nights == 1


async def test_another_host_cannot_see_or_touch_my_draft(client: AsyncClient) -> None:
    mine = await make_listing(status="draft")
    other = await signed_in_user(client, role=Role.host)
    assert (await client.get(f"/api/v1/listings/{mine.id}", headers=other.headers)).status_code == 404
    assert (await client.get(f"/api/v1/listings/{mine.id}")).status_code == 404
    edit = await client.patch(f"/api/v1/listings/{mine.id}", headers=other.headers, json={"title": "Mine now"})
    assert edit.status_code == 404
    assert (await client.delete(f"/api/v1/listings/{mine.id}", headers=other.headers)).status_code == 404
    stored = await Listing.objects().get(Listing.id == mine.id)
    assert stored is not None and stored.title == LISTING_FIELDS["title"] and stored.status == "draft"


async def test_published_listing_is_public_and_host_sees_all_of_their_own(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    live = await make_listing(host.user)
    draft = await make_listing(host.user, status="draft", title="Garden cabin in the woods")
    assert (await client.get(f"/api/v1/listings/{live.id}")).status_code == 200
    assert (await client.get(f"/api/v1/listings/{draft.id}", headers=host.headers)).status_code == 200
    mine = await client.get("/api/v1/host/listings", headers=host.headers)
    assert {item["id"] for item in mine.json()["items"]} == {str(live.id), str(draft.id)}
    drafts = await client.get("/api/v1/host/listings", headers=host.headers, params={"status": "draft"})
    assert [item["id"] for item in drafts.json()["items"]] == [str(draft.id)]


async def test_archive_and_illegal_transitions(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user)
    assert (await client.delete(f"/api/v1/listings/{listing.id}", headers=host.headers)).status_code == 204
    assert (await client.get(f"/api/v1/listings/{listing.id}")).status_code == 404
    again = await client.delete(f"/api/v1/listings/{listing.id}", headers=host.headers)
    assert again.status_code == 409
    edit = await client.patch(f"/api/v1/listings/{listing.id}", headers=host.headers, json={"title": "Back again!"})
    assert edit.status_code == 409
    submit = await client.post(f"/api/v1/listings/{listing.id}/submit", headers=host.headers)
    assert submit.status_code == 409


async def test_amenity_catalogue(client: AsyncClient) -> None:
    response = await client.get("/api/v1/amenities")
    assert response.status_code == 200
    codes = {a["code"] for a in response.json()}
    assert {"wifi", "kitchen", "pool", "parking", "air_conditioning", "washer", "workspace", "pets_allowed"} <= codes
