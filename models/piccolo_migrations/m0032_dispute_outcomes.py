"""What a dispute cost: Stripe's dispute fee, what it took back from the host's earnings, when it
closed; and the admins' list of disputes, newest first, by (created_at, id)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:32:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "dispute fees, host recovery and closing time"

STATEMENTS = [
    "ALTER TABLE disputes ADD COLUMN fee INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0)",
    "ALTER TABLE disputes ADD COLUMN recovered_from_host INTEGER NOT NULL DEFAULT 0 CHECK (recovered_from_host >= 0)",
    "ALTER TABLE disputes ADD COLUMN closed_at TIMESTAMPTZ NULL DEFAULT NULL",
    "ALTER TABLE disputes ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now()",
    "CREATE INDEX disputes_created ON disputes (created_at, id)",
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
