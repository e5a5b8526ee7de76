"""Host-guest messaging over REST: who may start, read and write a conversation, unread counts
and read markers, pagination, and bad input."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from httpx import AsyncClient

from models import Conversation, ConversationMessage
from stayflow.rules.roles import Role
from tests.factories import SignedIn, make_booking, make_listing, make_user, sign_in


async def people(client: AsyncClient) -> tuple[SignedIn, SignedIn, SignedIn, Any]:
    host = await sign_in(client, await make_user(role=Role.host, full_name="Hilda Host"))
    guest = await sign_in(client, await make_user(full_name="Gus Guest"))
    stranger = await sign_in(client, await make_user(full_name="Sam Stranger"))
    listing = await make_listing(host.user)
    return host, guest, stranger, listing


async def start(client: AsyncClient, who: SignedIn, body: str = "Is the loft quiet at night?", **about: Any) -> Any:
    return await client.post(
        "/api/v1/conversations",
        headers=who.headers,
        json={"body": body, **{k: str(v) for k, v in about.items()}},
    )


async def say(client: AsyncClient, who: SignedIn, conversation_id: str, body: str) -> Any:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=who.headers, json={"body": body}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_guest_asks_about_a_listing_and_the_host_answers(client: AsyncClient) -> None:
    host, guest, _stranger, listing = await people(client)
    started = await start(client, guest, "  Is the loft quiet at night?  ", listing_id=listing.id)
    assert started.status_code == 201, started.text
    conversation = started.json()
    assert conversation["listing"] == {"id": str(listing.id), "title": listing.title}
    assert conversation["booking_id"] is None
    assert (conversation["host_id"], conversation["guest_id"]) == (str(host.user.id), str(guest.user.id))
    assert conversation["other_participant"]["first_name"] == "Hilda"
    assert "email" not in conversation["other_participant"]
    assert conversation["last_message"]["preview"] == "Is the loft quiet at night?"  # trimmed
    assert conversation["unread_count"] == 0  # my own message

    [inbox_item] = (await client.get("/api/v1/conversations", headers=host.headers)).json()["items"]
    assert inbox_item["id"] == conversation["id"]
    assert inbox_item["other_participant"]["first_name"] == "Gus"
    assert inbox_item["unread_count"] == 1

    reply = await say(client, host, conversation["id"], "Very quiet: the bedroom faces the garden.")
    assert reply["seq"] == 2 and reply["sender_id"] == str(host.user.id)
    # Answering means the host has read the question.
    host_view = (await client.get(f"/api/v1/conversations/{conversation['id']}", headers=host.headers)).json()
    assert host_view["unread_count"] == 0 and host_view["my_last_read_seq"] == 2

    # Asking again about the same listing goes into the same conversation.
    again = await start(client, guest, "And is there a lift?", listing_id=listing.id)
    assert again.status_code == 200
    assert again.json()["id"] == conversation["id"]
    assert await Conversation.count() == 1
    messages = (await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=guest.headers)).json()[
        "items"
    ]
    assert [m["body"] for m in messages] == [
        "And is there a lift?",
        "Very quiet: the bedroom faces the garden.",
        "Is the loft quiet at night?",
    ]


async def test_a_third_user_can_neither_read_nor_write_nor_learn_that_it_exists(client: AsyncClient) -> None:
    _host, guest, stranger, listing = await people(client)
    conversation = (await start(client, guest, listing_id=listing.id)).json()
    path = f"/api/v1/conversations/{conversation['id']}"
    for response in (
        await client.get(path, headers=stranger.headers),
        await client.get(f"{path}/messages", headers=stranger.headers),
        await client.post(f"{path}/messages", headers=stranger.headers, json={"body": "hello?"}),
        await client.post(f"{path}/read", headers=stranger.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await client.get("/api/v1/conversations/00000000-0000-4000-8000-000000000000", headers=stranger.headers)
    assert missing.status_code == 404 and missing.json()["detail"] == response.json()["detail"]
    assert (await client.get("/api/v1/conversations", headers=stranger.headers)).json()["items"] == []
    assert await ConversationMessage.count() == 1
    assert (await client.get(path)).status_code == 401


async def test_admins_may_read_along_but_not_write(client: AsyncClient) -> None:
    _host, guest, _stranger, listing = await people(client)
    admin = await sign_in(client, await make_user(role=Role.admin))
    conversation = (await start(client, guest, listing_id=listing.id)).json()
    path = f"/api/v1/conversations/{conversation['id']}"
    seen = await client.get(path, headers=admin.headers)
    assert seen.status_code == 200 and seen.json()["other_participant"] is None
    assert len((await client.get(f"{path}/messages", headers=admin.headers)).json()["items"]) == 1
    written = await client.post(f"{path}/messages", headers=admin.headers, json={"body": "Admin here"})
    assert written.status_code == 403
    assert await ConversationMessage.count() == 1


async def test_who_may_start_a_conversation(client: AsyncClient) -> None:
    host, guest, stranger, listing = await people(client)
    own = await start(client, host, listing_id=listing.id)
    assert own.status_code == 422 and own.json()["errors"][0]["field"] == "listing_id"
    draft = await make_listing(host.user, status="draft")
    assert (await start(client, guest, listing_id=draft.id)).status_code == 404
    unknown = await start(client, guest, listing_id="00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404

    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, guest.user, check_in=today + dt.timedelta(10), check_out=today + dt.timedelta(12)
    )
    assert (await start(client, stranger, booking_id=booking.id)).status_code == 404
    by_host = await start(client, host, "See you on the 10th!", booking_id=booking.id)
    assert by_host.status_code == 201, by_host.text
    assert by_host.json()["booking_id"] == str(booking.id)
    assert by_host.json()["other_participant"]["first_name"] == "Gus"
    by_guest = await start(client, guest, "Thanks!", booking_id=booking.id)
    assert by_guest.status_code == 200 and by_guest.json()["id"] == by_host.json()["id"]
    # An inquiry and the booking's conversation are separate threads.
    inquiry = await start(client, guest, listing_id=listing.id)
    assert inquiry.status_code == 201 and inquiry.json()["id"] != by_host.json()["id"]
    assert await Conversation.count() == 2


async def test_bad_input_is_422_and_changes_nothing(client: AsyncClient) -> None:
    host, guest, _stranger, listing = await people(client)
    conversation = (await start(client, guest, listing_id=listing.id)).json()
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    for body in ({"body": "   \n\t "}, {"body": ""}, {"body": "x" * 4001}, {}, {"body": "hi", "extra": 1}):
        response = await client.post(path, headers=host.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"]
    assert (await client.post(path, headers=host.headers, json={"body": "x" * 4000})).status_code == 201
    assert (await client.post(path, headers=host.headers, json={"body": "nul \x00 byte"})).status_code == 422
    both = await client.post(
        "/api/v1/conversations",
        headers=guest.headers,
        json={"body": "hi", "listing_id": str(listing.id), "booking_id": str(listing.id)},
    )
    assert both.status_code == 422
    neither = await client.post("/api/v1/conversations", headers=guest.headers, json={"body": "hi"})
    assert neither.status_code == 422
    blank_start = await start(client, guest, "   ", listing_id=listing.id)
    assert blank_start.status_code == 422
    assert await ConversationMessage.count() == 2
    bad_cursor = await client.get(path, headers=host.headers, params={"cursor": "nonsense"})
    assert bad_cursor.status_code == 400
    not_here = await client.post(
        f"/api/v1/conversations/{conversation['id']}/read",
        headers=host.headers,
        json={"message_id": "00000000-0000-4000-8000-000000000000"},
    )
    assert not_here.status_code == 422


async def test_unread_counts_follow_read_markers_exactly(client: AsyncClient) -> None:
    host, guest, _stranger, listing = await people(client)
    conversation = (await start(client, guest, "one", listing_id=listing.id)).json()
    cid = conversation["id"]
    second = await say(client, guest, cid, "two")
    await say(client, guest, cid, "three")

    async def unread(who: SignedIn) -> int:
        return int((await client.get(f"/api/v1/conversations/{cid}", headers=who.headers)).json()["unread_count"])

    assert await unread(host) == 3 and await unread(guest) == 0
    partly = await client.post(
        f"/api/v1/conversations/{cid}/read", headers=host.headers, json={"message_id": second["id"]}
    )
    assert partly.status_code == 200, partly.text
    assert partly.json() == {"conversation_id": cid, "last_read_seq": 2, "unread_count": 1}
    assert await unread(host) == 1
    # A read marker never moves back.
    first_id = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=host.headers)).json()["items"][-1][
        "id"
    ]
    back = await client.post(f"/api/v1/conversations/{cid}/read", headers=host.headers, json={"message_id": first_id})
    assert back.json()["last_read_seq"] == 2
    everything = await client.post(f"/api/v1/conversations/{cid}/read", headers=host.headers)
    assert everything.json() == {"conversation_id": cid, "last_read_seq": 3, "unread_count": 0}
    guest_view = (await client.get(f"/api/v1/conversations/{cid}", headers=guest.headers)).json()
    assert guest_view["their_last_read_seq"] == 3  # "seen"
    await say(client, host, cid, "Welcome!")
    assert await unread(guest) == 1 and await unread(host) == 0

    # The badge: every conversation of mine.
    listing_two = await make_listing(host.user, title="Cabin")
    other = (await start(client, guest, "four", listing_id=listing_two.id)).json()["id"]
    await say(client, guest, other, "five")
    badge = await client.get("/api/v1/conversations/unread", headers=host.headers)
    assert badge.json() == {"unread_count": 2, "conversations": 1}
    await say(client, host, other, "Hello!")  # answering marks it read
    badge = await client.get("/api/v1/conversations/unread", headers=guest.headers)
    assert badge.json() == {"unread_count": 2, "conversations": 2}


async def test_pagination_of_messages_and_of_the_inbox(client: AsyncClient) -> None:
    host, guest, _stranger, listing = await people(client)
    cid = (await start(client, guest, "message 1", listing_id=listing.id)).json()["id"]
    for n in range(2, 8):
        await say(client, guest if n % 2 else host, cid, f"message {n}")
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=host.headers, params=params)).json()
        seen += [m["seq"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]

    # The inbox: newest activity first, across pages.
    other_listings = [await make_listing(host.user, title=f"Cabin {n}") for n in range(3)]
    for other in other_listings:
        await start(client, guest, "Hello", listing_id=other.id)
    await say(client, host, cid, "bumped")  # the first conversation is now the most recent
    first = (await client.get("/api/v1/conversations", headers=guest.headers, params={"limit": 2})).json()
    rest = (
        await client.get("/api/v1/conversations", headers=guest.headers, params={"cursor": first["next_cursor"]})
    ).json()
    titles = [c["listing"]["title"] for c in first["items"] + rest["items"]]
    assert titles == [listing.title, "Cabin 2", "Cabin 1", "Cabin 0"]
    assert rest["next_cursor"] is None
    assert first["items"][0]["last_message"]["preview"] == "bumped"
    assert first["items"][0]["unread_count"] == 1


async def test_concurrent_writers_get_one_conversation_and_gapless_numbers(client: AsyncClient) -> None:
    host, guest, _stranger, listing = await people(client)
    answers = await asyncio.gather(*(start(client, guest, f"question {n}", listing_id=listing.id) for n in range(6)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    cid = answers[0].json()["id"]
    await asyncio.gather(*(say(client, host, cid, f"answer {n}") for n in range(6)))
    page = (
        await client.get(f"/api/v1/conversations/{cid}/messages", headers=guest.headers, params={"limit": 50})
    ).json()
    assert [m["seq"] for m in page["items"]] == list(range(12, 0, -1))
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=guest.headers)).json()["unread_count"] == 6
