"""Phones verified by a code sent by SMS (issue 12 item 10): no SMS goes to a number its owner has
not proved is theirs. The code is kept only as its SHA-256, with its expiry and the wrong tries."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "phone verification"

STATEMENTS = [
    "ALTER TABLE users ADD COLUMN phone_verified_at TIMESTAMPTZ NULL DEFAULT NULL",
    "ALTER TABLE users ADD COLUMN phone_code_hash VARCHAR(64) NULL DEFAULT NULL",
    "ALTER TABLE users ADD COLUMN phone_code_expires_at TIMESTAMPTZ NULL DEFAULT NULL",
    "ALTER TABLE users ADD COLUMN phone_code_attempts INTEGER NOT NULL DEFAULT 0",
    # The per-day SMS cap counts an account's SMS of the last 24 hours.
    "CREATE INDEX IF NOT EXISTS messages_sms_per_user ON messages (\"user\", created_at) WHERE channel = 'sms'",
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
