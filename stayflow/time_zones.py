"""A listing's IANA time zone from its coordinates, when the host gives none.

`timezonefinder` looks the point up in the timezone-boundary-builder polygons shipped with the
package (offline, no service). At sea or on a boundary gap it answers an `Etc/GMT±N` zone or
nothing; nothing becomes UTC.
"""

from __future__ import annotations

from functools import cache

from timezonefinder import TimezoneFinder

from stayflow.rules.stays import zone


@cache
def _finder() -> TimezoneFinder:
    return TimezoneFinder()  # loads its data once per process


def zone_of_coordinates(latitude: float, longitude: float) -> str:
    name = _finder().timezone_at(lat=latitude, lng=longitude)
    if not name:
        return "UTC"
    try:
        zone(name)
    except ValueError:
        return "UTC"  # a zone this machine's tz database does not know
    return name
