"""The messaging API's request and response bodies (SPEC §8)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import msgspec

from api.accounts.users import PublicProfile

MAX_BODY = 4000
PREVIEW_CHARS = 140

Body = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_BODY, description="1 to 4000 characters; trimmed")]


class ConversationStart(msgspec.Struct, forbid_unknown_fields=True):
    body: Body
    listing_id: UUID | None = None
    """A guest's question about a listing, before booking."""
    booking_id: UUID | None = None
    """About a booking, between its guest and its host. Exactly one of the two."""


class MessageCreate(msgspec.Struct, forbid_unknown_fields=True):
    body: Body


class ReadMarkerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    message_id: UUID | None = None
    """Read up to and including this message; omitted: up to the newest."""


class ListingRef(msgspec.Struct):
    id: UUID
    title: str


class LastMessage(msgspec.Struct):
    id: UUID
    seq: int
    sender_id: UUID
    preview: str
    created_at: dt.datetime


class ConversationRead(msgspec.Struct):
    id: UUID
    listing: ListingRef
    booking_id: UUID | None
    host_id: UUID
    guest_id: UUID
    other_participant: PublicProfile | None
    """The other person, seen by a participant (None for an admin reading along)."""
    last_message: LastMessage | None
    unread_count: int
    """Messages from the other participant after my read marker."""
    my_last_read_seq: int | None
    their_last_read_seq: int | None
    """How far the other participant has read (for "seen")."""
    created_at: dt.datetime
    last_message_at: dt.datetime


class UnreadSummary(msgspec.Struct):
    unread_count: int
    """Unread messages in all my conversations."""
    conversations: int
    """Conversations with at least one unread message."""


class ReadState(msgspec.Struct):
    conversation_id: UUID
    last_read_seq: int
    unread_count: int
