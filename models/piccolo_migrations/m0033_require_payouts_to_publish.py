"""The platform setting `require_payouts_to_publish`: whether a listing may be submitted or
published while its host's Stripe account cannot be paid. NULL (never set by an admin) follows the
deployment: on in production, off in dev and test (`stayflow.rules.payouts.payouts_required_to_publish`)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "require payouts to publish"

STATEMENTS = ["ALTER TABLE platform_settings ADD COLUMN require_payouts_to_publish BOOLEAN NULL DEFAULT NULL"]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
