"""Pricing rules (issue 13 item 3): weekly and monthly discounts, a weekend price and an
extra-guest fee on each listing, and seasons with their own minimum stay. Every existing listing
gets no discount, no weekend price and no extra-guest fee: its prices stay what they were."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:29:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "listing pricing rules and seasons"

STATEMENTS = [
    "ALTER TABLE listings ADD COLUMN weekly_discount_percent INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE listings ADD COLUMN monthly_discount_percent INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE listings ADD COLUMN weekend_price INTEGER NULL DEFAULT NULL",
    "ALTER TABLE listings ADD COLUMN guests_included INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE listings ADD COLUMN extra_guest_fee INTEGER NOT NULL DEFAULT 0",
    """ALTER TABLE listings ADD CONSTRAINT listings_pricing_rules CHECK (
           weekly_discount_percent BETWEEN 0 AND 100
           AND monthly_discount_percent BETWEEN 0 AND 100
           AND (monthly_discount_percent = 0 OR weekly_discount_percent <= monthly_discount_percent)
           AND (weekend_price IS NULL OR weekend_price > 0)
           AND guests_included >= 1
           AND extra_guest_fee >= 0)""",
    """CREATE TABLE listing_seasons (
           id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
           listing uuid NOT NULL REFERENCES listings (id) ON DELETE CASCADE ON UPDATE CASCADE,
           start_date date NOT NULL,
           end_date date NOT NULL,
           min_nights integer NOT NULL CHECK (min_nights >= 1),
           CONSTRAINT listing_seasons_forwards CHECK (end_date > start_date),
           CONSTRAINT listing_seasons_no_overlap
               EXCLUDE USING gist (listing WITH =, daterange(start_date, end_date) WITH &&)
       )""",
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
