"""Migration m0022's backfill on rows that existed before it: listings get the zone of their
coordinates, bookings the terms they were made under (and then read and refund by them)."""

from __future__ import annotations

import datetime as dt
import importlib

from models import Booking, Listing, PlatformSettings
from stayflow.rules.terms import stored_terms
from tests.factories import make_booking, make_listing, make_user

m0022 = importlib.import_module("models.piccolo_migrations.m0022_listing_local_time")


async def test_existing_listings_and_bookings_are_backfilled() -> None:
    if await PlatformSettings.count() == 0:
        await PlatformSettings(id=1).save()
    tokyo = await make_listing(latitude=35.6762, longitude=139.6503, cancellation_policy="strict")
    at_sea = await make_listing(latitude=0.0, longitude=-30.0)
    chosen = await make_listing(latitude=35.6762, longitude=139.6503, time_zone="Europe/Berlin")
    today = dt.date.today()
    booking = await make_booking(
        tokyo, await make_user(), check_in=today + dt.timedelta(5), check_out=today + dt.timedelta(7)
    )
    assert booking.terms is None

    await m0022.backfill()

    zones = {row.id: row.time_zone for row in await Listing.objects()}
    assert zones[tokyo.id] == "Asia/Tokyo"
    assert zones[at_sea.id] == "Etc/GMT+2"  # mid-Atlantic: the nautical zone timezonefinder answers
    assert zones[chosen.id] == "Europe/Berlin"  # a zone already set is kept
    fresh = await Booking.objects().get(Booking.id == booking.id)
    assert fresh is not None and fresh.terms is not None
    terms = stored_terms(fresh.terms)
    # Made before local time existed: its deadlines stay where they were decided, 15:00/11:00 UTC.
    assert (terms.cancellation_policy, terms.time_zone, terms.check_in_time) == ("strict", "UTC", "15:00")
    assert (terms.guest_fee_bps, terms.host_fee_bps, terms.currency) == (1200, 300, "EUR")
