"""Live delivery over `/api/v1/ws`: two real API processes' worth of apps (each with its own
uvicorn server and its own PostgreSQL LISTEN connection), real WebSocket clients, messages posted
over REST. What one app's client receives from a message posted through another app came
through PostgreSQL, not through memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import jwt
import msgspec
import pytest
import uvicorn
from httpx import AsyncClient
from litestar import Litestar
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.security import TokenIssuer, build_jwt_auth
from models import Conversation
from stayflow.devstack import free_port
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from tests.factories import SignedIn, make_listing, make_user, sign_in

TIMEOUT = 10


class Server:
    def __init__(self, app: Litestar, port: int) -> None:
        self.app, self.port = app, port

    def ws_url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws" + query


@contextlib.asynccontextmanager
async def signed_on(server: Server, token: str) -> AsyncIterator[ClientConnection]:
    """A socket that authenticates the only way there is: a first frame (never the URL)."""
    async with connect(server.ws_url()) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        yield ws


@contextlib.asynccontextmanager
async def serving(settings: Settings, temporal_client: Any) -> AsyncIterator[Server]:
    app = create_app(settings, temporal_client=temporal_client)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield Server(app, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=TIMEOUT)


@pytest.fixture
async def servers(api_settings: Settings, dev_server_env: Any) -> AsyncIterator[tuple[Server, Server]]:
    """Two API processes' worth of apps; the session ends are checked every second."""
    settings = msgspec.structs.replace(api_settings, websocket_recheck_seconds=1)
    async with (
        serving(settings, dev_server_env.client) as first,
        serving(settings, dev_server_env.client) as second,
    ):
        yield first, second


async def receive(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=TIMEOUT))


async def receive_until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = await receive(ws)
        if frame["type"] == kind:
            return frame


async def receive_message(ws: ClientConnection, seq: int) -> dict[str, Any]:
    """The frame of message `seq`. An earlier message's event may still reach a client that
    subscribed just after it was stored (NOTIFY is asynchronous); clients order by `seq`."""
    while True:
        frame = await receive(ws)
        if frame["type"] != "message" or frame["message"]["seq"] >= seq:
            return frame


@contextlib.asynccontextmanager
async def live(server: Server, who: SignedIn, *, subscribe: dict[str, Any]) -> AsyncIterator[ClientConnection]:
    async with signed_on(server, who.access_token) as ws:
        assert (await receive(ws))["type"] == "ready"
        await ws.send(json.dumps({"type": "subscribe", **subscribe}))
        answer = await receive(ws)
        assert answer["type"] == "subscribed", answer
        yield ws


async def conversation_of(client: AsyncClient) -> tuple[SignedIn, SignedIn, SignedIn, str]:
    host = await sign_in(client, await make_user(role=Role.host))
    guest = await sign_in(client, await make_user())
    stranger = await sign_in(client, await make_user())
    listing = await make_listing(host.user)
    started = await client.post(
        "/api/v1/conversations", headers=guest.headers, json={"listing_id": str(listing.id), "body": "Hi!"}
    )
    assert started.status_code == 201
    return host, guest, stranger, started.json()["id"]


async def post(client: AsyncClient, who: SignedIn, cid: str, body: str) -> dict[str, Any]:
    response = await client.post(f"/api/v1/conversations/{cid}/messages", headers=who.headers, json={"body": body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_every_connected_client_of_both_participants_gets_a_message_posted_over_rest(
    client: AsyncClient, servers: tuple[Server, Server]
) -> None:
    first, second = servers
    host, guest, _stranger, cid = await conversation_of(client)
    async with (
        live(first, host, subscribe={"all": True}) as host_phone,
        live(second, host, subscribe={"conversation_ids": [cid]}) as host_laptop,
        live(second, guest, subscribe={"all": True}) as guest_phone,
    ):
        sent = await post(client, guest, cid, "Can we check in at noon?")
        for ws in (host_phone, host_laptop, guest_phone):
            frame = await receive_message(ws, sent["seq"])
            assert frame == {"type": "message", "conversation_id": cid, "message": sent}

        # Read markers travel too: the guest sees "seen".
        await client.post(f"/api/v1/conversations/{cid}/read", headers=host.headers)
        seen = await receive_until(guest_phone, "read")
        assert seen == {"type": "read", "conversation_id": cid, "user_id": str(host.user.id), "last_read_seq": 2}


async def test_a_third_user_cannot_subscribe_and_receives_nothing(
    client: AsyncClient, servers: tuple[Server, Server]
) -> None:
    first, _second = servers
    _host, guest, stranger, cid = await conversation_of(client)
    async with (
        live(first, guest, subscribe={"conversation_ids": [cid]}) as guest_ws,
        signed_on(first, stranger.access_token) as stranger_ws,
    ):
        assert (await receive(stranger_ws))["type"] == "ready"
        await stranger_ws.send(json.dumps({"type": "subscribe", "conversation_ids": [cid]}))
        refused = await receive(stranger_ws)
        assert refused["type"] == "error" and refused["code"] == "not_found"
        assert refused["conversation_ids"] == [cid]
        await stranger_ws.send(json.dumps({"type": "subscribe", "all": True}))  # all of *their* conversations
        assert (await receive(stranger_ws))["type"] == "subscribed"

        await post(client, guest, cid, "Private: the door code is 4711")
        assert (await receive(guest_ws))["type"] == "message"
        # Same process, same dispatch: had the stranger been a target, the frame would be queued
        # before the answer to this ping.
        await stranger_ws.send(json.dumps({"type": "ping"}))
        assert await receive(stranger_ws) == {"type": "pong"}


async def test_the_token_is_checked_as_for_http(client: AsyncClient, servers: tuple[Server, Server]) -> None:
    first, _second = servers
    host, guest, _stranger, cid = await conversation_of(client)
    for first_frame in ({"type": "subscribe", "all": True}, {"type": "auth", "token": "not-a-jwt"}):
        async with connect(first.ws_url()) as ws:
            await ws.send(json.dumps(first_frame))
            assert (await receive(ws))["code"] == "unauthenticated"
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    # A token in the URL (it would sit in access logs) is refused, even a valid one.
    async with connect(first.ws_url(f"?token={guest.access_token}")) as ws:
        assert (await receive(ws))["code"] == "unauthenticated"

    # The token in a first frame, for clients that keep it out of URLs.
    async with connect(first.ws_url()) as ws:
        await ws.send(json.dumps({"type": "auth", "token": guest.access_token}))
        assert (await receive(ws))["type"] == "ready"

    # Logging out ends the live connection too (checked every second here) and the token is refused after.
    async with live(first, host, subscribe={"all": True}) as ws:
        assert (await client.post("/api/v1/auth/logout", headers=host.headers)).status_code == 204
        ended = await receive(ws)
        assert ended["type"] == "error" and ended["code"] == "unauthenticated"
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    async with signed_on(first, host.access_token) as ws:
        assert (await receive(ws))["code"] == "unauthenticated"
    assert await Conversation.exists().where(Conversation.id == cid)


async def test_bad_frames_get_an_error_and_the_connection_stays(
    client: AsyncClient, servers: tuple[Server, Server]
) -> None:
    first, _second = servers
    _host, guest, _stranger, _cid = await conversation_of(client)
    async with signed_on(first, guest.access_token) as ws:
        assert (await receive(ws))["type"] == "ready"
        for bad in (
            "not json",
            json.dumps({"type": "dance"}),
            json.dumps({"type": "subscribe", "conversation_ids": [1]}),
        ):
            await ws.send(bad)
            assert (await receive(ws))["code"] == "bad_frame"
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}


async def test_a_dropped_listen_connection_is_reopened_and_clients_told_to_resync(
    client: AsyncClient, servers: tuple[Server, Server]
) -> None:
    first, _second = servers
    host, guest, _stranger, cid = await conversation_of(client)
    hub = first.app.state.live
    async with live(first, host, subscribe={"all": True}) as ws:
        old_pid = hub.listener_pid
        await Conversation.raw("SELECT pg_terminate_backend({})", old_pid)
        assert await receive_until(ws, "resync") == {"type": "resync"}
        assert hub.listener_pid != old_pid
        sent = await post(client, guest, cid, "Still there?")
        assert (await receive_message(ws, sent["seq"]))["message"] == sent


async def test_an_expiring_token_closes_the_connection_unless_renewed(
    client: AsyncClient, servers: tuple[Server, Server], api_settings: Settings
) -> None:
    first, _second = servers
    _host, guest, _stranger, _cid = await conversation_of(client)
    claims = jwt.decode(guest.access_token, options={"verify_signature": False})
    session_id = UUID(claims.get("extras", claims)["sid"])
    short = msgspec.structs.replace(api_settings, access_token_ttl_seconds=2)
    brief = TokenIssuer(build_jwt_auth(short), short).access_token(user_id=guest.user.id, session_id=session_id)

    async with signed_on(first, brief) as renewed, signed_on(first, brief) as lapsing:
        assert (await receive(renewed))["type"] == "ready" and (await receive(lapsing))["type"] == "ready"
        await renewed.send(json.dumps({"type": "auth", "token": guest.access_token}))
        assert (await receive(renewed))["type"] == "authenticated"
        ended = await receive(lapsing)
        assert ended["type"] == "error" and ended["code"] == "token_expired"
        with pytest.raises(ConnectionClosed) as closed:
            await receive(lapsing)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        await asyncio.sleep(1)  # past the brief token's expiry
        await renewed.send(json.dumps({"type": "ping"}))
        assert await receive(renewed) == {"type": "pong"}


async def test_a_demoted_admin_stops_receiving_a_conversation_at_once(
    client: AsyncClient, servers: tuple[Server, Server]
) -> None:
    _first, second = servers
    _host, guest, _stranger, cid = await conversation_of(client)
    admin = await sign_in(client, await make_user(role=Role.admin))
    boss = await sign_in(client, await make_user(role=Role.admin))
    # The websocket_recheck_seconds poll is 1 s here: the demotion must act before it would.
    async with live(second, admin, subscribe={"conversation_ids": [cid]}) as admin_ws:
        seen = await post(client, guest, cid, "Before the demotion")
        assert (await receive_message(admin_ws, seen["seq"]))["message"]["body"] == "Before the demotion"
        demoted = await client.post(
            f"/api/v1/admin/users/{admin.user.id}/role", headers=boss.headers, json={"role": "guest"}
        )
        assert demoted.status_code == 200, demoted.text
        left = await receive_until(admin_ws, "unsubscribed")
        assert left["conversation_ids"] == [cid] and left["reason"] == "access"
        await post(client, guest, cid, "After the demotion: the door code is 4711")
        await admin_ws.send(json.dumps({"type": "ping"}))
        assert await receive(admin_ws) == {"type": "pong"}  # no message frame before it
        await admin_ws.send(json.dumps({"type": "subscribe", "conversation_ids": [cid]}))
        assert (await receive(admin_ws))["code"] == "not_found"
