"""Which listing status may follow which, and who moves it."""

from __future__ import annotations

from enum import StrEnum


class ListingStatus(StrEnum):
    draft = "draft"
    pending_review = "pending_review"
    published = "published"
    rejected = "rejected"
    suspended = "suspended"
    archived = "archived"


S = ListingStatus

TRANSITIONS: dict[str, set[S]] = {
    # host
    "submit": {S.draft, S.rejected},
    "archive": {S.draft, S.rejected, S.published},
    # the approval workflow
    "begin_review": {S.draft, S.rejected, S.published},
    "approve": {S.pending_review},
    "reject": {S.pending_review},
    # admin
    "suspend": {S.published},
    "restore": {S.suspended},
}

TARGET: dict[str, S] = {
    "archive": S.archived,
    "begin_review": S.pending_review,
    "approve": S.published,
    "reject": S.rejected,
    "suspend": S.suspended,
    "restore": S.published,
}

EDITABLE = {S.draft, S.rejected, S.published}
"""A listing under review, suspended or archived cannot be edited by its host."""

LOCATION_FIELDS = frozenset({"address_line", "city", "country", "latitude", "longitude"})
"""Changing where a published home is sends it back to review (bait-and-switch protection)."""


def allowed(action: str, current: str) -> bool:
    return S(current) in TRANSITIONS[action]
