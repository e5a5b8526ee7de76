"""The automatic checks a listing must pass before an admin reviews it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_TITLE_LENGTH = 10
MIN_DESCRIPTION_LENGTH = 50
MAX_SANE_NIGHTLY_PRICE = 10_000_000  # minor units: 100,000.00 a night
MAX_SANE_GUESTS = 50


@dataclass(frozen=True)
class ListingFacts:
    title: str
    description: str
    photo_count: int
    nightly_price: int
    cleaning_fee: int
    max_guests: int
    bedrooms: int
    beds: int

    @classmethod
    def of(cls, listing: Any, photo_count: int) -> ListingFacts:
        """From anything with a listing's attributes (a row, an edited copy)."""
        return cls(
            title=listing.title,
            description=listing.description,
            photo_count=photo_count,
            nightly_price=listing.nightly_price,
            cleaning_fee=listing.cleaning_fee,
            max_guests=listing.max_guests,
            bedrooms=listing.bedrooms,
            beds=listing.beds,
        )


def moderation_problems(facts: ListingFacts) -> list[str]:
    """Reasons an admin should not even see this listing yet (empty: ready for review)."""
    problems = []
    if facts.photo_count < 1:
        problems.append("add at least one photo")
    if len(facts.title.strip()) < MIN_TITLE_LENGTH:
        problems.append(f"the title needs at least {MIN_TITLE_LENGTH} characters")
    if len(facts.description.strip()) < MIN_DESCRIPTION_LENGTH:
        problems.append(f"the description needs at least {MIN_DESCRIPTION_LENGTH} characters")
    if not 0 < facts.nightly_price <= MAX_SANE_NIGHTLY_PRICE:
        problems.append("the nightly price is not plausible")
    if facts.cleaning_fee > max(facts.nightly_price * 5, 0):
        problems.append("the cleaning fee is more than five nights' price")
    if not 1 <= facts.max_guests <= MAX_SANE_GUESTS:
        problems.append(f"guests must be between 1 and {MAX_SANE_GUESTS}")
    if facts.beds < 1:
        problems.append("list at least one bed")
    if facts.max_guests > max(facts.beds, 1) * 4:
        problems.append("more guests than the beds can sleep")
    return problems
