"""Calendar sync as a host uses it (issue 13): the secret export feed, importing other platforms'
feeds through the real Temporal Schedule and worker, conflicts told, and bad input refused."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import icalendar
import msgspec
import pytest
from httpx import AsyncClient

from models import AuditEntry, CalendarBlock, CalendarFeed, Listing, Notification
from models.identity import Role
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_booking, make_listing, make_user, signed_in_user
from tests.fakes.ical_server import FeedServer
from tests.helpers import date_in, day, eventually
from workflows.calendar_sync import calendar_sync_schedule_id


def ics_date(offset: int) -> str:
    return date_in(offset).strftime("%Y%m%d")


def airbnb_feed(*stays: tuple[int, int]) -> str:
    events = "".join(
        f"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:{ics_date(a)}\r\nDTEND;VALUE=DATE:{ics_date(b)}\r\n"
        f"UID:{a}-{b}@airbnb.com\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        for a, b in stays
    )
    return (
        f"BEGIN:VCALENDAR\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n"
    )


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def api_settings(api_settings: Settings, feed_server: FeedServer) -> Settings:
    """The local feed server (and it alone) exempt from the private-address rule."""
    return msgspec.structs.replace(api_settings, ical_allowed_hosts=feed_server.host_port)


async def available(client: AsyncClient, listing_id: Any, start: int, end: int) -> dict[dt.date, bool]:
    response = await client.get(
        f"/api/v1/listings/{listing_id}/availability",
        params={"from": day(start), "to": day(end)},
    )
    assert response.status_code == 200, response.text
    return {dt.date.fromisoformat(d["date"]): d["available"] for d in response.json()["days"]}


async def wait_for_fetch(
    client: AsyncClient, headers: dict[str, str], listing_id: Any, since: str | None = None
) -> Any:
    """The listing's feeds once every one was fetched (after `since`, when given)."""

    async def fetched() -> list[Any] | None:
        feeds = (await client.get(f"/api/v1/listings/{listing_id}/calendar/feeds", headers=headers)).json()["items"]
        done = feeds and all(f["last_fetched_at"] and (since is None or f["last_fetched_at"] > since) for f in feeds)
        return list(feeds) if done else None

    return await eventually(fetched, timeout=60, what="every feed of the listing to be fetched")


async def test_the_export_is_a_secret_url_with_bookings_and_own_blocks_and_rotates(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user)
    booking = await make_booking(listing, await make_user(), check_in=date_in(3), check_out=date_in(6))
    await booking.__class__.update({booking.__class__.status: "confirmed"}).where(booking.__class__.id == booking.id)
    put = await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers,
                           json={"blocks": [{"start": day(10), "end": day(12)}]})  # fmt: skip
    assert put.status_code == 200
    export = await client.get(f"/api/v1/listings/{listing.id}/calendar/export", headers=host.headers)
    assert export.status_code == 200
    url = export.json()["url"]
    assert url.startswith(f"http://127.0.0.1:8000/api/v1/listings/{listing.id}/calendar.ics?token=")
    path = url.removeprefix("http://127.0.0.1:8000")
    feed = await client.get(path)  # no sign-in: the token is the key
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    text = feed.text
    assert f"DTSTART;VALUE=DATE:{ics_date(3)}" in text and f"DTEND;VALUE=DATE:{ics_date(6)}" in text
    assert f"DTSTART;VALUE=DATE:{ics_date(10)}" in text and "SUMMARY:Reserved" in text
    assert host.user.email not in text and "Ada" not in text  # no personal data in a shared feed
    assert f"DTSTART;VALUE=DATE:{ics_date(2)}" not in text  # no preparation time yet: nothing around the stay
    # With a night of preparation time, the nights before and after the stay are closed elsewhere too.
    await Listing.update({Listing.preparation_days: 1}).where(Listing.id == listing.id)
    events = icalendar.Calendar.from_ical((await client.get(path)).content).walk("VEVENT")
    closed = {(e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"])) for e in events}
    assert closed == {
        (date_in(2), date_in(3), "Not available"),
        (date_in(3), date_in(6), "Reserved"),
        (date_in(6), date_in(7), "Not available"),
        (date_in(10), date_in(12), "Not available"),
    }
    for wrong in (
        path.split("?")[0],
        path + "x",
        path.split("?")[0] + "?token=",
        path.replace(str(listing.id), str(booking.id)),
    ):
        assert (await client.get(wrong)).status_code == 404, wrong
    rotated = await client.post(f"/api/v1/listings/{listing.id}/calendar/token", headers=host.headers)
    assert rotated.status_code == 200 and rotated.json()["url"] != url
    assert (await client.get(path)).status_code == 404
    assert (await client.get(rotated.json()["url"].removeprefix("http://127.0.0.1:8000"))).status_code == 200
    stranger = await signed_in_user(client, role=Role.host)
    for method, route in (("GET", "export"), ("POST", "token"), ("GET", "feeds")):
        answer = await client.request(
            method, f"/api/v1/listings/{listing.id}/calendar/{route}", headers=stranger.headers
        )
        assert answer.status_code == 404


async def test_an_imported_feed_blocks_its_nights_reports_conflicts_and_goes_with_its_feed(
    client: AsyncClient, worker: None, feed_server: FeedServer, dev_server_env: Any, record_history: RecordHistory
) -> None:
    host = await signed_in_user(client, role=Role.host)
    admin = await make_user(role=Role.admin)
    listing = await make_listing(host.user)
    booking = await make_booking(listing, await make_user(), check_in=date_in(20), check_out=date_in(23))
    url = feed_server.serve("/airbnb.ics", airbnb_feed((5, 8), (21, 24)))
    added = await client.post(f"/api/v1/listings/{listing.id}/calendar/feeds", headers=host.headers,
                              json={"url": url, "name": "Airbnb"})  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json()["status"] == "pending"
    schedule = await dev_server_env.client.get_schedule_handle(calendar_sync_schedule_id(str(listing.id))).describe()
    assert schedule.schedule.spec.intervals[0].every == dt.timedelta(minutes=15)

    [feed] = await wait_for_fetch(client, host.headers, listing.id)
    assert feed["status"] == "ok" and feed["last_error"] is None and feed["blocked_nights"] == 6
    first_run = await dev_server_env.client.get_schedule_handle(calendar_sync_schedule_id(str(listing.id))).describe()
    run_id = first_run.info.recent_actions[0].action.workflow_id
    await dev_server_env.client.get_workflow_handle(run_id).result()
    await record_history(dev_server_env, run_id, "calendar_sync_with_a_conflict")
    days = await available(client, listing.id, 4, 9)
    assert days == {date_in(4): True, date_in(5): False, date_in(6): False, date_in(7): False, date_in(8): True}
    assert feed["conflicts"] == [{"booking_id": str(booking.id), "check_in": day(20),
                                  "check_out": day(23),
                                  "nights": [day(21), day(22)]}]  # fmt: skip
    told = await Notification.select(Notification.user).where(Notification.kind == "calendar_conflict")
    assert {row["user"] for row in told} == {host.user.id, admin.id}
    quote = await client.get(f"/api/v1/listings/{listing.id}/quote",
                             params={"check_in": day(6), "check_out": day(9)})  # fmt: skip
    assert quote.status_code == 409

    # The host's own calendar replacement leaves the imported nights alone, and does not show them.
    put = await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers, json={"blocks": []})
    assert put.status_code == 200 and put.json()["blocks"] == []
    assert (await available(client, listing.id, 5, 6)) == {date_in(5): False}

    # A broken answer is reported and keeps the last good nights; the next good one replaces them.
    feed_server.serve("/airbnb.ics", "<html>Maintenance</html>")
    handle = dev_server_env.client.get_schedule_handle(calendar_sync_schedule_id(str(listing.id)))
    await handle.trigger()
    [feed] = await wait_for_fetch(client, host.headers, listing.id, since=feed["last_fetched_at"])
    assert feed["status"] == "failed" and "not an iCalendar file" in feed["last_error"]
    assert (await available(client, listing.id, 5, 6)) == {date_in(5): False}
    feed_server.serve("/airbnb.ics", airbnb_feed((30, 31)))
    await handle.trigger()
    [feed] = await wait_for_fetch(client, host.headers, listing.id, since=feed["last_fetched_at"])
    assert feed["status"] == "ok" and feed["blocked_nights"] == 1 and feed["conflicts"] == []
    assert (await available(client, listing.id, 5, 6)) == {date_in(5): True}

    deleted = await client.delete(f"/api/v1/listings/{listing.id}/calendar/feeds/{feed['id']}", headers=host.headers)
    assert deleted.status_code == 204
    assert await CalendarBlock.count() == 0 and await CalendarFeed.count() == 0
    listed = await dev_server_env.client.list_schedules(query=None)
    assert calendar_sync_schedule_id(str(listing.id)) not in [s.id async for s in listed]


async def test_a_listings_export_imports_into_a_second_listing(
    client: AsyncClient, worker: None, feed_server: FeedServer, dev_server_env: Any
) -> None:
    host = await signed_in_user(client, role=Role.host)
    first, second = await make_listing(host.user), await make_listing(host.user)
    await client.put(f"/api/v1/listings/{first.id}/calendar", headers=host.headers,
                     json={"blocks": [{"start": day(2), "end": day(4)}]})  # fmt: skip
    export = (await client.get(f"/api/v1/listings/{first.id}/calendar/export", headers=host.headers)).json()["url"]
    exported = await client.get(export.removeprefix("http://127.0.0.1:8000"))
    url = feed_server.serve("/stayflow.ics", exported.content)  # served as another platform would see it
    added = await client.post(f"/api/v1/listings/{second.id}/calendar/feeds", headers=host.headers, json={"url": url})
    assert added.status_code == 201
    [feed] = await wait_for_fetch(client, host.headers, second.id)
    assert feed["status"] == "ok"
    assert await available(client, second.id, 1, 5) == {
        date_in(1): True,
        date_in(2): False,
        date_in(3): False,
        date_in(4): True,
    }
    # The second listing's export does not echo the imported nights back.
    export2 = (await client.get(f"/api/v1/listings/{second.id}/calendar/export", headers=host.headers)).json()["url"]
    assert "VEVENT" not in (await client.get(export2.removeprefix("http://127.0.0.1:8000"))).text
    await client.delete(f"/api/v1/listings/{second.id}/calendar/feeds/{feed['id']}", headers=host.headers)


async def test_bad_feed_urls_are_refused_with_the_reason_and_change_nothing(
    client: AsyncClient, feed_server: FeedServer
) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user)
    route = f"/api/v1/listings/{listing.id}/calendar/feeds"
    for url, why in (
        ("ftp://calendar.example.com/feed.ics", "only http:// and https://"),
        ("http://127.0.0.1:9/feed.ics", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/cal.ics", "private"),
        ("not a url", "only http:// and https://"),
    ):
        response = await client.post(route, headers=host.headers, json={"url": url})
        assert response.status_code == 422, (url, response.text)
        assert why in response.json()["detail"] and response.json()["errors"][0]["field"] == "url"
    assert (await client.post(route, headers=host.headers, json={})).status_code in (400, 422)
    stranger = await signed_in_user(client, role=Role.host)
    url = feed_server.serve("/ok.ics", airbnb_feed((5, 6)))
    assert (await client.post(route, headers=stranger.headers, json={"url": url})).status_code == 404
    assert (await client.delete(f"{route}/{listing.id}", headers=host.headers)).status_code == 404
    assert await CalendarFeed.count() == 0 and await CalendarBlock.count() == 0


async def test_an_admin_changing_a_hosts_feeds_and_export_through_the_host_routes_is_audited(
    client: AsyncClient, feed_server: FeedServer
) -> None:
    """Issue 12 item 7: the feed and export-token routes leave an audit row for an admin's write."""
    host = await signed_in_user(client, role=Role.host)
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing(host.user)
    route = f"/api/v1/listings/{listing.id}/calendar"
    own = await client.post(f"{route}/feeds", headers=host.headers, json={"url": feed_server.serve("/own.ics", "")})
    assert own.status_code == 201, own.text
    assert (await client.post(f"{route}/token", headers=host.headers)).status_code == 200
    assert (await client.delete(f"{route}/feeds/{own.json()['id']}", headers=host.headers)).status_code == 204
    assert await AuditEntry.count() == 0  # the host's own changes are not admin actions

    url = feed_server.serve("/vrbo.ics?s=feed-secret", "")
    added = await client.post(f"{route}/feeds", headers=admin.headers, json={"url": url, "name": "Vrbo"})
    assert added.status_code == 201, added.text
    rotated = await client.post(f"{route}/token", headers=admin.headers)
    assert rotated.status_code == 200
    removed = await client.delete(f"{route}/feeds/{added.json()['id']}", headers=admin.headers)
    assert removed.status_code == 204
    rows = await AuditEntry.objects().order_by(AuditEntry.at)
    assert [r.action for r in rows] == [
        "listing.calendar_feed_add",
        "listing.calendar_token_rotate",
        "listing.calendar_feed_remove",
    ]
    assert {r.actor for r in rows} == {admin.user.id} and {r.target_id for r in rows} == {str(listing.id)}
    feed = {"feed_id": added.json()["id"], "name": "Vrbo", "host": "127.0.0.1"}
    assert _json(rows[0].after) == feed and _json(rows[2].before) == feed
    secrets_shown = str([(r.before, r.after) for r in rows])
    assert "feed-secret" not in secrets_shown and rotated.json()["url"].split("token=")[1] not in secrets_shown
    # The admin sees them in the audit log, like every other admin write.
    log = await client.get("/api/v1/admin/audit-log", headers=admin.headers, params={"target_id": str(listing.id)})
    assert log.status_code == 200 and len(log.json()["items"]) == 3


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
