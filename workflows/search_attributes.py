"""The search attributes Stayflow's processes carry (SPEC §6): operators find any process in the
Temporal UI by business key. Set by the workflows, registered with the server by the dev stack
and the tests; this is the one list."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

BOOKING_ID = SearchAttributeKey.for_keyword("BookingId")
LISTING_ID = SearchAttributeKey.for_keyword("ListingId")
GUEST_ID = SearchAttributeKey.for_keyword("GuestId")
HOST_ID = SearchAttributeKey.for_keyword("HostId")
BOOKING_STATUS = SearchAttributeKey.for_keyword("BookingStatus")
LISTING_STATUS = SearchAttributeKey.for_keyword("ListingStatus")

ALL: tuple[SearchAttributeKey[str], ...] = (BOOKING_ID, LISTING_ID, GUEST_ID, HOST_ID, BOOKING_STATUS, LISTING_STATUS)
