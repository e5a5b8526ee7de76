"""How much one account may post: messages, new conversations, reports and reviews. Counted in
PostgreSQL (`api.throttle`), so every API process sees the same count; past a limit, 429 with
Retry-After. Generous for a person, tight for a script spamming hosts or the moderation queue."""

from __future__ import annotations

from uuid import UUID

from api.throttle import throttle

HOUR = 3600
DAY = 24 * HOUR
POSTING_LIMITS: dict[str, tuple[int, int]] = {
    "message": (120, HOUR),
    "conversation": (20, HOUR),
    "report": (10, DAY),
    "review": (20, DAY),
}
"""action -> (posts, per seconds), per account."""


async def count_post(user_id: UUID, action: str) -> None:
    limit, window = POSTING_LIMITS[action]
    await throttle(
        f"post:{action}:{user_id}",
        limit=limit,
        window_seconds=window,
        detail=f"You have reached the limit of {limit} {action}s per {window // HOUR} hours; try again later.",
    )
