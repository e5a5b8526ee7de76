"""What several test modules do the same way, stated once: waiting for something to become true,
the HTTP client on the app, and the steps a guest, a host or an admin takes again and again.

Test modules import from here (and `tests.factories` for rows), never from one another.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import stripe
from httpx import AsyncClient
from temporalio.service import RPCError

from models import Booking, Listing, Message, Notification
from stayflow.rules.stays import UTC_CLOCK, StayClock
from stayflow.settings import Settings
from tests.factories import LISTING_FIELDS, SignedIn, image_bytes, make_listing
from workflows.booking import BookingWorkflow, booking_workflow_id
from workflows.payloads.booking import BookingRequest

T = TypeVar("T")

TODAY = dt.datetime.now(dt.UTC).date()


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 20, what: str = "") -> T:
    """Ask `check` until it answers something truthy (and return that); fail after `timeout`
    seconds, saying `what` was awaited. The one polling loop of the suite."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await check()
        if answer:
            return answer
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what or check}"
        await asyncio.sleep(0.1)


def api_client(app: Any) -> httpx.AsyncClient:
    """The app in this event loop (Litestar's AsyncTestClient runs it in a thread with its own
    loop, which a process-wide asyncpg pool cannot cross). The session's pool serves both."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")


# -- bookings -----------------------------------------------------------------------------


def date_in(offset: int) -> dt.date:
    """The date `offset` days from today (UTC)."""
    return TODAY + dt.timedelta(days=offset)


def day(offset: int) -> str:
    """`date_in` as the API writes it."""
    return date_in(offset).isoformat()


def stay(listing: Any, start: int = 10, nights: int = 3, **extra: Any) -> dict[str, Any]:
    body = {
        "listing_id": str(listing.id),
        "check_in": day(start),
        "check_out": day(start + nights),
        "guests": 2,
        "payment_method": "pm_card_visa",
    }
    return body | extra


async def book(client: AsyncClient, guest: SignedIn, body: dict[str, Any], key: str | None = None) -> Any:
    headers = guest.headers | {"Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post("/api/v1/bookings", headers=headers, json=body)


async def wait_status(booking_id: str, *statuses: str, timeout: float = 30) -> Booking:
    """The booking row, once its status is one of `statuses`."""

    async def reached() -> Booking | None:
        booking = await Booking.objects().get(Booking.id == uuid.UUID(booking_id))
        assert booking is not None
        return booking if booking.status in statuses else None

    return await eventually(reached, timeout=timeout, what=f"booking {booking_id} to become {statuses}")


async def cancel(client: AsyncClient, who: SignedIn, booking_id: str, key: str | None = None) -> Any:
    return await client.post(
        f"/api/v1/bookings/{booking_id}/cancel",
        json={"reason": "Plans changed"},
        headers=who.headers | {"Idempotency-Key": key or str(uuid.uuid4())},
    )


async def confirmed_booking(
    client: AsyncClient, guest: SignedIn, start: int, nights: int = 3, **listing: Any
) -> dict[str, Any]:
    """An instant booking of a new listing (100.00 a night, 50.00 cleaning), once confirmed."""
    home = await make_listing(instant_book=True, nightly_price=10_000, cleaning_fee=5_000, **listing)
    created = (await book(client, guest, stay(home, start=start, nights=nights))).json()
    await wait_status(created["id"], "confirmed")
    return dict(created) | {"listing": home}


async def change(
    client: AsyncClient, who: SignedIn, booking_id: str, body: dict[str, Any], key: str | None = None
) -> Any:
    """`PATCH /bookings/{id}`: the guest changes dates or guests."""
    return await client.patch(
        f"/api/v1/bookings/{booking_id}", json=body, headers=who.headers | {"Idempotency-Key": key or str(uuid.uuid4())}
    )


def sign(payload: str, secret: str, at: int | None = None) -> str:
    """A `Stripe-Signature` header for `payload`, as Stripe computes it."""
    timestamp = at or int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return f"t={timestamp},v1={signature}"


async def wait_notifications(who: SignedIn, kind: str, count: int, timeout: float = 15) -> list[Notification]:
    """The user's in-app notifications of `kind`, once `count` are there (the run records them)."""

    async def enough() -> list[Notification]:
        found = await Notification.objects().where((Notification.user == who.user.id) & (Notification.kind == kind))
        return list(found) if len(found) >= count else []

    return await eventually(enough, timeout=timeout, what=f"{count} {kind} notifications")


async def deliver(client: AsyncClient, event: dict[str, Any], settings: Settings) -> Any:
    """POST a Stripe event to the webhook, signed with the settings' webhook secret."""
    payload = json.dumps(event)
    return await client.post(
        "/api/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, settings.stripe_webhook_secret)},
    )


async def webhook_from_stripe(temporal_client: Any, settings: Settings, event: dict[str, Any]) -> Any:
    """What the webhook endpoint does with a signed Stripe event, on a given Temporal client (the
    time-skipping server's): the API's own `receive_payment_event`."""
    from api.payments.service import receive_payment_event
    from stayflow.providers.payments import payments_for
    from stayflow.temporal import TemporalGateway

    payload = json.dumps(event)
    return await receive_payment_event(
        payments_for(settings),
        TemporalGateway(settings, client=temporal_client),
        payload.encode(),
        sign(payload, settings.stripe_webhook_secret),
        task_queue=settings.task_queue,
    )


# -- listings -----------------------------------------------------------------------------


async def listing_status(listing_id: object) -> str:
    row = await Listing.select(Listing.status).where(Listing.id == listing_id).first()
    assert row is not None
    return str(row["status"])


async def wait_listing_status(listing_id: object, status: str, timeout: float = 20) -> None:
    async def reached() -> bool:
        return await listing_status(listing_id) == status

    await eventually(reached, timeout=timeout, what=f"listing {listing_id} to become {status}")


async def ready_draft(client: AsyncClient, host: SignedIn) -> str:
    """A draft listing with a photo, ready to submit."""
    created = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS)
    listing_id = created.json()["id"]
    photo = await client.post(f"/api/v1/listings/{listing_id}/photos", headers=host.headers,
                              files={"file": ("p.jpg", image_bytes(), "image/jpeg")})  # fmt: skip
    assert photo.status_code == 201
    return str(listing_id)


async def submit_and_wait(client: AsyncClient, host: SignedIn, listing_id: str) -> None:
    submitted = await client.post(f"/api/v1/listings/{listing_id}/submit", headers=host.headers)
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "pending_review"
    await wait_listing_status(listing_id, "pending_review")


# -- admin and the dev outbox ---------------------------------------------------------------


async def audit_log(client: AsyncClient, admin: SignedIn, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/admin/audit-log", headers=admin.headers, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def wait_for_outbox(client: AsyncClient, to: str, timeout: float = 20) -> dict[str, Any]:
    """The newest message the dev outbox holds for `to` (an email address or a phone)."""

    async def newest() -> dict[str, Any] | None:
        items = (await client.get("/api/v1/dev/outbox", params={"to": to})).json()["items"]
        return dict(items[0]) if items else None

    return await eventually(newest, timeout=timeout, what=f"a message to {to}")


# -- booking runs on the time-skipping server -------------------------------------------------


async def start_booking(
    env: Any,
    booking: Booking,
    *,
    instant: bool,
    task_queue: str,
    clock: StayClock = UTC_CLOCK,
    host_response_hours: int = 24,
) -> Any:
    """Start the booking's run as the API does: check-in/out as instants on the listing's clock."""
    return await env.client.start_workflow(
        BookingWorkflow.run,
        BookingRequest(
            booking_id=str(booking.id),
            listing_id=str(booking.listing),
            guest_id=str(booking.guest),
            host_id=str(booking.host),
            check_in=booking.check_in.isoformat(),
            check_out=booking.check_out.isoformat(),
            instant_book=instant,
            host_response_hours=host_response_hours,
            payment_authentication_minutes=15,
            total=booking.total,
            check_in_at=clock.night_starts(booking.check_in).isoformat(),
            check_out_at=clock.stay_ends(booking.check_out).isoformat(),
        ),
        id=booking_workflow_id(booking.id),
        task_queue=task_queue,
    )


async def until_confirmed(env: Any, handle: Any) -> None:
    while await handle.query(BookingWorkflow.status) != "confirmed":
        await env.sleep(dt.timedelta(seconds=1))


async def deliveries_done(env: Any, timeout: float = 20) -> None:
    """Booking messages are delivered by the booking's own run (wait for them to be sent);
    cancellation ones by children (wait for those)."""
    for message in await Message.objects():
        if message.status == "sent":
            continue
        try:
            delivered = await env.client.get_workflow_handle(f"deliver-message-{message.id}").result()
            assert delivered is True
        except RPCError:  # no such child: the booking's run delivers it itself

            async def sent(message: Message = message) -> bool:
                await message.refresh()
                return message.status == "sent"

            await eventually(sent, timeout=timeout, what=f"the {message.kind} message to be sent")


async def booking_status(booking: Booking) -> str:
    await booking.refresh()
    return str(booking.status)
