"""Notifications end to end: the real worker on the Temporal dev server, the real SendGrid and
Twilio SDKs against local fakes that record every request, the feed and preferences API."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from httpx import AsyncClient

from activities.notifications import record_notification
from models import Message, Notification, NotificationPreference
from stayflow import templates
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from tests.factories import SignedIn, give_verified_phone, make_listing, make_user, signed_in_user
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.twilio import FakeTwilio
from tests.helpers import book, cancel, confirmed_booking, eventually, stay, wait_status
from workers.main import build_worker


def with_providers(settings: Settings, sendgrid: FakeSendGrid | None, twilio: FakeTwilio | None) -> Settings:
    changes: dict[str, Any] = {}
    if sendgrid is not None:
        changes |= {"sendgrid_api_key": sendgrid.api_key, "sendgrid_api_base": sendgrid.url}
    if twilio is not None:
        changes |= {
            "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token,
            "twilio_from_number": twilio.from_number,
            "twilio_api_base": twilio.url,
        }
    return msgspec.structs.replace(settings, **changes)


async def feed(client: AsyncClient, who: SignedIn, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/notifications", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_sendgrid_outage_delays_booking_emails_but_not_the_booking(
    client: AsyncClient, api_settings: Settings, dev_server_env: Any, fake_sendgrid: FakeSendGrid
) -> None:
    fake_sendgrid.fail_next = 1_000_000  # SendGrid answers 503 until the test says otherwise
    host = await make_user(role=Role.host, email="host@example.com")
    listing = await make_listing(host, instant_book=True, title="Harbour loft")
    guest = await signed_in_user(client, email="guest@example.com")
    async with build_worker(dev_server_env.client, with_providers(api_settings, fake_sendgrid, None)):
        created = (await book(client, guest, stay(listing))).json()
        await wait_status(created["id"], "confirmed")  # the outage does not hold the booking up

        async def all_tried() -> bool:
            messages = await Message.objects()
            return len(messages) == 3 and all("503" in (m.last_error or "") for m in messages)

        await eventually(all_tried, timeout=60, what="a failed first delivery attempt of each message")
        for message in await Message.objects():
            assert message.status == "queued" and message.attempts >= 1
        assert fake_sendgrid.delivered == []
        assert (await feed(client, guest))["unread"] == 2  # in-app is there at once: confirmed, receipt

        fake_sendgrid.fail_next = 0  # SendGrid is back

        async def all_sent() -> bool:
            return all(m.status == "sent" for m in await Message.objects())

        await eventually(all_sent, timeout=60, what="delivery after the outage")
    delivered = {mail.body["custom_args"]["stayflow_message_id"]: mail for mail in fake_sendgrid.delivered}
    assert len(delivered) == len(fake_sendgrid.delivered) == 3  # each message exactly once
    by_kind = {m.kind: m for m in await Message.objects()}
    assert set(by_kind) == {"booking_confirmed", "booking_confirmed_host", "payment_receipt"}
    for message in by_kind.values():
        mail = delivered[str(message.id)]
        assert message.provider == "sendgrid" and message.provider_message_id == mail.message_id
        assert message.attempts >= 2 and message.last_error is None
    assert delivered[str(by_kind["booking_confirmed_host"].id)].to == ["host@example.com"]
    assert "Harbour loft" in delivered[str(by_kind["booking_confirmed"].id)].body["subject"]


async def test_sms_follows_each_hosts_preferences_through_the_real_twilio_sdk(
    client: AsyncClient,
    api_settings: Settings,
    dev_server_env: Any,
    fake_sendgrid: FakeSendGrid,
    fake_twilio: FakeTwilio,
) -> None:
    wants_sms = await signed_in_user(client, role=Role.host, email="sms-on@example.com")
    no_sms = await signed_in_user(client, role=Role.host, email="sms-off@example.com")
    for host, phone in ((wants_sms, "+14155552671"), (no_sms, "+447400123456")):
        await give_verified_phone(host.user, phone)
    turned_off = await client.patch(
        "/api/v1/users/me/notification-preferences", headers=no_sms.headers, json={"booking_requested": {"sms": False}}
    )
    assert turned_off.status_code == 200, turned_off.text
    listings = [
        await make_listing(wants_sms.user, instant_book=False, title="Cliff cabin"),
        await make_listing(no_sms.user, instant_book=False, title="Quiet flat"),
    ]
    guest = await signed_in_user(client)
    async with build_worker(dev_server_env.client, with_providers(api_settings, fake_sendgrid, fake_twilio)):
        bookings = [(await book(client, guest, stay(listing))).json() for listing in listings]
        for booking in bookings:
            await wait_status(booking["id"], "awaiting_host")

        async def all_sent() -> bool:
            messages = await Message.objects()
            return len(messages) == 3 and all(m.status == "sent" for m in messages)

        await eventually(all_sent, timeout=60, what="two request emails and one SMS")
    [sms] = fake_twilio.received
    assert sms.accepted and sms.to == "+14155552671" and sms.form["From"] == fake_twilio.from_number
    # A fixed platform text and the booking's link: never the host's title (issue 12 item 10).
    assert sms.body.startswith("Stayflow: You have a new booking request. Accept or decline it in time: http")
    assert "Cliff cabin" not in sms.body and any(sms.body.endswith(f"/api/v1/bookings/{b['id']}") for b in bookings)
    [sms_row] = await Message.objects().where(Message.channel == "sms")
    assert sms_row.provider == "twilio" and sms_row.provider_message_id == sms.sid and sms_row.recipient == sms.to
    assert sorted(to for mail in fake_sendgrid.delivered for to in mail.to) == [
        "sms-off@example.com",
        "sms-on@example.com",
    ]
    for host in (wants_sms, no_sms):  # in-app is always on
        [item] = (await feed(client, host))["items"]
        assert item["kind"] == "booking_requested"
        assert any(item["link"].endswith(f"/api/v1/bookings/{booking['id']}") for booking in bookings)


async def test_accepted_request_and_refund_reach_the_guests_feed(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, instant_book=False, title="Garden room")
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(listing))).json()
    await wait_status(created["id"], "awaiting_host")
    accepted = await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)
    assert accepted.status_code == 200, accepted.text

    async def guest_kinds() -> list[str]:
        return [item["kind"] for item in (await feed(client, guest))["items"]]

    async def accepted_told() -> bool:
        return "booking_accepted" in await guest_kinds()

    await eventually(accepted_told, timeout=60, what="the acceptance in the guest's feed")
    assert "booking_confirmed" not in await guest_kinds()  # one notification for one event

    stay_booking = await confirmed_booking(client, guest, start=40, cancellation_policy="flexible")
    assert (await cancel(client, guest, stay_booking["id"])).status_code == 202
    await wait_status(stay_booking["id"], "cancelled")

    async def refund_told() -> bool:
        return "refund_issued" in await guest_kinds()

    await eventually(refund_told, timeout=60, what="the refund in the guest's feed")
    [refund] = [i for i in (await feed(client, guest))["items"] if i["kind"] == "refund_issued"]
    assert templates.money(stay_booking["price"]["total"], stay_booking["price"]["currency"]) in refund["body"]


async def test_preferences_default_change_and_reject_bad_input_without_changing_anything(
    client: AsyncClient,
) -> None:
    me = await signed_in_user(client)
    path = "/api/v1/users/me/notification-preferences"
    defaults = (await client.get(path, headers=me.headers)).json()
    by_kind = {item["kind"]: item for item in defaults["items"]}
    assert by_kind["booking_requested"] == {
        "kind": "booking_requested",
        "description": by_kind["booking_requested"]["description"],
        "email": True,
        "sms": True,
        "in_app": True,
    }
    assert by_kind["payment_receipt"]["email"] is True and by_kind["payment_receipt"]["sms"] is False
    assert "password_reset" not in by_kind and defaults["sms_to"] is None

    bad_bodies = [  # (body, what the errors must name)
        ({"booking_requested": {"sms": False}, "booking_telegram": {"email": True}}, "booking_telegram"),
        ({"booking_requested": {"fax": True}}, "fax"),
        ({"booking_requested": {"in_app": False}}, "in_app"),
        ({"booking_requested": {"sms": "no"}}, "sms"),
        ({"password_reset": {"email": False}}, "password_reset"),
        ({"booking_requested": {}}, "booking_requested"),
    ]
    for body, named in bad_bodies:
        response = await client.patch(path, headers=me.headers, json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
        assert named in str(response.json()["errors"]), response.json()
    not_an_object = await client.patch(path, headers=me.headers, json=["booking_requested"])
    assert 400 <= not_an_object.status_code < 500
    assert await NotificationPreference.count() == 0
    assert (await client.get(path, headers=me.headers)).json() == defaults

    changed = await client.patch(
        path, headers=me.headers, json={"payment_receipt": {"sms": True}, "review_reminder": {"email": False}}
    )
    assert changed.status_code == 200, changed.text
    after = {item["kind"]: item for item in changed.json()["items"]}
    assert after["payment_receipt"]["sms"] is True and after["review_reminder"]["email"] is False
    assert after["booking_requested"] == by_kind["booking_requested"]
    again = await client.patch(path, headers=me.headers, json={"payment_receipt": {"sms": False}})
    assert {i["kind"]: i for i in again.json()["items"]}["payment_receipt"]["sms"] is False
    assert await NotificationPreference.count() == 2  # one row per choice, updated in place
    assert (await client.get(path)).status_code == 401


async def _notify(user_id: uuid.UUID, n: int) -> None:
    notice = templates.listing_approved_email(full_name="Ada", title=f"Home {n}", listing_url="https://x.test/l")
    await record_notification(user_id=user_id, kind="listing_approved", dedupe_key=f"test:{user_id}:{n}", notice=notice)


async def test_feed_pages_newest_first_counts_unread_and_marks_read(client: AsyncClient) -> None:
    me = await signed_in_user(client)
    other = await signed_in_user(client)
    for n in range(25):
        await _notify(me.user.id, n)
    await _notify(other.user.id, 99)

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await feed(client, me, limit=10, **({"cursor": cursor} if cursor else {}))
        assert page["unread"] == 25 and len(page["items"]) <= 10
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [item["title"] for item in seen] == [f"Your listing is live: Home {n}" for n in reversed(range(25))]
    assert len({item["id"] for item in seen}) == 25 and not any(item["read"] for item in seen)

    newest = seen[0]["id"]
    marked = await client.post(f"/api/v1/notifications/{newest}/read", headers=me.headers)
    assert marked.status_code == 200 and marked.json()["read"] is True
    first_read_at = marked.json()["read_at"]
    twice = await client.post(f"/api/v1/notifications/{newest}/read", headers=me.headers)
    assert twice.json()["read_at"] == first_read_at
    assert (await feed(client, me))["unread"] == 24
    assert len((await feed(client, me, unread="true", limit=100))["items"]) == 24

    [theirs] = (await feed(client, other))["items"]
    stolen = await client.post(f"/api/v1/notifications/{theirs['id']}/read", headers=me.headers)
    assert stolen.status_code == 404
    missing = await client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=me.headers)
    assert missing.status_code == 404
    assert (await feed(client, other))["unread"] == 1

    everything = await client.post("/api/v1/notifications/read-all", headers=me.headers)
    assert everything.status_code == 200 and everything.json() == {"marked_read": 24, "unread": 0}
    assert (await feed(client, me, unread="true"))["items"] == []
    assert (await feed(client, other))["unread"] == 1  # only my own
    bad_cursor = await client.get("/api/v1/notifications", headers=me.headers, params={"cursor": "nonsense"})
    assert bad_cursor.status_code == 400
    assert await Notification.count() == 26


async def test_suspending_a_listing_tells_its_host_once_per_suspension(client: AsyncClient, worker: None) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    host = await signed_in_user(client, role=Role.host, email="host@example.com")
    listing = await make_listing(host.user, title="Dune shack")
    for _ in range(2):  # suspended, restored, suspended again: two events
        suspended = await client.post(
            f"/api/v1/admin/listings/{listing.id}/suspend", headers=admin.headers, json={"reason": "Reported as a scam"}
        )
        assert suspended.status_code == 200, suspended.text
        repeated = await client.post(
            f"/api/v1/admin/listings/{listing.id}/suspend", headers=admin.headers, json={"reason": "Reported again"}
        )
        assert repeated.status_code == 409  # no event, no notification
        await client.post(f"/api/v1/admin/listings/{listing.id}/restore", headers=admin.headers)

    async def both_sent() -> bool:
        messages = await Message.objects().where(Message.kind == "listing_suspended")
        return len(messages) == 2 and all(m.status == "sent" for m in messages)

    await eventually(both_sent, timeout=60, what="two suspension emails")
    items = (await feed(client, host))["items"]
    assert [i["kind"] for i in items] == ["listing_suspended", "listing_suspended"]
    assert "Reported as a scam" in items[0]["body"] and items[0]["link"].endswith(f"/api/v1/listings/{listing.id}")
    outbox = (await client.get("/api/v1/dev/outbox", params={"to": "host@example.com"})).json()["items"]
    assert [m["kind"] for m in outbox] == ["listing_suspended", "listing_suspended"]
