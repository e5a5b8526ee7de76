"""Conversations between a guest and a host (SPEC §8): who may see and write in one, how a
message is numbered, stored and announced (live and by a digest email), and read markers.
Functions take plain inputs and raise `Problem`; the controllers only parse and shape."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from temporalio.service import RPCError

from api.accounts.users import public_profile
from api.conversations.live import MessagePosted, ReadMoved, publish
from api.conversations.schemas import (
    PREVIEW_CHARS,
    ConversationRead,
    LastMessage,
    ListingRef,
    ReadState,
    UnreadSummary,
)
from api.errors import Problem
from api.listings.service import load_visible_listing
from api.pagination import keyset
from api.posting_limits import count_post
from api.security import CurrentUser
from api.validation import invalid
from models import Booking, Conversation, ConversationMessage, Listing, User
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.message_digest import DigestTarget, MessageDigestWorkflow, digest_workflow_id

log = logging.getLogger("stayflow.api")


def _preview(body: str) -> str:
    line = " ".join(body.split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"


def _marker_column(conversation: dict[str, Any], user_id: UUID) -> str | None:
    if user_id == conversation["host"]:
        return "host_last_read_seq"
    if user_id == conversation["guest"]:
        return "guest_last_read_seq"
    return None


async def conversation_reads(rows: list[dict[str, Any]], viewer: UUID) -> list[ConversationRead]:
    """A page of conversations as `viewer` sees them, in a fixed number of queries."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    others = {r["guest"] if r["host"] == viewer else r["host"] for r in rows if viewer in (r["host"], r["guest"])}
    users = {u.id: u for u in await User.objects().where(User.id.is_in(list(others)))} if others else {}
    titles = {
        r["id"]: r["title"]
        for r in await Listing.select(Listing.id, Listing.title).where(Listing.id.is_in([r["listing"] for r in rows]))
    }
    last = {
        m["conversation"]: m
        for m in await ConversationMessage.raw(
            """SELECT m.* FROM conversation_messages m JOIN conversations c ON c.id = m.conversation
               WHERE c.id = ANY({}::uuid[]) AND m.seq = c.last_seq""",
            ids,
        )
    }
    unread = {
        r["conversation"]: r["n"]
        for r in await ConversationMessage.raw(
            """SELECT m.conversation, count(*) AS n FROM conversation_messages m
               JOIN conversations c ON c.id = m.conversation
               WHERE c.id = ANY({}::uuid[]) AND m.sender <> {}
                 AND m.seq > CASE WHEN c.host = {} THEN c.host_last_read_seq
                                  WHEN c.guest = {} THEN c.guest_last_read_seq ELSE c.last_seq END
               GROUP BY m.conversation""",
            ids,
            viewer,
            viewer,
            viewer,
        )
    }
    reads = []
    for r in rows:
        mine, theirs = _marker_column(r, viewer), None
        if mine is not None:
            theirs = "guest_last_read_seq" if mine == "host_last_read_seq" else "host_last_read_seq"
        other = users.get(r["guest"] if r["host"] == viewer else r["host"]) if mine else None
        message = last.get(r["id"])
        reads.append(
            ConversationRead(
                id=r["id"],
                listing=ListingRef(id=r["listing"], title=titles.get(r["listing"], "")),
                booking_id=r["booking"],
                host_id=r["host"],
                guest_id=r["guest"],
                other_participant=public_profile(other) if other is not None else None,
                last_message=LastMessage(
                    id=message["id"],
                    seq=message["seq"],
                    sender_id=message["sender"],
                    preview=_preview(message["body"]),
                    created_at=message["created_at"],
                )
                if message
                else None,
                unread_count=unread.get(r["id"], 0),
                my_last_read_seq=r[mine] if mine else None,
                their_last_read_seq=r[theirs] if theirs else None,
                created_at=r["created_at"],
                last_message_at=r["last_message_at"],
            )
        )
    return reads


async def load_conversation_for(conversation_id: UUID, user: CurrentUser) -> dict[str, Any]:
    """The conversation if the caller is one of its two participants or an admin; 404 otherwise."""
    rows = await Conversation.select().where(Conversation.id == conversation_id)
    if not rows or (user.id not in (rows[0]["host"], rows[0]["guest"]) and user.role != Role.admin):
        raise Problem(404, "No such conversation.")
    return rows[0]


def _participant_only(conversation: dict[str, Any], user: CurrentUser) -> str:
    column = _marker_column(conversation, user.id)
    if column is None:  # an admin reading along
        raise Problem(403, "Only the conversation's guest and host can write in it or mark it read.")
    return column


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise invalid("body", "must not be blank")
    return body


async def _append(conversation_id: UUID, sender: UUID, body: str) -> dict[str, Any]:
    """Inside the caller's transaction: number, store and announce one message. Writing a
    message also moves the sender's own read marker to it."""
    [bump] = await Conversation.raw(
        """UPDATE conversations SET last_seq = last_seq + 1, last_message_at = now(),
             host_last_read_seq = CASE WHEN host = {} THEN last_seq + 1 ELSE host_last_read_seq END,
             guest_last_read_seq = CASE WHEN guest = {} THEN last_seq + 1 ELSE guest_last_read_seq END
           WHERE id = {} RETURNING last_seq, host, guest""",
        sender,
        sender,
        conversation_id,
    )
    [message] = await ConversationMessage.raw(
        """INSERT INTO conversation_messages (id, conversation, seq, sender, body, created_at)
           VALUES (gen_random_uuid(), {}, {}, {}, {}, now()) RETURNING *""",
        conversation_id,
        bump["last_seq"],
        sender,
        body,
    )
    await publish(MessagePosted(conversation_id, message["id"], bump["host"], bump["guest"]))
    return dict(message)


async def _tell_recipient(
    temporal: TemporalGateway, settings: Settings, conversation: dict[str, Any], message: dict[str, Any]
) -> None:
    """Signal-with-start the recipient's digest. The message is stored and delivered live
    already: if Temporal is unreachable this one email is lost, not the message."""
    recipient = conversation["guest"] if message["sender"] == conversation["host"] else conversation["host"]
    try:
        client = await temporal.client()
        await client.start_workflow(
            MessageDigestWorkflow.run,
            DigestTarget(
                conversation_id=str(conversation["id"]),
                recipient_id=str(recipient),
                quiet_seconds=settings.message_digest_quiet_seconds,
                max_wait_seconds=settings.message_digest_max_wait_seconds,
            ),
            id=digest_workflow_id(conversation["id"], recipient),
            task_queue=settings.task_queue,
            start_signal="message_posted",
            start_signal_args=[message["seq"]],
            static_summary="Email about new messages",
        )
    except (RPCError, RuntimeError, TimeoutError, OSError) as exc:
        log.warning("no new-message email for conversation %s: Temporal unreachable (%s)", conversation["id"], exc)


async def conversations_of(
    user_id: UUID, *, limit: int, cursor: str | None
) -> tuple[list[ConversationRead], str | None]:
    """My conversations, newest activity first."""
    rows, next_cursor = await keyset(
        Conversation.select().where((Conversation.host == user_id) | (Conversation.guest == user_id)),
        time_column=Conversation.last_message_at,
        id_column=Conversation.id,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    return await conversation_reads(rows, user_id), next_cursor


async def unread_summary(user_id: UUID) -> UnreadSummary:
    [row] = await ConversationMessage.raw(
        """SELECT count(*) AS n, count(DISTINCT m.conversation) AS c FROM conversation_messages m
           JOIN conversations c ON c.id = m.conversation
           WHERE (c.host = {} AND m.seq > c.host_last_read_seq OR c.guest = {} AND m.seq > c.guest_last_read_seq)
             AND m.sender <> {}""",
        user_id,
        user_id,
        user_id,
    )
    return UnreadSummary(unread_count=row["n"], conversations=row["c"])


async def start_conversation(
    user: CurrentUser,
    text: str,
    *,
    listing_id: UUID | None,
    booking_id: UUID | None,
    temporal: TemporalGateway,
    settings: Settings,
) -> tuple[ConversationRead, bool]:
    """Starts the conversation with its first message, or adds the message to the conversation
    that already exists. Returns how the caller sees it and whether it was started now."""
    await count_post(user.id, "conversation")
    body = _body(text)
    if (listing_id is None) == (booking_id is None):
        raise invalid("listing_id", "give exactly one of listing_id and booking_id")
    if booking_id is not None:
        booking = await Booking.objects().get(Booking.id == booking_id)
        if booking is None or user.id not in (booking.guest, booking.host):
            raise Problem(404, "No such booking.")
        listing_id, booking_id, guest = booking.listing, booking.id, booking.guest
        listing_row = await Listing.objects().get(Listing.id == booking.listing)
        assert listing_row is not None
        host = booking.host or listing_row.host
        conflict = "(booking) WHERE booking IS NOT NULL"
    else:
        assert listing_id is not None
        listing = await load_visible_listing(listing_id, user)
        if listing.host == user.id:
            raise invalid("listing_id", "this is your own listing: guests start conversations about it")
        if listing.status != ListingStatus.published:
            raise invalid("listing_id", "the listing is not published")
        listing_id, booking_id, guest, host = listing.id, None, user.id, listing.host
        conflict = "(listing, guest) WHERE booking IS NULL"
    async with Conversation._meta.db.transaction():
        created = await Conversation.raw(
            f"""INSERT INTO conversations (id, listing, booking, host, guest, last_seq, host_last_read_seq,
                                           guest_last_read_seq, created_at, last_message_at)
                VALUES (gen_random_uuid(), {{}}, {{}}, {{}}, {{}}, 0, 0, 0, now(), now())
                ON CONFLICT {conflict} DO NOTHING RETURNING id""",
            listing_id,
            booking_id,
            host,
            guest,
        )
        if created:
            conversation_id = created[0]["id"]
        else:
            match = (Conversation.listing == listing_id) & (Conversation.guest == guest)
            match &= (Conversation.booking == booking_id) if booking_id is not None else Conversation.booking.is_null()
            [existing] = await Conversation.select(Conversation.id).where(match)
            conversation_id = existing["id"]
        message = await _append(conversation_id, user.id, body)
    [conversation] = await Conversation.select().where(Conversation.id == conversation_id)
    await _tell_recipient(temporal, settings, conversation, message)
    [read] = await conversation_reads([conversation], user.id)
    return read, bool(created)


async def conversation_for(conversation_id: UUID, user: CurrentUser) -> ConversationRead:
    conversation = await load_conversation_for(conversation_id, user)
    [read] = await conversation_reads([conversation], user.id)
    return read


async def messages_before(
    conversation_id: UUID, user: CurrentUser, *, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """A page of messages older than seq `before`, newest first, and whether older ones remain."""
    await load_conversation_for(conversation_id, user)
    query = ConversationMessage.select().where(ConversationMessage.conversation == conversation_id)
    if before is not None:
        query = query.where(ConversationMessage.seq < before)
    rows = await query.order_by(ConversationMessage.seq, ascending=False).limit(limit + 1)
    return rows[:limit], len(rows) > limit


async def post_message(
    conversation_id: UUID, user: CurrentUser, text: str, temporal: TemporalGateway, settings: Settings
) -> dict[str, Any]:
    """A participant writes: the message is stored and delivered live, then the recipient's digest is told."""
    conversation = await load_conversation_for(conversation_id, user)
    _participant_only(conversation, user)
    await count_post(user.id, "message")
    body = _body(text)
    async with Conversation._meta.db.transaction():
        message = await _append(conversation_id, user.id, body)
    await _tell_recipient(temporal, settings, conversation, message)
    return message


async def mark_read(conversation_id: UUID, user: CurrentUser, message_id: UUID | None) -> ReadState:
    """Move the caller's read marker up to `message_id` or the newest message; it never moves back."""
    conversation = await load_conversation_for(conversation_id, user)
    column = _participant_only(conversation, user)
    up_to: int | None = None
    if message_id is not None:
        found = await ConversationMessage.select(ConversationMessage.seq).where(
            (ConversationMessage.id == message_id) & (ConversationMessage.conversation == conversation_id)
        )
        if not found:
            raise invalid("message_id", "is not a message of this conversation")
        up_to = found[0]["seq"]
    async with Conversation._meta.db.transaction():
        moved = await Conversation.raw(
            f"""UPDATE conversations SET {column} = COALESCE({{}}, last_seq)
                WHERE id = {{}} AND {column} < COALESCE({{}}, last_seq)
                RETURNING {column} AS seq, host, guest""",
            up_to,
            conversation_id,
            up_to,
        )
        if moved:
            row = moved[0]
            await publish(ReadMoved(conversation_id, user.id, row["seq"], row["host"], row["guest"]))
    [fresh] = await Conversation.select().where(Conversation.id == conversation_id)
    [read] = await conversation_reads([fresh], user.id)
    return ReadState(conversation_id=conversation_id, last_read_seq=fresh[column], unread_count=read.unread_count)
