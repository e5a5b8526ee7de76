"""Trust and safety (issue 12): an account's email is verified before it may book.

Accounts that existed before this migration count as verified (they predate the rule).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:26:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "email verification"

STATEMENTS = [
    "ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ NULL DEFAULT NULL",
    "ALTER TABLE users ADD COLUMN email_verification_hash VARCHAR(64) NULL DEFAULT NULL",
    "CREATE UNIQUE INDEX users_email_verification_hash ON users (email_verification_hash)",
    "UPDATE users SET email_verified_at = created_at",
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
