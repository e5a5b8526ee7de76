"""The booking floor: what an instant booking costs this stack when its steps do nothing.

`BookingFloorWorkflow` takes the very commands of an instant booking's run (`workflows/booking.py`
as the API starts it; `bench/booking.py` prints both histories' shapes side by side): started by
update-with-start whose `place` update runs one local activity, then the search-attribute upsert,
two activities (authorize, capture), two local activities (invoice, confirm), the status upsert,
one local activity (record the notices), the delivery activity on the deliveries queue and the
durable timer until check-out (never fired in a run). Every activity returns at once; the
payloads are a few strings. `confirm` counts (the moment a real booking gets `confirmed_at`), and
the worker answers that count on `--counter-port` (one line per connection) for the load generator.

Two processes, started by `bench/booking.py` beside `stayflow dev`:

    python bench/booking_floor.py worker --address 127.0.0.1:7233 --counter-port 9999
    STAYFLOW_TEMPORAL_ADDRESS=127.0.0.1:7233 uvicorn --app-dir bench --factory booking_floor_api:create_app

The worker has `workers/main.py`'s settings (task slots, pollers, the sandboxed runner, a delivery
worker with the same slots, a versioned deployment of its own promoted the same way, Prometheus
metrics on); the app (`bench/booking_floor_api.py`) is a bare Litestar handler on one uvicorn
worker, like `stayflow api`, that runs the update-with-start the API runs. Nothing here is part of
the product.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.common import (
    VersioningBehavior,
    WorkerDeploymentVersion,
)

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client

    from workflows.policies import DB, DELIVERY_DEADLINE, DELIVERY_RETRY, PROVIDER_RETRY
    from workflows.search_attributes import BOOKING_ID, BOOKING_STATUS, GUEST_ID, HOST_ID, LISTING_ID

TASK_QUEUE = "stayflow-floor"
DEPLOYMENT = "stayflow-floor"
PLACE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class FloorRequest:
    booking_id: str
    listing_id: str
    guest_id: str
    host_id: str
    check_out_at: str


@dataclass(frozen=True)
class FloorPlacement:
    booking_id: str


class FloorActivities:
    """Each step of an instant booking, doing nothing; `confirm` counts."""

    def __init__(self) -> None:
        self.confirmed = 0

    @activity.defn(name="floor_place")
    async def place(self, placement: FloorPlacement) -> str:
        return "placed"

    @activity.defn(name="floor_authorize")
    async def authorize(self, booking_id: str) -> str:
        return "authorized"

    @activity.defn(name="floor_capture")
    async def capture(self, booking_id: str) -> str:
        return "captured"

    @activity.defn(name="floor_invoice")
    async def invoice(self, booking_id: str) -> list[str]:
        return ["invoice", "receipt"]

    @activity.defn(name="floor_confirm")
    async def confirm(self, booking_id: str) -> None:
        self.confirmed += 1

    @activity.defn(name="floor_notify")
    async def notify(self, booking_id: str) -> list[str]:
        return [f"{booking_id}-guest", f"{booking_id}-host", f"{booking_id}-receipt"]

    @activity.defn(name="floor_send")
    async def send(self, message_ids: list[str]) -> None:
        return None


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class BookingFloorWorkflow:
    @workflow.init
    def __init__(self, request: FloorRequest) -> None:
        self._placed: str | None = None
        self._placing = False
        self._deliveries: list[asyncio.Task[None]] = []

    def _local(self, name: str, arg: object) -> Any:
        return workflow.execute_local_activity(name, arg, start_to_close_timeout=DB)

    @workflow.run
    async def run(self, request: FloorRequest) -> str:
        status = await self._run(request)
        await asyncio.gather(*self._deliveries)
        return status

    async def _run(self, request: FloorRequest) -> str:
        await workflow.wait_condition(lambda: self._placed is not None, timeout=PLACE_WINDOW)
        workflow.upsert_search_attributes(
            [
                BOOKING_ID.value_set(request.booking_id),
                LISTING_ID.value_set(request.listing_id),
                GUEST_ID.value_set(request.guest_id),
                HOST_ID.value_set(request.host_id),
                BOOKING_STATUS.value_set("pending_payment"),
            ]
        )
        b = request.booking_id
        for step in ("floor_authorize", "floor_capture"):
            await workflow.execute_activity(step, b, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY)
        await self._local("floor_invoice", b)
        await self._local("floor_confirm", b)
        workflow.upsert_search_attributes([BOOKING_STATUS.value_set("confirmed")])
        message_ids = await self._local("floor_notify", b)
        self._deliveries.append(asyncio.create_task(self._deliver(message_ids)))
        until_check_out = dt.datetime.fromisoformat(request.check_out_at) - workflow.now()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: False, timeout=max(until_check_out, timedelta(seconds=1)))
        return "completed"

    async def _deliver(self, message_ids: list[str]) -> None:
        await workflow.execute_activity(
            "floor_send",
            message_ids,
            task_queue=f"{workflow.info().task_queue}-deliveries",
            start_to_close_timeout=DB * max(2, len(message_ids)),
            schedule_to_close_timeout=DELIVERY_DEADLINE,
            retry_policy=DELIVERY_RETRY,
        )

    @workflow.update
    async def place(self, placement: FloorPlacement) -> str:
        if not self._placing:
            self._placing = True
            self._placed = str(await self._local("floor_place", placement))
        await workflow.wait_condition(lambda: self._placed is not None)
        assert self._placed is not None
        return self._placed


# --- The worker ------------------------------------------------------------------------------


def floor_version() -> WorkerDeploymentVersion:
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return WorkerDeploymentVersion(deployment_name=DEPLOYMENT, build_id=f"floor-{digest}")


async def run_worker(address: str, counter_port: int, metrics_address: str | None) -> None:
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
    from temporalio.worker import Worker, WorkerDeploymentConfig

    from stayflow.versioning import DEFAULT_VERSIONING_BEHAVIOR, promote
    from workers.main import DELIVERY_SLOTS

    sys.dont_write_bytecode = False  # as workers/main.py
    runtime = None
    if metrics_address:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=metrics_address)))
    client = await Client.connect(address, runtime=runtime)
    deployment = WorkerDeploymentConfig(
        version=floor_version(), use_worker_versioning=True, default_versioning_behavior=DEFAULT_VERSIONING_BEHAVIOR
    )
    acts = FloorActivities()
    # workers/main.py's `build_worker`: the deliveries on their own queue and slots, and the main
    # worker with the same pollers; the workflow runs in the default (sandboxed) runner.
    deliveries = Worker(
        client,
        task_queue=f"{TASK_QUEUE}-deliveries",
        activities=[acts.send],
        deployment_config=deployment,
        max_concurrent_activities=DELIVERY_SLOTS,
    )
    main = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[BookingFloorWorkflow],
        activities=[acts.place, acts.authorize, acts.capture, acts.invoice, acts.confirm, acts.notify, acts.send],
        deployment_config=deployment,
        max_concurrent_workflow_task_polls=8,
        nonsticky_to_sticky_poll_ratio=1.0,
        max_concurrent_activity_task_polls=8,
    )

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"{acts.confirmed}\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", counter_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with deliveries, main:
        await promote(client, floor_version(), wait_seconds=60)
        print("floor worker ready", flush=True)
        await stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run the floor's worker")
    worker.add_argument("--address", required=True, help="the Temporal frontend, host:port")
    worker.add_argument("--counter-port", type=int, required=True, help="answers the confirmed count here")
    worker.add_argument("--metrics-address", help="Prometheus bind address, as STAYFLOW_WORKER_METRICS_ADDRESS")
    args = parser.parse_args()
    asyncio.run(run_worker(args.address, args.counter_port, args.metrics_address))


if __name__ == "__main__":
    # The sandbox re-imports a workflow's module by name: run the worker from `booking_floor`, not
    # `__main__` (bench/booking.py puts the repository and bench/ on PYTHONPATH).
    import booking_floor

    booking_floor.main()
