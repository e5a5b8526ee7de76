"""Radius search by grid cell: each listing carries the ~11 km cell its coordinates fall in,
set by the database on every insert and update, and an index walks one cell in price order."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "listing geo cells for radius search"

# Bands of 0.1° latitude; each band is cut into n cells of equal longitude, n shrinking towards the
# poles (1 - (lat/90)^2 stands in for cos(lat), in integers) so that cells stay 9-11 km wide.
# api.search.geo_cell is the same function in Python: keep the two identical.
STATEMENTS = [
    """CREATE FUNCTION listing_geo_cell(lat float8, lng float8) RETURNS integer
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
       RETURN (SELECT (b + 900) * 4000 + least(n - 1, greatest(0, floor((lng + 180) * n / 360)::integer))
               FROM (SELECT b, greatest(1, (3240000 - (2 * b + 1) * (2 * b + 1)) / 900) AS n
                     FROM (SELECT least(899, greatest(-900, floor(lat * 10)::integer)) AS b) band) cells)""",
    "ALTER TABLE listings ADD COLUMN geo_cell integer",
    """CREATE FUNCTION listings_set_geo_cell() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.geo_cell := listing_geo_cell(NEW.latitude, NEW.longitude);
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER listings_geo_cell BEFORE INSERT OR UPDATE OF latitude, longitude, geo_cell ON listings
       FOR EACH ROW EXECUTE FUNCTION listings_set_geo_cell()""",
    "UPDATE listings SET geo_cell = listing_geo_cell(latitude, longitude)",
    """CREATE INDEX listings_search_cell ON listings (geo_cell, nightly_price, id)
       WHERE status = 'published'""",
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
