"""Host-guest messaging (SPEC §8): conversations about a listing or a booking, their messages and
read markers. The rules are in `api.conversations.service`; live delivery in
`api.conversations.live`; the emails about new messages in workflows/message_digest.py.

Only the two participants see a conversation (admins may read it too); everyone else gets 404.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.conversations import service
from api.conversations.live import MessageRead, message_read
from api.conversations.schemas import (
    ConversationRead,
    ConversationStart,
    MessageCreate,
    ReadMarkerUpdate,
    ReadState,
    UnreadSummary,
)
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_number_cursor, encode_cursor
from api.security import CurrentUser
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway


class ConversationsController(Controller):
    path = "/api/v1/conversations"
    tags = ["messaging"]

    @get(operation_id="listConversations", summary="My conversations, newest activity first")
    async def list_mine(
        self, request: Request[CurrentUser, Any, Any], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[ConversationRead]:
        items, next_cursor = await service.conversations_of(request.user.id, limit=limit, cursor=cursor)
        return Page(items=items, next_cursor=next_cursor)

    @get("/unread", operation_id="countUnreadMessages", summary="My unread messages, for a badge")
    async def unread(self, request: Request[CurrentUser, Any, Any]) -> UnreadSummary:
        return await service.unread_summary(request.user.id)

    @post(operation_id="startConversation", summary="Message a host about a listing, or about a booking")
    async def start(
        self,
        request: Request[CurrentUser, Any, Any],
        data: JSONBody[ConversationStart],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> Response[ConversationRead]:
        """Starts the conversation with its first message, or adds the message to the conversation
        that already exists (201 when started, 200 when it existed)."""
        read, created = await service.start_conversation(
            request.user,
            data.body,
            listing_id=data.listing_id,
            booking_id=data.booking_id,
            temporal=temporal,
            settings=settings,
        )
        return Response(read, status_code=201 if created else 200)

    @get("/{conversation_id:uuid}", operation_id="getConversation", summary="One conversation")
    async def read(self, request: Request[CurrentUser, Any, Any], conversation_id: FromPath[UUID]) -> ConversationRead:
        return await service.conversation_for(conversation_id, request.user)

    @get(
        "/{conversation_id:uuid}/messages",
        operation_id="listConversationMessages",
        summary="A conversation's messages, newest first",
    )
    async def messages(
        self,
        request: Request[CurrentUser, Any, Any],
        conversation_id: FromPath[UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[MessageRead]:
        """Newest first, like a chat screen that scrolls back: `next_cursor` leads to older ones.
        Reading does not move the read marker; `POST …/read` does."""
        shown, more = await service.messages_before(
            conversation_id, request.user, before=decode_number_cursor(cursor), limit=limit
        )
        return Page(
            items=[message_read(r) for r in shown],
            next_cursor=encode_cursor(shown[-1]["seq"]) if more and shown else None,
        )

    @post("/{conversation_id:uuid}/messages", operation_id="postConversationMessage", summary="Write in a conversation")
    async def post_message(
        self,
        request: Request[CurrentUser, Any, Any],
        conversation_id: FromPath[UUID],
        data: JSONBody[MessageCreate],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> MessageRead:
        message = await service.post_message(conversation_id, request.user, data.body, temporal, settings)
        return message_read(message)

    @post(
        "/{conversation_id:uuid}/read",
        operation_id="markConversationRead",
        summary="Move my read marker up to the newest or a given message",
        status_code=200,
    )
    async def mark_read(
        self,
        request: Request[CurrentUser, Any, Any],
        conversation_id: FromPath[UUID],
        data: JSONBody[ReadMarkerUpdate | None] = None,
    ) -> ReadState:
        """A read marker never moves back."""
        return await service.mark_read(conversation_id, request.user, data.message_id if data is not None else None)
