"""Side effects of the new-message digest: deciding whether anything is still unread and
recording the one email that tells the recipient about it."""

from __future__ import annotations

from uuid import UUID

from temporalio import activity

from activities.notifications import record_notification
from models import Conversation, ConversationMessage, Listing, User
from stayflow import templates
from stayflow.settings import Settings
from workflows.payloads.conversations import DigestRequest, DigestResult

PREVIEWS = 5
"""The digest quotes at most this many of the newest unread messages."""
PREVIEW_CHARS = 300


class ConversationActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    async def record_message_digest(self, request: DigestRequest) -> DigestResult:
        """Record one email about the recipient's unread messages of a conversation (once per
        digest, however often this runs); nothing when they have read them meanwhile."""
        conversation = await Conversation.objects().get(Conversation.id == UUID(request.conversation_id))
        recipient = await User.objects().get(User.id == UUID(request.recipient_id))
        if conversation is None or recipient is None:
            return DigestResult(None, request.after_seq)
        last_read = (
            conversation.host_last_read_seq if recipient.id == conversation.host else conversation.guest_last_read_seq
        )
        unread = (
            await ConversationMessage.objects()
            .where(
                (ConversationMessage.conversation == conversation.id)
                & (ConversationMessage.seq > max(last_read, request.after_seq))
                & (ConversationMessage.sender != recipient.id)
            )
            .order_by(ConversationMessage.seq, ascending=False)
        )
        if not unread or recipient.suspended_at is not None:
            return DigestResult(None, conversation.last_seq)
        sender = await User.objects().get(User.id == unread[0].sender)
        listing = await Listing.objects().get(Listing.id == conversation.listing)
        assert sender is not None and listing is not None
        shown = list(reversed(unread[:PREVIEWS]))
        url = f"{self.settings.public_url.rstrip('/')}/api/v1/conversations/{conversation.id}/messages"
        notice = templates.new_messages_email(
            full_name=recipient.full_name,
            sender_name=(sender.full_name.split() or ["Someone"])[0],
            title=listing.title,
            previews=[_preview(m.body) for m in shown],
            more=len(unread) - len(shown),
            url=url,
        )
        info = activity.info()
        ids = await record_notification(
            user_id=recipient.id,
            kind="new_message",
            dedupe_key=f"new_message:{conversation.id}:{recipient.id}:{info.workflow_run_id}:{request.round}",
            notice=notice,
            link=url,
        )
        return DigestResult(ids[0] if ids else None, unread[0].seq, ids[1:])


def _preview(body: str) -> str:
    return body if len(body) <= PREVIEW_CHARS else body[: PREVIEW_CHARS - 1] + "…"
