"""One review per author per booking; ratings 1 to 5."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T03:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "review integrity"

STATEMENTS = [
    "CREATE UNIQUE INDEX reviews_one_per_author ON reviews (booking, author)",
    "ALTER TABLE reviews ADD CONSTRAINT reviews_rating_range CHECK (rating BETWEEN 1 AND 5)",
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
