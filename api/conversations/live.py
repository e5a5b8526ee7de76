"""Live delivery of conversation events over a WebSocket (`/api/v1/ws`), across API processes.

Writers announce events with PostgreSQL `NOTIFY` inside the transaction that stores them, so an
event goes out exactly when (and only if) it commits. Every API process keeps one connection
that `LISTEN`s (opened by the app's lifespan, reopened when it drops) and hands each event to
its own connected clients: the participants' sockets that subscribed to all their
conversations, and the sockets subscribed to that conversation. Notification payloads carry
ids only (NOTIFY payloads are capped at 8000 bytes); each process loads a message once, however
many of its clients receive it.

Protocol (JSON text frames, `type` tells them apart) — see docs/guide.md, "Messaging":
client → server: `auth`, `subscribe`, `unsubscribe`, `ping`;
server → client: `ready`, `subscribed`, `unsubscribed`, `message`, `read`, `resync`, `pong`, `error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from api.security import CurrentUser, TokenIssuer, recheck_caller
from models import Conversation, ConversationMessage
from stayflow.rules.roles import Role
from stayflow.settings import Settings

log = logging.getLogger("stayflow.live")

CHANNEL = "stayflow_conversations"
AUTH_TIMEOUT_SECONDS = 10
SEND_QUEUE = 256
"""Frames waiting for one slow client; past this it is disconnected (1013) and should resync."""

UNAUTHENTICATED = 4401
"""Close code: no valid token, the token expired, or the session ended. Sign in, reconnect."""


class MessageRead(msgspec.Struct):
    """A message as the REST API serves it and the WebSocket pushes it."""

    id: UUID
    conversation_id: UUID
    seq: int
    """1, 2, 3 … within the conversation."""
    sender_id: UUID
    body: str
    created_at: dt.datetime


def message_read(row: dict[str, Any]) -> MessageRead:
    return MessageRead(
        id=row["id"],
        conversation_id=row["conversation"],
        seq=row["seq"],
        sender_id=row["sender"],
        body=row["body"],
        created_at=row["created_at"],
    )


# Events between processes (NOTIFY payloads).


class MessagePosted(msgspec.Struct, tag="message", tag_field="type"):
    conversation_id: UUID
    message_id: UUID
    host_id: UUID
    guest_id: UUID


class ReadMoved(msgspec.Struct, tag="read", tag_field="type"):
    conversation_id: UUID
    user_id: UUID
    last_read_seq: int
    host_id: UUID
    guest_id: UUID


class AccessChanged(msgspec.Struct, tag="access", tag_field="type"):
    """A user's role changed: their open sockets re-check what they may follow."""

    user_id: UUID


LiveEvent = MessagePosted | ReadMoved | AccessChanged


async def publish(event: LiveEvent) -> None:
    """Announce `event` to every API process; call inside the transaction that makes it true."""
    await Conversation.raw("SELECT pg_notify({}, {})", CHANNEL, msgspec.json.encode(event).decode())


# Frames from clients.


class AuthFrame(msgspec.Struct, tag="auth", tag_field="type", forbid_unknown_fields=True):
    token: str


ConversationIds = Annotated[list[UUID], msgspec.Meta(max_length=100)]


class SubscribeFrame(msgspec.Struct, tag="subscribe", tag_field="type", forbid_unknown_fields=True):
    conversation_ids: ConversationIds = []
    all: bool = False
    """Every conversation of mine, also those started later."""


class UnsubscribeFrame(msgspec.Struct, tag="unsubscribe", tag_field="type", forbid_unknown_fields=True):
    conversation_ids: ConversationIds = []
    all: bool = False


class PingFrame(msgspec.Struct, tag="ping", tag_field="type"):
    pass


ClientFrame = AuthFrame | SubscribeFrame | UnsubscribeFrame | PingFrame

_client_frames = msgspec.json.Decoder(ClientFrame)


def _frame(**fields: Any) -> str:
    return msgspec.json.encode(fields).decode()


def _error(code: str, detail: str, **extra: Any) -> str:
    return _frame(type="error", code=code, detail=detail, **extra)


class LiveConnection:
    """One connected socket: who it is, what it listens to, and its outgoing frames."""

    def __init__(self, user: CurrentUser) -> None:
        self.user = user
        self.everything = False
        self.conversations: set[UUID] = set()
        self.outbox: asyncio.Queue[str] = asyncio.Queue(SEND_QUEUE)
        self.overflowed = asyncio.Event()

    def push(self, frame: str) -> None:
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed.set()


class LiveHub:
    """This process's share of live delivery: its LISTEN connection and its clients."""

    def __init__(self) -> None:
        self._everything: dict[UUID, set[LiveConnection]] = {}
        self._by_conversation: dict[UUID, set[LiveConnection]] = {}
        self._connections: set[LiveConnection] = set()
        self._events: asyncio.Queue[str] = asyncio.Queue()
        self._listening = asyncio.Event()
        self.listener_pid: int | None = None
        """The PostgreSQL backend that LISTENs for this process (tests end it to prove reconnection)."""

    # Clients.

    def connect(self, connection: LiveConnection) -> None:
        self._connections.add(connection)

    def disconnect(self, connection: LiveConnection) -> None:
        self._connections.discard(connection)
        self.unsubscribe(connection, list(connection.conversations), everything=True)

    def subscribe(self, connection: LiveConnection, conversation_ids: list[UUID], *, everything: bool) -> None:
        if everything:
            connection.everything = True
            self._everything.setdefault(connection.user.id, set()).add(connection)
        for cid in conversation_ids:
            connection.conversations.add(cid)
            self._by_conversation.setdefault(cid, set()).add(connection)

    def unsubscribe(self, connection: LiveConnection, conversation_ids: list[UUID], *, everything: bool) -> None:
        if everything:
            connection.everything = False
            _discard(self._everything, connection.user.id, connection)
        for cid in conversation_ids:
            connection.conversations.discard(cid)
            _discard(self._by_conversation, cid, connection)

    # Events.

    def _targets(self, conversation_id: UUID, participants: tuple[UUID, UUID]) -> set[LiveConnection]:
        # Someone else's conversation only while the socket's user is (still) an admin.
        targets = {
            c
            for c in self._by_conversation.get(conversation_id, ())
            if c.user.id in participants or c.user.role == Role.admin
        }
        for user_id in participants:
            targets |= self._everything.get(user_id, set())
        return targets

    async def recheck_access(self, user_id: UUID) -> None:
        """After a role change: each of the user's sockets here reloads who it is and leaves the
        conversations it may no longer follow (told with an `unsubscribed` frame, `reason: access`)."""
        for connection in [c for c in self._connections if c.user.id == user_id]:
            fresh = await recheck_caller(connection.user)
            if fresh is not None:
                connection.user = fresh
            followed = list(connection.conversations)
            refused = followed if fresh is None else (await _allowed(fresh, followed) if followed else [])
            if refused:
                self.unsubscribe(connection, refused, everything=False)
                connection.push(
                    _frame(type="unsubscribed", conversation_ids=[str(c) for c in refused], all=False, reason="access")
                )

    async def dispatch(self, payload: str) -> None:
        try:
            event = msgspec.json.decode(payload, type=LiveEvent)
        except (msgspec.ValidationError, msgspec.DecodeError):
            log.warning("ignoring a malformed live event: %.200s", payload)
            return
        if isinstance(event, AccessChanged):
            await self.recheck_access(event.user_id)
            return
        targets = self._targets(event.conversation_id, (event.host_id, event.guest_id))
        if not targets:
            return
        if isinstance(event, MessagePosted):
            rows = await ConversationMessage.select().where(ConversationMessage.id == event.message_id)
            if not rows:
                return
            frame = msgspec.json.encode(
                {"type": "message", "conversation_id": event.conversation_id, "message": message_read(rows[0])}
            ).decode()
        else:
            frame = _frame(
                type="read",
                conversation_id=str(event.conversation_id),
                user_id=str(event.user_id),
                last_read_seq=event.last_read_seq,
            )
        for connection in targets:
            connection.push(frame)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._events.put_nowait(payload)

    async def _deliver_forever(self) -> None:
        while True:
            payload = await self._events.get()
            try:
                await self.dispatch(payload)
            except Exception:  # one bad event must not end live delivery for everyone
                log.exception("could not deliver a live event")

    async def _listen_forever(self, dsn: str) -> None:
        delay = 0.5
        while True:
            try:
                connection = await asyncpg.connect(dsn)
            except Exception as exc:  # down, starting, refusing: keep trying, never give up live delivery
                log.warning("live delivery: cannot LISTEN (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _c, lost=lost: lost.set())
            try:
                await connection.add_listener(CHANNEL, self._on_notify)
                self.listener_pid = connection.get_server_pid()
                self._listening.set()
                for client in list(self._connections):  # events may have been missed while not listening
                    client.push(_frame(type="resync"))
                delay = 0.5
                await lost.wait()
                log.warning("live delivery: the LISTEN connection dropped; reconnecting")
            except Exception as exc:
                log.warning("live delivery: LISTEN failed (%s)", exc)
                await asyncio.sleep(delay)
            finally:
                self._listening.clear()
                if not connection.is_closed():
                    connection.terminate()

    @contextlib.asynccontextmanager
    async def running(self, dsn: str) -> AsyncIterator[None]:
        """For the app's lifespan: listen while the app runs (waits briefly for the first LISTEN)."""
        tasks = [asyncio.create_task(self._listen_forever(dsn)), asyncio.create_task(self._deliver_forever())]
        try:
            await asyncio.wait_for(self._listening.wait(), timeout=10)
        except TimeoutError:
            log.warning("live delivery: not listening yet; WebSocket clients get events once it is")
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _discard(index: dict[UUID, set[LiveConnection]], key: UUID, connection: LiveConnection) -> None:
    group = index.get(key)
    if group is not None:
        group.discard(connection)
        if not group:
            del index[key]


async def _allowed(user: CurrentUser, conversation_ids: list[UUID]) -> list[UUID]:
    """The ids among `conversation_ids` that `user` may not follow (not theirs, or no such)."""
    rows = await Conversation.select(Conversation.id, Conversation.host, Conversation.guest).where(
        Conversation.id.is_in(conversation_ids)
    )
    mine = {r["id"] for r in rows if user.role == Role.admin or user.id in (r["host"], r["guest"])}
    return [cid for cid in conversation_ids if cid not in mine]


class _Session:
    """One authenticated socket's conversation with the server."""

    def __init__(self, socket: WebSocket[Any, Any, Any], hub: LiveHub, tokens: TokenIssuer, settings: Settings):
        self.socket, self.hub, self.tokens, self.settings = socket, hub, tokens, settings

    async def read_frames(self, connection: LiveConnection) -> tuple[int, str, str | None]:
        while True:
            try:
                text = await self.socket.receive_text()
            except WebSocketDisconnect:
                return 1000, "", None
            try:
                frame = _client_frames.decode(text)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                connection.push(_error("bad_frame", f"Not a frame this server understands: {exc}"))
                continue
            await self.handle(connection, frame)

    async def handle(self, connection: LiveConnection, frame: ClientFrame) -> None:
        if isinstance(frame, PingFrame):
            connection.push(_frame(type="pong"))
        elif isinstance(frame, AuthFrame):  # a fresh token keeps a long-lived connection open
            user = await self.tokens.caller_from_token(frame.token, self.socket)
            if user is None or user.id != connection.user.id:
                connection.push(_error("bad_token", "That token is not a valid token of this user."))
                return
            connection.user = user
            connection.push(_frame(type="authenticated", expires_at=user.token_expires_at.isoformat()))
        elif isinstance(frame, SubscribeFrame):
            refused = await _allowed(connection.user, frame.conversation_ids) if frame.conversation_ids else []
            if refused:
                connection.push(
                    _error("not_found", "No such conversation.", conversation_ids=[str(c) for c in refused])
                )
                return
            self.hub.subscribe(connection, frame.conversation_ids, everything=frame.all)
            connection.push(
                _frame(type="subscribed", conversation_ids=[str(c) for c in frame.conversation_ids], all=frame.all)
            )
        else:
            self.hub.unsubscribe(connection, frame.conversation_ids, everything=frame.all)
            connection.push(
                _frame(type="unsubscribed", conversation_ids=[str(c) for c in frame.conversation_ids], all=frame.all)
            )

    async def write_frames(self, connection: LiveConnection) -> tuple[int, str, str | None]:
        while True:
            frame = await connection.outbox.get()
            try:
                await self.socket.send_text(frame)
            except (WebSocketDisconnect, OSError, RuntimeError):
                return 1000, "", None

    async def watch_session(self, connection: LiveConnection) -> tuple[int, str, str | None]:
        """Close when the token expires (unless renewed), or once the session ends or the user is suspended."""
        while True:
            left = (connection.user.token_expires_at - dt.datetime.now(dt.UTC)).total_seconds()
            await asyncio.sleep(max(0.0, min(left, self.settings.websocket_recheck_seconds)))
            if await recheck_caller(connection.user) is None:
                expired = connection.user.token_expires_at <= dt.datetime.now(dt.UTC)
                code, detail = (
                    ("token_expired", "The access token expired: refresh it and reconnect.")
                    if expired
                    else ("unauthenticated", "The session ended.")
                )
                return UNAUTHENTICATED, code, _error(code, detail)

    async def overflow(self, connection: LiveConnection) -> tuple[int, str, str | None]:
        await connection.overflowed.wait()
        return 1013, "too slow: reconnect and resync", None

    async def _send_quietly(self, frame: str) -> None:
        with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
            await self.socket.send_text(frame)

    async def authenticate(self) -> CurrentUser | None:
        """Only from the first frame: a token in the URL would land in access logs and proxies."""
        if "token" in self.socket.query_params:
            return None
        try:
            first = _client_frames.decode(
                await asyncio.wait_for(self.socket.receive_text(), timeout=AUTH_TIMEOUT_SECONDS)
            )
        except (TimeoutError, msgspec.ValidationError, msgspec.DecodeError, WebSocketDisconnect):
            return None
        if not isinstance(first, AuthFrame):
            return None
        return await self.tokens.caller_from_token(first.token, self.socket)


@websocket("/api/v1/ws", name="live", exclude_from_auth=True)
async def live_updates(
    socket: WebSocket[Any, Any, Any],
    live: NamedDependency[LiveHub],
    tokens: NamedDependency[TokenIssuer],
    settings: NamedDependency[Settings],
) -> None:
    """Authenticate with a first frame `{"type": "auth", "token": …}` (never `?token=`: URLs get logged)."""
    await socket.accept()
    session = _Session(socket, live, tokens, settings)
    user = await session.authenticate()
    if user is None:
        await session._send_quietly(
            _error("unauthenticated", "Send a valid access token in a first frame {type: auth, token}, not in the URL.")
        )
        await socket.close(code=UNAUTHENTICATED, reason="unauthenticated")
        return
    connection = LiveConnection(user)
    live.connect(connection)
    connection.push(_frame(type="ready", user_id=str(user.id), expires_at=user.token_expires_at.isoformat()))
    tasks = [
        asyncio.create_task(session.read_frames(connection)),
        asyncio.create_task(session.write_frames(connection)),
        asyncio.create_task(session.watch_session(connection)),
        asyncio.create_task(session.overflow(connection)),
    ]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        code, reason, last_word = next(iter(done)).result()
    finally:
        live.disconnect(connection)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if last_word is not None:  # sent only now: one writer per socket at a time
        await session._send_quietly(last_word)
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
        await socket.close(code=code, reason=reason)
