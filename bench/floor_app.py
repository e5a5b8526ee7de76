"""The search floor: a bare Litestar handler that builds Stayflow's very statement
(`api.search.build_search_sql`) and runs it on a raw asyncpg pool with the API's pool size and
server settings. Nothing else (no auth, middleware, photo URLs or response Structs), so what
Stayflow serves as a share of this is what its own code costs on top of the database.

    STAYFLOW_DATABASE_URL=... uvicorn --app-dir bench --factory floor_app:create_app
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import AsyncGenerator
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, get
from litestar.response import Response

POOL: dict[str, asyncpg.Pool] = {}


def to_query(params: dict[str, str]) -> Any:
    """A `SearchQuery` from the query string, through the API's own parser."""
    from api.listings.search import search_query_from_params

    def date(name: str) -> dt.date | None:
        return dt.date.fromisoformat(params[name]) if name in params else None

    def integer(name: str) -> int | None:
        return int(params[name]) if name in params else None

    return search_query_from_params(
        city=params.get("city"),
        country=params.get("country"),
        near=params.get("near"),
        radius_km=float(params.get("radius_km", 10.0)),
        min_price=integer("min_price"),
        max_price=integer("max_price"),
        guests=integer("guests"),
        amenities=params.get("amenities"),
        check_in=date("check_in"),
        check_out=date("check_out"),
        instant_book=None,
        sort=params.get("sort", "price_asc"),  # type: ignore[arg-type]
        limit=int(params.get("limit", 20)),
        cursor=params.get("cursor"),
    )


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/api/v1/listings")
async def listings(request: Request[Any, Any, Any]) -> Response[bytes]:
    from api.listings.search import build_search_sql

    q = to_query(dict(request.query_params))
    statement, args = build_search_sql(q)
    async with POOL["search"].acquire() as conn:
        rows = await conn.fetch(statement, *args)
    body = {"items": [dict(r) for r in rows[: q.limit]], "next_cursor": None}
    return Response(msgspec.json.encode(body), media_type="application/json")


def create_app() -> Litestar:
    from piccolo_conf import DB

    @contextlib.asynccontextmanager
    async def pool(_: Litestar) -> AsyncGenerator[None, None]:
        POOL["search"] = await asyncpg.create_pool(
            os.environ["STAYFLOW_DATABASE_URL"],
            min_size=1,
            max_size=20,  # as api.app's database_pool
            server_settings=DB.config.get("server_settings") or {},
        )
        try:
            yield
        finally:
            await POOL.pop("search").close()

    return Litestar([health, listings], lifespan=[pool], openapi_config=None)
