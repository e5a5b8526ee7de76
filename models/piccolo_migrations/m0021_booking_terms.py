"""A booking's terms, frozen when it is made (cancellation policy, fee and tax rates, currency,
the listing's time zone and check-in/out times), and the platform's host service fee."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "booking terms and host fee"

STATEMENTS = [
    "ALTER TABLE bookings ADD COLUMN terms JSONB NULL DEFAULT NULL",
    "ALTER TABLE platform_settings ADD COLUMN host_fee_bps INTEGER NOT NULL DEFAULT 300",
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
