"""Payloads of the calendar sync process (a listing's imported feeds)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SyncListing:
    listing_id: str


@dataclass(frozen=True)
class SyncFeed:
    feed_id: str


@dataclass(frozen=True)
class FeedSyncResult:
    feed_id: str
    status: str
    """`ok`, `failed` (see `error`), or `gone` (the feed was deleted meanwhile)."""
    blocked_nights: int = 0
    conflicts: int = 0
    error: str = ""
    message_ids: list[str] = field(default_factory=list)
