"""MessageDigestWorkflow: one email about new messages, not one per line of a chatty conversation.

One run per (conversation, recipient), started or signalled by every new message
(signal-with-start, `message_posted`). A digest goes out once the conversation has been quiet
for `quiet_seconds`, or `max_wait_seconds` after the first message not yet emailed about,
whichever comes first, and never sooner than `max_wait_seconds` after the previous digest. When
the recipient has read everything meanwhile (in the app, or live), no email goes out. The run
ends after a quiet `max_wait_seconds` with nothing new; the next message starts a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.conversations import ConversationActivities
    from workflows.payloads.conversations import DigestRequest

from workflows.messaging import deliver_email

DB = timedelta(seconds=30)


def digest_workflow_id(conversation_id: object, recipient_id: object) -> str:
    return f"message-digest-{conversation_id}-{recipient_id}"


@dataclass(frozen=True)
class DigestTarget:
    conversation_id: str
    recipient_id: str
    quiet_seconds: int
    max_wait_seconds: int
    notified_seq: int = 0
    """Carried over by continue-as-new: messages up to here were dealt with."""
    last_sent_at: str | None = None
    """Carried over by continue-as-new (ISO timestamp)."""
    latest_seq: int = 0
    """Carried over by continue-as-new: the newest message signalled."""


@dataclass(frozen=True)
class DigestOutcome:
    sent: int
    skipped_as_read: int


@workflow.defn
class MessageDigestWorkflow:
    def __init__(self) -> None:
        self._latest_seq = 0
        self._signals = 0
        self._last_signal_at: datetime | None = None

    @workflow.signal
    def message_posted(self, seq: int) -> None:
        self._latest_seq = max(self._latest_seq, seq)
        self._signals += 1
        self._last_signal_at = workflow.now()

    @workflow.query
    def latest_seq(self) -> int:
        return self._latest_seq

    @workflow.run
    async def run(self, target: DigestTarget) -> DigestOutcome:
        quiet = timedelta(seconds=target.quiet_seconds)
        cap = timedelta(seconds=target.max_wait_seconds)
        notified = target.notified_seq
        self._latest_seq = max(self._latest_seq, target.latest_seq)
        last_sent = datetime.fromisoformat(target.last_sent_at) if target.last_sent_at else None
        sent = skipped = 0
        round_ = 0
        while True:
            settled = notified

            def pending(settled: int = settled) -> bool:
                return self._latest_seq > settled

            try:
                await workflow.wait_condition(pending, timeout=cap)
            except TimeoutError:
                break
            first = workflow.now()
            await self._gather(first, quiet, cap, last_sent)
            round_ += 1
            result = await workflow.execute_activity_method(
                ConversationActivities.record_message_digest,
                DigestRequest(target.conversation_id, target.recipient_id, notified, round_),
                start_to_close_timeout=DB,
            )
            notified = max(notified, result.up_to_seq)
            if result.message_id is None:
                skipped += 1
                continue
            await deliver_email(result.message_id)
            for message_id in result.more_ids:
                await deliver_email(message_id)
            sent += 1
            last_sent = workflow.now()
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    replace(
                        target,
                        notified_seq=notified,
                        last_sent_at=last_sent.isoformat(),
                        latest_seq=self._latest_seq,
                    )
                )
        return DigestOutcome(sent=sent, skipped_as_read=skipped)

    async def _gather(self, first: datetime, quiet: timedelta, cap: timedelta, last_sent: datetime | None) -> None:
        """Wait while messages keep coming: until quiet for `quiet`, at most `cap` after `first`,
        and not before `cap` after the previous digest."""
        while True:
            now = workflow.now()
            last_signal = self._last_signal_at or first
            due = min(last_signal + quiet, first + cap)
            if last_sent is not None:
                due = max(due, last_sent + cap)
            if now >= due:
                return
            seen = self._signals

            def new_message(seen: int = seen) -> bool:
                return self._signals != seen

            try:
                await workflow.wait_condition(new_message, timeout=due - now)
            except TimeoutError:
                return
