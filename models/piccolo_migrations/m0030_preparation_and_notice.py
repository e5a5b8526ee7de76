"""Preparation time and minimum notice (issue 13 item 4): the nights a host keeps free before and
after each stay (0-2) and how many days ahead of the listing's local today a stay may begin (0-7).
Existing listings get 0 and 0: nothing about their calendars changes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "listing preparation time and minimum notice"

STATEMENTS = [
    "ALTER TABLE listings ADD COLUMN preparation_days INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE listings ADD COLUMN min_notice_days INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE listings ADD CONSTRAINT listings_preparation_days_range CHECK (preparation_days BETWEEN 0 AND 2)",
    "ALTER TABLE listings ADD CONSTRAINT listings_min_notice_days_range CHECK (min_notice_days BETWEEN 0 AND 7)",
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
