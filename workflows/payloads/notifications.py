"""Telling users (NotifyWorkflow, DeliverMessageWorkflow and the deliveries of every process)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from stayflow.templates import Notice


@dataclass(frozen=True)
class DeliverMessage:
    message_id: str


@dataclass(frozen=True)
class DeliverMessages:
    message_ids: list[str]


@dataclass(frozen=True)
class MessageFailed:
    message_id: str
    reason: str


@dataclass(frozen=True)
class NotificationRequest:
    """An event rendered outside a workflow (by the API), for `NotifyWorkflow` to record."""

    user_id: str
    kind: str
    dedupe_key: str
    subject: str
    text: str
    html: str
    short: str
    link: str = ""

    @classmethod
    def of(cls, *, user_id: UUID, kind: str, dedupe_key: str, notice: Notice, link: str = "") -> NotificationRequest:
        email = notice.email
        return cls(str(user_id), kind, dedupe_key, email.subject, email.text, email.html, notice.short, link)
