"""Where a home is, as shown to people who have not booked it (SPEC §5, issue 12 item 13).

Everyone but the host, admins and guests with a confirmed stay sees an approximate point: the
true point moved by a fixed offset of up to ~550 m (chosen by the listing's id, so every read
gives the same point and averaging many reads learns nothing), then rounded to 0.01° (~1.1 km
of latitude). The street address is not shown at all.
"""

from __future__ import annotations

import hashlib
import math
from uuid import UUID

APPROXIMATE_DECIMALS = 2
MAX_OFFSET_DEGREES = 0.005
"""At most ~550 m north or south (less east or west, scaled by latitude)."""


def approximate_point(listing_id: UUID, latitude: float, longitude: float) -> tuple[float, float]:
    digest = hashlib.sha256(b"stayflow-location:" + listing_id.bytes).digest()
    north = (int.from_bytes(digest[:4]) / 0xFFFFFFFF * 2 - 1) * MAX_OFFSET_DEGREES
    east = (int.from_bytes(digest[4:8]) / 0xFFFFFFFF * 2 - 1) * MAX_OFFSET_DEGREES
    east /= max(math.cos(math.radians(latitude)), 0.1)  # the same distance east as north
    lat = min(max(latitude + north, -90.0), 90.0)
    lng = (longitude + east + 180.0) % 360.0 - 180.0
    return round(lat, APPROXIMATE_DECIMALS), round(lng, APPROXIMATE_DECIMALS)
