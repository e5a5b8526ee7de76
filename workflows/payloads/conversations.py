"""The new-message digest (MessageDigestWorkflow): what its activity takes and answers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DigestRequest:
    conversation_id: str
    recipient_id: str
    after_seq: int
    """Messages up to this `seq` were already in an earlier digest."""
    round: int
    """Which digest of this run: with the run id, the email's dedupe key."""


@dataclass(frozen=True)
class DigestResult:
    message_id: str | None
    """The first message to deliver (the email, or the SMS when email is off for new messages),
    or None when the recipient has read everything meanwhile (or wants neither)."""
    up_to_seq: int
    """The newest message this digest accounts for."""
    more_ids: list[str] = field(default_factory=list)
    """Further messages to deliver for this digest (the SMS, when both channels are on)."""
