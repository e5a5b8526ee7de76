"""Which edits of a published listing must be reviewed again before guests see them (bait and switch).

A material edit takes the listing down to `pending_review` until an admin approves it again: guests
never book a home that is not the one that was approved. Everything else (amenities, fees, rules,
small price changes, captions, the photos' order) goes live at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stayflow.rules.listing_status import LOCATION_FIELDS

MATERIAL_FIELDS = frozenset({"title", "description", "property_type"}) | LOCATION_FIELDS
LARGE_PRICE_CHANGE_PERCENT = 30
"""A nightly price (or weekend price) moved by more than this (up or down) from the current one is
re-reviewed."""


def large_price_change(before: int, after: int) -> bool:
    return abs(after - before) * 100 > LARGE_PRICE_CHANGE_PERCENT * before


def material_changes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> list[str]:
    """The fields of `changes` that would make a published listing another listing, sorted."""
    changed = [f for f in MATERIAL_FIELDS if f in changes and changes[f] != current.get(f)]
    if "nightly_price" in changes and large_price_change(int(current["nightly_price"]), int(changes["nightly_price"])):
        changed.append("nightly_price")
    # Friday and Saturday nights are nights too: a weekend price far from the one guests saw (or,
    # without one, from the nightly price) is the same bait.
    if changes.get("weekend_price") is not None:
        before = current.get("weekend_price") or int(current["nightly_price"])
        if large_price_change(int(before), int(changes["weekend_price"])):
            changed.append("weekend_price")
    return sorted(changed)
