"""Calendar sync: each listing's export token, the feeds it imports, and the feed of a block."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar sync: export tokens, imported feeds, feed blocks"

STATEMENTS = [
    """CREATE TABLE calendar_feeds (
           id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
           listing uuid NOT NULL REFERENCES listings (id) ON DELETE CASCADE ON UPDATE CASCADE,
           url varchar(2000) NOT NULL,
           name varchar(80) NOT NULL DEFAULT '',
           status varchar(10) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'failed')),
           last_fetched_at timestamptz,
           last_success_at timestamptz,
           last_error text,
           events_skipped integer NOT NULL DEFAULT 0,
           conflicts jsonb NOT NULL DEFAULT '[]',
           created_at timestamptz NOT NULL DEFAULT now(),
           CONSTRAINT calendar_feeds_one_per_url UNIQUE (listing, url)
       )""",
    "CREATE INDEX calendar_feeds_listing ON calendar_feeds (listing)",
    """CREATE TABLE listing_calendar_tokens (
           id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
           listing uuid NOT NULL UNIQUE REFERENCES listings (id) ON DELETE CASCADE ON UPDATE CASCADE,
           token varchar(64) NOT NULL UNIQUE,
           rotated_at timestamptz NOT NULL DEFAULT now()
       )""",
    # Deleting a feed frees its nights with it.
    """ALTER TABLE calendar_blocks
           ADD COLUMN feed uuid REFERENCES calendar_feeds (id) ON DELETE CASCADE ON UPDATE CASCADE""",
    "CREATE INDEX calendar_blocks_feed ON calendar_blocks (feed) WHERE feed IS NOT NULL",
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
