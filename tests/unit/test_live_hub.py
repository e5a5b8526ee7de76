"""LiveHub routing: an event reaches the participants' subscribe-all connections and the
connections subscribed to that conversation, nobody else; a client that cannot keep up is cut off."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import msgspec

from api.conversations.live import SEND_QUEUE, LiveConnection, LiveHub, ReadMoved
from api.security import CurrentUser
from stayflow.rules.roles import Role


def connection(user_id: uuid.UUID, role: Role = Role.guest) -> LiveConnection:
    return LiveConnection(
        CurrentUser(
            id=user_id,
            email="someone@example.com",
            full_name="Some One",
            role=role,
            session_id=uuid.uuid4(),
            jti=uuid.uuid4(),
            token_expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15),
        )
    )


def frames(conn: LiveConnection) -> list[dict[str, object]]:
    out = []
    while not conn.outbox.empty():
        out.append(json.loads(conn.outbox.get_nowait()))
    return out


async def test_events_reach_participants_and_subscribers_only() -> None:
    host, guest, admin, stranger = (uuid.uuid4() for _ in range(4))
    cid, other_cid = uuid.uuid4(), uuid.uuid4()
    hub = LiveHub()
    host_all, guest_one, guest_other, admin_one, stranger_all = (
        connection(host),
        connection(guest),
        connection(guest),
        connection(admin, Role.admin),
        connection(stranger),
    )
    for conn in (host_all, guest_one, guest_other, admin_one, stranger_all):
        hub.connect(conn)
    hub.subscribe(host_all, [], everything=True)
    hub.subscribe(guest_one, [cid], everything=False)
    hub.subscribe(guest_other, [other_cid], everything=False)
    hub.subscribe(admin_one, [cid], everything=False)
    hub.subscribe(stranger_all, [], everything=True)

    event = ReadMoved(conversation_id=cid, user_id=host, last_read_seq=3, host_id=host, guest_id=guest)
    await hub.dispatch(msgspec.json.encode(event).decode())
    expected = {"type": "read", "conversation_id": str(cid), "user_id": str(host), "last_read_seq": 3}
    assert frames(host_all) == frames(guest_one) == frames(admin_one) == [expected]
    assert frames(guest_other) == [] and frames(stranger_all) == []

    hub.unsubscribe(guest_one, [cid], everything=False)
    hub.disconnect(admin_one)
    await hub.dispatch(msgspec.json.encode(event).decode())
    assert frames(guest_one) == [] and frames(admin_one) == [] and len(frames(host_all)) == 1


async def test_a_client_that_cannot_keep_up_is_marked_for_disconnection() -> None:
    conn = connection(uuid.uuid4())
    for _ in range(SEND_QUEUE):
        conn.push("{}")
    assert not conn.overflowed.is_set()
    conn.push("{}")
    assert conn.overflowed.is_set()


async def test_malformed_events_are_ignored() -> None:
    hub = LiveHub()
    conn = connection(uuid.uuid4())
    hub.connect(conn)
    hub.subscribe(conn, [], everything=True)
    await hub.dispatch('{"type": "unknown"}')
    await hub.dispatch("not json at all")
    assert frames(conn) == []
