"""Per-account throttles kept in PostgreSQL, so every API process counts the same attempts.

Per-IP limits use Litestar's rate-limit middleware; this adds the limit an attacker cannot
dodge by switching IPs: attempts against one account.
"""

from __future__ import annotations

import math
import time

from api.errors import Problem
from models import RateLimitBucket

_HIT_SQL = """
INSERT INTO rate_limit_buckets (key, window_start, hits)
VALUES ({}, to_timestamp({}), 1)
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN rate_limit_buckets.window_start = EXCLUDED.window_start
              THEN rate_limit_buckets.hits + 1 ELSE 1 END,
  window_start = EXCLUDED.window_start
RETURNING hits
"""


async def throttle(
    key: str,
    *,
    limit: int,
    window_seconds: int,
    detail: str = "Too many attempts for this account; wait before trying again.",
) -> None:
    """Count one attempt for `key`; past `limit` in the current window, answer 429."""
    now = time.time()
    window_start = math.floor(now / window_seconds) * window_seconds
    rows = await RateLimitBucket.raw(_HIT_SQL, key, window_start)
    if rows[0]["hits"] > limit:
        retry_after = max(1, math.ceil(window_start + window_seconds - now))
        raise Problem(
            429,
            detail,
            headers={"Retry-After": str(retry_after)},
        )
