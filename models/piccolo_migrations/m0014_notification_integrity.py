"""One preference per user, kind and channel; the feed read newest first and its unread count."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T05:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification preference uniqueness; feed and unread indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX notification_preferences_one_per_choice ON notification_preferences ("user", kind, channel)',
    'CREATE INDEX notifications_feed ON notifications ("user", created_at DESC, id DESC)',
    'CREATE INDEX notifications_unread ON notifications ("user") WHERE read_at IS NULL',
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
