"""The floor's API: a bare Litestar handler on one uvicorn worker (like `stayflow api`) that
decodes the booking body and runs the update-with-start `api.bookings.service` runs (same id
policies, memo and summary) for `bench/booking_floor.py`'s workflow. Nothing else (no auth,
pricing, database or response Structs).

    STAYFLOW_TEMPORAL_ADDRESS=127.0.0.1:7233 uvicorn --app-dir bench --factory booking_floor_api:create_app
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from booking_floor import TASK_QUEUE, BookingFloorWorkflow, FloorPlacement, FloorRequest
from litestar import Litestar, Request, get, post
from litestar.response import Response
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy


class FloorBookingBody(msgspec.Struct):
    listing_id: str
    check_in: str
    check_out: str
    guests: int
    payment_method: str


TEMPORAL: dict[str, Client] = {}


@get("/ready", sync_to_thread=False)
def ready() -> dict[str, str]:
    return {"status": "ok"}


@post("/api/v1/bookings")
async def book(request: Request[Any, Any, Any]) -> Response[bytes]:
    """What `api.bookings.service.create_booking` does with Temporal, with nothing around it."""
    body = msgspec.json.decode(await request.body(), type=FloorBookingBody)
    key = request.headers.get("idempotency-key") or uuid.uuid4().hex
    digest = hashlib.sha256(key.encode() + b"\0" + body.listing_id.encode()).hexdigest()
    booking_id = str(uuid.uuid5(uuid.NAMESPACE_URL, key))
    check_out_at = dt.datetime.fromisoformat(body.check_out).replace(hour=10, tzinfo=dt.UTC).isoformat()
    start = WithStartWorkflowOperation(
        BookingFloorWorkflow.run,
        FloorRequest(booking_id, body.listing_id, key[:32], "floor-host", check_out_at),
        id=f"booking-floor-{booking_id}",
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        memo={"request_hash": digest},
        static_summary=f"Floor booking of {body.listing_id}, {body.check_in} to {body.check_out}",
    )
    outcome = await asyncio.wait_for(
        TEMPORAL["client"].execute_update_with_start_workflow(
            BookingFloorWorkflow.place, FloorPlacement(booking_id), start_workflow_operation=start,
            id=f"place-{digest[:32]}",
        ),
        timeout=10,
    )  # fmt: skip
    return Response(
        msgspec.json.encode({"id": booking_id, "status": "pending_payment"}),
        status_code=201 if outcome == "placed" else 409,
        media_type="application/json",
    )


def create_app() -> Litestar:
    @contextlib.asynccontextmanager
    async def temporal(_: Litestar) -> AsyncGenerator[None, None]:
        TEMPORAL["client"] = await Client.connect(os.environ["STAYFLOW_TEMPORAL_ADDRESS"])
        yield

    return Litestar([ready, book], lifespan=[temporal], openapi_config=None)
