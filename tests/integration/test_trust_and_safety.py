"""Trust and safety (issue 12, part A): each test fails if its defence is removed."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
import zlib
from typing import Any

from httpx import AsyncClient

from activities.documents import issue_document
from models import AuditEntry, Booking, Listing, ListingPhoto, Message, Payment
from stayflow.rules.roles import Role
from tests.factories import LISTING_FIELDS, image_bytes, make_booking, make_listing, make_user, signed_in_user
from tests.helpers import book, day, eventually, listing_status, ready_draft, stay, submit_and_wait

# --- item 1: calendar hoarding ---------------------------------------------------------------------


async def test_a_new_account_books_only_after_verifying_its_email(client: AsyncClient, worker: None) -> None:
    listing = await make_listing(instant_book=False)
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": "a long enough secret", "full_name": "Zoë New"}
    )
    assert registered.status_code == 201 and registered.json()["email_verified"] is False
    tokens = (await client.post("/api/v1/auth/login", json={"email": email, "password": "a long enough secret"})).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    refused = await client.post(
        "/api/v1/bookings", headers=headers | {"Idempotency-Key": str(uuid.uuid4())}, json=stay(listing)
    )
    assert refused.status_code == 403 and refused.json()["type"].endswith("email-not-verified")
    assert await Booking.count() == 0

    async def emailed() -> bool:
        return await Message.exists().where((Message.kind == "email_verification") & (Message.recipient == email))

    await eventually(emailed, what="the verification email")
    mail = await Message.objects().where((Message.kind == "email_verification") & (Message.channel == "email")).first()
    assert mail is not None
    token = re.search(r"token=([\w-]+)", mail.text_body)
    assert token is not None
    assert (await client.post("/api/v1/auth/email/verify", json={"token": "not-the-code"})).status_code == 400
    assert (await client.post("/api/v1/auth/email/verify", json={"token": token.group(1)})).status_code == 204
    again = await client.post("/api/v1/auth/email/verify", json={"token": token.group(1)})
    assert again.status_code == 400  # single use
    assert (await client.get("/api/v1/users/me", headers=headers)).json()["email_verified"] is True
    booked = await client.post(
        "/api/v1/bookings", headers=headers | {"Idempotency-Key": str(uuid.uuid4())}, json=stay(listing)
    )
    assert booked.status_code == 201, booked.text


async def test_one_account_cannot_hold_more_than_a_month_of_unconfirmed_nights(
    client: AsyncClient, worker: None
) -> None:
    # The held booking stays `pending_payment`, as a 3-D Secure payment nobody confirms does.
    first = await make_listing(max_nights=365)
    second = await make_listing(max_nights=365)
    guest = await signed_in_user(client)
    year = await book(client, guest, stay(first, nights=365, payment_method="pm_card_authenticationRequired"))
    assert year.status_code == 409 and year.json()["type"].endswith("too-many-unconfirmed-nights")
    held = await book(client, guest, stay(first, nights=20, payment_method="pm_card_authenticationRequired"))
    assert held.status_code == 201, held.text
    more = await book(client, guest, stay(second, start=40, nights=12))
    assert more.status_code == 409 and "you hold 20" in more.json()["detail"]
    assert await Booking.count() == 1
    fits = await book(client, guest, stay(second, start=40, nights=11))
    assert fits.status_code == 201


# --- item 4: what each party reads of a booking ---------------------------------------------------


async def test_payment_secrets_and_the_guests_email_are_for_the_guest_only(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    guest = await signed_in_user(client, full_name="Zoë 山田 Łukasz")
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing(host.user)
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, guest.user, check_in=today + dt.timedelta(10), check_out=today + dt.timedelta(12)
    )
    await Payment.update(
        {Payment.client_secret: "pi_123_secret_abc", Payment.failure_message: "Insufficient funds."}
    ).where(Payment.booking == booking.id)
    await Booking.update({Booking.status: "payment_failed", Booking.status_reason: "Insufficient funds."}).where(
        Booking.id == booking.id
    )
    mine = (await client.get(f"/api/v1/bookings/{booking.id}", headers=guest.headers)).json()
    assert mine["payment"]["client_secret"] == "pi_123_secret_abc"
    assert (
        mine["payment"]["failure_message"] == "Insufficient funds." and mine["status_reason"] == "Insufficient funds."
    )
    for reader in (host, admin):
        seen = (await client.get(f"/api/v1/bookings/{booking.id}", headers=reader.headers)).json()
        assert seen["payment"]["client_secret"] is None and seen["payment"]["failure_message"] is None
        assert "Insufficient" not in json.dumps(seen)
    [listed] = (await client.get("/api/v1/host/bookings", headers=host.headers)).json()["items"]
    assert (
        "secret" not in json.dumps(listed["payment"]).replace("client_secret", "")
        and listed["payment"]["client_secret"] is None
    )
    admin_view = (await client.get(f"/api/v1/admin/bookings/{booking.id}", headers=admin.headers)).json()
    assert admin_view["booking"]["payment"]["client_secret"] is None

    billed = f"{guest.user.full_name} <{guest.user.email}>"
    lines = [{"description": "2 nights at 山の家", "amount": 100}]
    await issue_document(
        booking_id=booking.id, kind="invoice", prefix="INV", lines=lines, total=100, currency="EUR", billed_to=billed
    )
    host_docs = (await client.get(f"/api/v1/bookings/{booking.id}/invoice", headers=host.headers)).json()
    assert host_docs["documents"][0]["billed_to"] == "Zoë 山田 Łukasz" and "@" not in json.dumps(host_docs)
    guest_docs = (await client.get(f"/api/v1/bookings/{booking.id}/invoice", headers=guest.headers)).json()
    assert guest_docs["documents"][0]["billed_to"] == billed

    # item 12: the PDF of a name outside Latin-1 is a PDF that carries every character of it.
    pdf = await client.get(f"/api/v1/bookings/{booking.id}/invoice.pdf", headers=guest.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    mapped = _unicode_maps(pdf.content)
    for char in "ë山田Łの家":
        assert f"<{ord(char):04X}>" in mapped, char
    host_pdf = await client.get(f"/api/v1/bookings/{booking.id}/invoice.pdf", headers=host.headers)
    assert host_pdf.status_code == 200 and "<0040>" not in _unicode_maps(host_pdf.content)  # no "@": no email


def _unicode_maps(pdf: bytes) -> str:
    """The ToUnicode CMaps of a PDF's fonts: which characters its text is made of."""
    found = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            text = zlib.decompress(stream).decode("latin-1")
        except zlib.error:  # fpdf2 leaves the CMaps uncompressed
            text = stream.decode("latin-1")
        if "beginbfchar" in text or "beginbfrange" in text:
            found.append(text.upper())
    return "\n".join(found)


# --- item 5: a suspended host ---------------------------------------------------------------------


async def test_a_suspended_hosts_listings_leave_search_and_take_no_bookings_until_restored(
    client: AsyncClient, worker: None
) -> None:
    host = await make_user(role=Role.host)
    listing = await make_listing(host)
    admin = await signed_in_user(client, role=Role.admin)
    guest = await signed_in_user(client)
    assert [i["id"] for i in (await client.get("/api/v1/listings")).json()["items"]] == [str(listing.id)]
    suspended = await client.post(
        f"/api/v1/admin/users/{host.id}/suspend", headers=admin.headers, json={"reason": "fraud reports"}
    )
    assert suspended.status_code == 200
    assert (await client.get("/api/v1/listings")).json()["items"] == []
    assert (await client.get("/api/v1/listings", params={"city": "Amsterdam"})).json()["items"] == []
    assert (await client.get(f"/api/v1/listings/{listing.id}")).status_code == 404
    refused = await book(client, guest, stay(listing))
    assert refused.status_code == 404
    as_admin = await book(client, admin, stay(listing))
    assert as_admin.status_code == 409 and as_admin.json()["type"].endswith("listing-not-bookable")
    assert await Booking.count() == 0
    restored = await client.post(f"/api/v1/admin/users/{host.id}/restore", headers=admin.headers, json={})
    assert restored.status_code in (200, 201), restored.text
    assert [i["id"] for i in (await client.get("/api/v1/listings")).json()["items"]] == [str(listing.id)]
    assert (await book(client, guest, stay(listing))).status_code == 201


# --- item 6: material edits are reviewed again; a suspended listing's photos -------------------


async def test_a_material_edit_takes_a_published_listing_down_until_approved(client: AsyncClient, worker: None) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    listing_id = await ready_draft(client, host)
    await submit_and_wait(client, host, listing_id)
    assert (await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)).status_code == 200
    price = LISTING_FIELDS["nightly_price"]
    small = await client.patch(
        f"/api/v1/listings/{listing_id}", headers=host.headers, json={"nightly_price": price + price // 10}
    )
    assert small.status_code == 200 and small.json()["status"] == "published"  # a 10% change goes live
    switched = await client.patch(
        f"/api/v1/listings/{listing_id}", headers=host.headers, json={"title": "Bunk bed in a shed"}
    )
    assert switched.status_code == 200 and switched.json()["status"] == "pending_review"
    assert (await client.get("/api/v1/listings")).json()["items"] == []  # guests never see the unreviewed edit
    assert (await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)).status_code == 200
    assert await listing_status(listing_id) == "published"
    doubled = await client.patch(
        f"/api/v1/listings/{listing_id}", headers=host.headers, json={"nightly_price": price * 2}
    )
    assert doubled.json()["status"] == "pending_review"
    assert (await client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin.headers)).status_code == 200
    photo = await client.post(f"/api/v1/listings/{listing_id}/photos", headers=host.headers,
                              files={"file": ("q.jpg", image_bytes(), "image/jpeg")})  # fmt: skip
    assert photo.status_code == 201
    assert await listing_status(listing_id) == "pending_review"  # a replaced photo is reviewed too


async def test_a_suspended_listings_photos_are_not_public(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing(host.user, status="draft")
    uploaded = await client.post(f"/api/v1/listings/{listing.id}/photos", headers=host.headers,
                                 files={"file": ("p.jpg", image_bytes(), "image/jpeg")})  # fmt: skip
    url = uploaded.json()["url"]
    await Listing.update({Listing.status: "published"}).where(Listing.id == listing.id)
    assert (await client.get(url)).status_code == 200
    suspend = await client.post(
        f"/api/v1/admin/listings/{listing.id}/suspend", headers=admin.headers, json={"reason": "fake photos"}
    )
    assert suspend.status_code == 200, suspend.text
    assert (await client.get(url)).status_code == 404
    restore = await client.post(f"/api/v1/admin/listings/{listing.id}/restore", headers=admin.headers, json={})
    assert restore.status_code == 200, restore.text
    assert (await client.get(url)).status_code == 200
    assert await ListingPhoto.count() == 1


# --- item 7: admin writes through the host's routes are audited --------------------------------


async def test_an_admin_editing_a_hosts_listing_through_the_host_routes_is_audited(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing(host.user, status="draft")
    own = await client.patch(f"/api/v1/listings/{listing.id}", headers=host.headers, json={"amenities": ["wifi"]})
    assert own.status_code == 200
    assert await AuditEntry.count() == 0  # the host's own edits are not admin actions
    edit = await client.patch(f"/api/v1/listings/{listing.id}", headers=admin.headers, json={"amenities": ["pool"]})
    assert edit.status_code == 200
    calendar = await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=admin.headers,
                                json={"blocks": [{"start": day(5), "end": day(8)}], "price_overrides": []})  # fmt: skip
    assert calendar.status_code == 200
    photo = await client.post(f"/api/v1/listings/{listing.id}/photos", headers=admin.headers,
                              files={"file": ("p.jpg", image_bytes(), "image/jpeg")})  # fmt: skip
    assert photo.status_code == 201
    archived = await client.delete(f"/api/v1/listings/{listing.id}", headers=admin.headers)
    assert archived.status_code == 204
    rows = await AuditEntry.objects().order_by(AuditEntry.at)
    assert [r.action for r in rows] == [
        "listing.update",
        "listing.calendar_replace",
        "listing.photo_add",
        "listing.archive",
    ]
    assert {r.actor for r in rows} == {admin.user.id} and {r.target_id for r in rows} == {str(listing.id)}
    before = rows[0].before if isinstance(rows[0].before, dict) else json.loads(rows[0].before)
    assert before == {"amenities": ["wifi"]}


# --- item 13: approximate location --------------------------------------------------------------


async def test_only_the_host_admins_and_confirmed_guests_see_the_exact_address(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    guest = await signed_in_user(client)
    stranger = await signed_in_user(client)
    listing = await make_listing(host.user)
    exact = (LISTING_FIELDS["latitude"], LISTING_FIELDS["longitude"])
    for headers in ({}, stranger.headers, guest.headers):
        shown = (await client.get(f"/api/v1/listings/{listing.id}", headers=headers)).json()
        assert shown["address_line"] is None and shown["location_exact"] is False
        assert (shown["latitude"], shown["longitude"]) != exact
        assert abs(shown["latitude"] - exact[0]) < 0.012 and abs(shown["longitude"] - exact[1]) < 0.02
    [found] = (await client.get("/api/v1/listings")).json()["items"]
    assert (found["latitude"], found["longitude"]) == (shown["latitude"], shown["longitude"])
    for headers in (host.headers, admin.headers):
        seen = (await client.get(f"/api/v1/listings/{listing.id}", headers=headers)).json()
        assert seen["address_line"] == LISTING_FIELDS["address_line"] and (seen["latitude"], seen["longitude"]) == exact
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, guest.user, check_in=today + dt.timedelta(3), check_out=today + dt.timedelta(5)
    )
    assert (await client.get(f"/api/v1/listings/{listing.id}", headers=guest.headers)).json()["address_line"] is None
    await Booking.update({Booking.status: "confirmed"}).where(Booking.id == booking.id)
    booked = (await client.get(f"/api/v1/listings/{listing.id}", headers=guest.headers)).json()
    assert booked["address_line"] == LISTING_FIELDS["address_line"] and booked["location_exact"] is True


# --- item 12: bad cursors -----------------------------------------------------------------------


def _cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


async def test_every_bad_cursor_is_a_4xx(client: AsyncClient) -> None:
    user = await signed_in_user(client)
    conversation = uuid.uuid4()
    for cursor in (_cursor(2**31), _cursor(-1), _cursor(10**30), "%%%", _cursor("x")):
        answer = await client.get(
            f"/api/v1/conversations/{conversation}/messages", headers=user.headers, params={"cursor": cursor}
        )
        assert answer.status_code == 400, (cursor, answer.text)
    for cursor in (_cursor("0001-01-01T00:00:00+05:00", str(uuid.uuid4())), _cursor("9999-12-31T23:59:59-05:00", "x")):
        answer = await client.get("/api/v1/bookings", headers=user.headers, params={"cursor": cursor})
        assert answer.status_code == 400, (cursor, answer.text)
