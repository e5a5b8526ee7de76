"""Cursor pagination: `?limit=&cursor=` in, `{"items": [...], "next_cursor": ...}` out.

A cursor is the sort key of the last item served, opaque to clients (URL-safe base64 of a
JSON array). Keyset pagination stays fast and stable while rows are being added.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import msgspec
from litestar.params import QueryParameter

from api.errors import Problem, field_errors

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]
"""`?limit=`: every list takes it, with `= DEFAULT_LIMIT`."""
Cursor = Annotated[str | None, QueryParameter(description="`next_cursor` of the previous page")]
"""`?cursor=`: every list takes it, with `= None`."""


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*key: Any) -> str:
    """The sort key of the last item served, as an opaque cursor (`decode_cursor` reads it back)."""
    values = [_cursor_value(v) for v in key]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _cursor_value(value: Any) -> Any:
    if isinstance(value, str | int | float):
        return value
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def decode_cursor(
    cursor: str, read_key: Callable[..., T], *, detail: str = "The cursor is not one this API gave out."
) -> T:
    """The key `encode_cursor` packed, passed to `read_key` (which raises ValueError or TypeError for
    a key it does not accept); 400 for anything that is not a cursor this API gave out."""
    try:
        values = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if not isinstance(values, list):
            raise TypeError("not a list")
        return read_key(*values)
    except (ValueError, TypeError, OverflowError, binascii.Error, json.JSONDecodeError) as exc:
        raise Problem(400, detail, errors=field_errors(("cursor", "invalid"))) from exc


def aware_timestamp(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("naive timestamp")
    return moment.astimezone(dt.UTC)


def _timestamp_and_id(when: Any, ident: Any) -> tuple[dt.datetime, UUID]:
    return aware_timestamp(when), UUID(str(ident))


def decode_timestamp_id_cursor(cursor: str | None) -> tuple[dt.datetime, UUID] | None:
    """For lists ordered by (created_at, id)."""
    return None if cursor is None else decode_cursor(cursor, _timestamp_and_id)


def page_of(
    rows: Sequence[Any], limit: int, to_item: Callable[[Any], T], key: Callable[[Any], tuple[Any, ...]]
) -> Page[T]:
    """`rows` were fetched with `limit + 1`: the extra row only says that there is more."""
    more = len(rows) > limit
    shown = list(rows[:limit])
    return Page(
        items=[to_item(r) for r in shown],
        next_cursor=encode_cursor(*key(shown[-1])) if more and shown else None,
    )


async def keyset(
    query: Any, *, time_column: Any, id_column: Any, limit: int, cursor: str | None, newest_first: bool = False
) -> tuple[list[Any], str | None]:
    """Run `query` (piccolo select or objects) one page at a time, ordered by (time, id).
    Returns the page's rows and the cursor of the next page."""
    after = decode_timestamp_id_cursor(cursor)
    if after is not None:
        when, ident = after
        if newest_first:
            query = query.where((time_column < when) | ((time_column == when) & (id_column < ident)))
        else:
            query = query.where((time_column > when) | ((time_column == when) & (id_column > ident)))
    rows = await query.order_by(time_column, id_column, ascending=not newest_first).limit(limit + 1)
    time_name, id_name = time_column._meta.name, id_column._meta.name

    def key(row: Any) -> tuple[Any, ...]:
        if isinstance(row, dict):
            return (row[time_name], row[id_name])
        return (getattr(row, time_name), getattr(row, id_name))

    page = page_of(rows, limit, lambda r: r, key)
    return page.items, page.next_cursor


INT4_MAX = 2**31 - 1
"""The largest value of a PostgreSQL `integer` column (message numbers are one)."""


def _number(number: Any) -> int:
    value = int(str(number))
    if not 0 <= value <= INT4_MAX:  # beyond a column's range asyncpg raises, never a 4xx
        raise ValueError("number out of range")
    return value


def decode_number_cursor(cursor: str | None) -> int | None:
    """For lists ordered by one integer (a conversation's message numbers)."""
    return None if cursor is None else decode_cursor(cursor, _number)
