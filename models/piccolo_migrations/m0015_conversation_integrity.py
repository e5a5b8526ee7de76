"""One conversation per booking and one inquiry per listing and guest; gapless message numbers;
the inbox and the message pages served from indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T05:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversation integrity and indexes"

STATEMENTS = [
    "ALTER TABLE conversations ALTER COLUMN listing SET NOT NULL",
    "ALTER TABLE conversations ALTER COLUMN host SET NOT NULL",
    "ALTER TABLE conversations ALTER COLUMN guest SET NOT NULL",
    "ALTER TABLE conversations ADD CONSTRAINT conversations_two_people CHECK (host <> guest)",
    "ALTER TABLE conversations ADD CONSTRAINT conversations_read_markers CHECK "
    "(host_last_read_seq BETWEEN 0 AND last_seq AND guest_last_read_seq BETWEEN 0 AND last_seq)",
    "CREATE UNIQUE INDEX conversations_one_per_booking ON conversations (booking) WHERE booking IS NOT NULL",
    "CREATE UNIQUE INDEX conversations_one_inquiry ON conversations (listing, guest) WHERE booking IS NULL",
    "CREATE INDEX conversations_inbox_host ON conversations (host, last_message_at DESC, id DESC)",
    "CREATE INDEX conversations_inbox_guest ON conversations (guest, last_message_at DESC, id DESC)",
    "ALTER TABLE conversation_messages ALTER COLUMN conversation SET NOT NULL",
    "ALTER TABLE conversation_messages ALTER COLUMN sender SET NOT NULL",
    "ALTER TABLE conversation_messages ADD CONSTRAINT conversation_messages_body CHECK "
    "(char_length(body) BETWEEN 1 AND 4000)",
    "CREATE UNIQUE INDEX conversation_messages_seq ON conversation_messages (conversation, seq)",
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
