"""Listing-local time (issue 11): a listing's IANA time zone and check-in/out times, backfilled
from its coordinates; bookings made before their terms were frozen get the terms they were
made under (the listing's policy, the platform's rates, 15:00/11:00 UTC); and each change keeps
what cancelling the booking would have refunded when it was asked (the composing rule's bound)."""


from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:22:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "listing time zones and check-in/out times"

STATEMENTS = [
    "ALTER TABLE listings ADD COLUMN time_zone VARCHAR(64) NOT NULL DEFAULT 'UTC'",
    "ALTER TABLE listings ADD COLUMN check_in_time VARCHAR(5) NOT NULL DEFAULT '15:00'",
    "ALTER TABLE listings ADD COLUMN check_out_time VARCHAR(5) NOT NULL DEFAULT '11:00'",
    "ALTER TABLE listings ADD CONSTRAINT listings_check_times_hhmm CHECK ("
    " check_in_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' AND check_out_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$')",
    "ALTER TABLE booking_changes ADD COLUMN refund_when_asked INTEGER NULL DEFAULT NULL",
]

BACKFILL = [
    """UPDATE bookings b SET terms = jsonb_build_object(
         'cancellation_policy', l.cancellation_policy, 'guest_fee_bps', p.service_fee_bps,
         'host_fee_bps', p.host_fee_bps, 'tax_bps', p.tax_bps, 'currency', b.currency,
         'time_zone', 'UTC', 'check_in_time', '15:00', 'check_out_time', '11:00')
       FROM listings l, (SELECT * FROM platform_settings LIMIT 1) p
      WHERE b.terms IS NULL AND l.id = b.listing""",
]


class RawTable(Table):
    pass


async def backfill() -> None:
    """Existing bookings get the terms they were made under; listings the zone of their coordinates."""
    from stayflow.time_zones import zone_of_coordinates

    for statement in BACKFILL:
        await RawTable.raw(statement)
    rows = await RawTable.raw("SELECT id, latitude, longitude FROM listings WHERE time_zone = 'UTC'")
    zones: dict[str, list[str]] = {}
    for row in rows:
        zones.setdefault(zone_of_coordinates(row["latitude"], row["longitude"]), []).append(str(row["id"]))
    for name, ids in zones.items():
        if name != "UTC":
            await RawTable.raw("UPDATE listings SET time_zone = {} WHERE id = ANY({}::uuid[])", name, ids)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)
        await backfill()

    manager.add_raw(run)
    return manager
