"""Who may review what, and when (SPEC §7). Pure functions."""

from __future__ import annotations

import datetime as dt

from stayflow.rules.roles import Role

CATEGORIES = ("cleanliness", "accuracy", "communication", "location", "check_in", "value")
"""What a guest rates the stay on, besides the overall rating."""

REMINDER_DAYS = (1, 7)
"""Days after check-out on which whoever has not written is reminded."""


def window_closes(completed_at: dt.datetime, window_days: int) -> dt.datetime:
    return completed_at + dt.timedelta(days=window_days)


def review_problem(*, status: str, completed_at: dt.datetime | None, now: dt.datetime, window_days: int) -> str | None:
    """Why no review can be written now (None: it can)."""
    if status != "completed" or completed_at is None:
        return "reviews open after check-out, when the stay is completed"
    if now >= window_closes(completed_at, window_days):
        return f"the {window_days}-day review window has closed"
    return None


def categories_problem(role: Role, categories: dict[str, int] | None) -> str | None:
    if role == Role.host:
        return "a host's review of a guest has no categories" if categories else None
    if categories is None or set(categories) != set(CATEGORIES):
        return "a guest's review rates every category: " + ", ".join(CATEGORIES)
    if any(not 1 <= value <= 5 for value in categories.values()):
        return "every category is rated 1 to 5"
    return None
