"""What the ORM cannot express: the no-double-booking exclusion constraint, range and check
constraints, and the indexes listing search walks (see docs/architecture.md, "Search performance")."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T01:39:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "integrity constraints and search indexes"

STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    # Two live bookings of one listing can never share a night, whatever races the API has.
    """ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap
       EXCLUDE USING gist (listing WITH =, daterange(check_in, check_out) WITH &&)
       WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed'))""",
    "ALTER TABLE bookings ADD CONSTRAINT bookings_stay_valid CHECK (check_out > check_in AND guests >= 1)",
    """CREATE INDEX calendar_blocks_listing_nights ON calendar_blocks
       USING gist (listing, daterange(start_date, end_date))""",
    "ALTER TABLE calendar_blocks ADD CONSTRAINT calendar_blocks_range_valid CHECK (end_date > start_date)",
    "CREATE INDEX price_overrides_listing_start ON price_overrides (listing, start_date)",
    """ALTER TABLE price_overrides ADD CONSTRAINT price_overrides_valid
       CHECK (end_date > start_date AND nightly_price > 0)""",
    """ALTER TABLE listings ADD CONSTRAINT listings_sane CHECK (
         nightly_price > 0 AND cleaning_fee >= 0 AND min_nights >= 1 AND max_nights >= min_nights
         AND max_guests >= 1 AND bedrooms >= 0 AND beds >= 0 AND bathrooms >= 0
         AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180)""",
    # Search walks these in sort order and stops after a page of hits.
    "CREATE INDEX listings_search_city ON listings (city_key, nightly_price, id) WHERE status = 'published'",
    "CREATE INDEX listings_search_price ON listings (nightly_price, id) WHERE status = 'published'",
    """CREATE INDEX listings_search_geo ON listings USING gist (point(longitude, latitude))
       WHERE status = 'published'""",
    """CREATE INDEX listings_search_rating ON listings ((coalesce(rating_average, -1)) DESC, id)
       WHERE status = 'published'""",
    "CREATE INDEX listings_search_newest ON listings (published_at DESC, id DESC) WHERE status = 'published'",
    "CREATE INDEX listings_by_status ON listings (status, updated_at, id)",
    "INSERT INTO platform_settings (id) VALUES (1) ON CONFLICT DO NOTHING",
]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
