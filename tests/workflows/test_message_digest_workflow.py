"""MessageDigestWorkflow on the time-skipping server: one email for a burst of messages, sent once
the conversation is quiet (or at the cap), at most one per interval, none when already read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models import Conversation, ConversationMessage, Message
from models.identity import Role
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_listing, make_user
from workers.main import build_worker
from workflows.message_digest import DigestOutcome, DigestTarget, MessageDigestWorkflow, digest_workflow_id

QUIET, CAP = 300, 900


class Chat:
    """A conversation written straight to the database, the way the API stores it."""

    def __init__(self, conversation: Conversation, host: Any, guest: Any) -> None:
        self.conversation, self.host, self.guest = conversation, host, guest

    @classmethod
    async def create(cls) -> Chat:
        host = await make_user(role=Role.host, email="host@example.com", full_name="Hilda Host")
        guest = await make_user(email="guest@example.com", full_name="Gus Guest")
        listing = await make_listing(host)
        conversation = Conversation(listing=listing.id, host=host.id, guest=guest.id)
        await conversation.save()
        return cls(conversation, host, guest)

    async def guest_says(self, body: str) -> int:
        [row] = await Conversation.raw(
            "UPDATE conversations SET last_seq = last_seq + 1, guest_last_read_seq = last_seq + 1 "
            "WHERE id = {} RETURNING last_seq",
            self.conversation.id,
        )
        seq = int(row["last_seq"])
        await ConversationMessage(conversation=self.conversation.id, seq=seq, sender=self.guest.id, body=body).save()
        return seq

    async def host_reads_everything(self) -> None:
        await Conversation.raw(
            "UPDATE conversations SET host_last_read_seq = last_seq WHERE id = {}", self.conversation.id
        )


async def emails() -> list[Message]:
    return list(await Message.objects().where(Message.kind == "new_message").order_by(Message.created_at))


async def tell_host(env: Any, chat: Chat, seq: int, task_queue: str) -> Any:
    """What the API does for every message: signal-with-start the recipient's digest."""
    return await env.client.start_workflow(
        MessageDigestWorkflow.run,
        DigestTarget(str(chat.conversation.id), str(chat.host.id), QUIET, CAP),
        id=digest_workflow_id(chat.conversation.id, chat.host.id),
        task_queue=task_queue,
        start_signal="message_posted",
        start_signal_args=[seq],
    )


async def test_a_burst_of_messages_makes_one_email_once_the_conversation_is_quiet(
    time_skipping_env: Any, settings: Settings, task_queue: str
) -> None:
    env = time_skipping_env
    chat = await Chat.create()
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await tell_host(env, chat, await chat.guest_says("Hello!"), task_queue)
        for line in ("Is the loft quiet at night?", "And is there a lift?"):
            await env.sleep(timedelta(seconds=60))
            await tell_host(env, chat, await chat.guest_says(line), task_queue)
        await env.sleep(timedelta(seconds=QUIET - 60))  # still within the quiet period of the last line
        assert await emails() == []
        await env.sleep(timedelta(seconds=120))
        [email] = await emails()
        assert email.recipient == "host@example.com" and email.status == "sent"
        assert email.subject == f"3 new messages from Gus: {(await chat.conversation.get_related('listing')).title}"  # type: ignore[union-attr]
        for line in ("Hello!", "Is the loft quiet at night?", "And is there a lift?"):
            assert line in email.text_body
        outcome = await handle.result()
    assert outcome == DigestOutcome(sent=1, skipped_as_read=0)


async def test_a_chatty_conversation_gets_at_most_one_email_per_interval(
    time_skipping_env: Any,
    settings: Settings,
    task_queue: str,
    record_history: RecordHistory,
) -> None:
    env = time_skipping_env
    chat = await Chat.create()
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await tell_host(env, chat, await chat.guest_says("line 0"), task_queue)
        sent_at: list[int] = []
        for minute in range(2, 34, 2):  # a line every two minutes for half an hour: never quiet
            await env.sleep(timedelta(seconds=120))
            if len(await emails()) > len(sent_at):
                sent_at.append(minute)
            await tell_host(env, chat, await chat.guest_says(f"line {minute}"), task_queue)
        outcome = await handle.result()
        await record_history(env, handle.id, "message_digest_chatty")
    # Never quiet: the first at the cap, 15 minutes after line 0 (seen at minute 16); the next 15
    # minutes after the first line it did not cover (line 16, seen at minute 32); the rest once quiet.
    assert sent_at == [16, 32]
    assert outcome.sent == 3
    first = (await emails())[0]
    assert first.subject.startswith("8 new messages")  # lines 0 to 14: the newest five quoted
    assert "line 14" in first.text_body and "line 4\n" not in first.text_body and "and 3 more" in first.text_body


async def test_no_email_when_the_messages_were_read_in_the_meantime(
    time_skipping_env: Any, settings: Settings, task_queue: str
) -> None:
    env = time_skipping_env
    chat = await Chat.create()
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await tell_host(env, chat, await chat.guest_says("Are pets allowed?"), task_queue)
        await tell_host(env, chat, await chat.guest_says("A small dog."), task_queue)
        await env.sleep(timedelta(seconds=30))
        await chat.host_reads_everything()  # in the app, while the digest waited
        outcome = await handle.result()
    assert outcome == DigestOutcome(sent=0, skipped_as_read=1)
    assert await emails() == []
