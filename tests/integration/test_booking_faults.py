"""Fault injection on the booking's start (issue 15): the API killed with SIGKILL while a POST is
under way, Temporal frozen (SIGSTOP) during a POST, PostgreSQL dropping every connection while
bookings are made. Each test runs its own Temporal dev server (so freezing it touches no other
test), the real worker and the real Stripe SDK against the local fake Stripe, and asserts what a
guest and an operator would notice: no booking without its workflow, a retry with the same
Idempotency-Key gets the booking and it settles, no night held by nothing, one charge."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import psutil
import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.bookings.service import booking_id_for
from models import Booking, Payment
from stayflow.devstack import SEARCH_ATTRIBUTES, free_port
from stayflow.settings import Settings, load_settings
from stayflow.versioning import deployment_version, promote
from tests.conftest import venv_binary
from tests.factories import SignedIn, make_listing, signed_in_user
from tests.helpers import api_client, book, stay, wait_status
from workers.main import build_worker
from workflows.booking import booking_workflow_id

pytestmark = pytest.mark.e2e


class OwnTemporal:
    def __init__(self, env: WorkflowEnvironment, process: psutil.Process) -> None:
        self.env, self.process = env, process

    @property
    def client(self) -> Client:
        return self.env.client


@pytest.fixture
async def own_temporal() -> AsyncIterator[OwnTemporal]:
    """A Temporal dev server of this test alone (the one it freezes)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
    )
    await promote(env.client, deployment_version(load_settings()), allow_no_pollers=True)
    port = env.client.service_client.config.target_host.rsplit(":", 1)[1]
    [server] = [
        p for p in psutil.Process().children(recursive=True) if "start-dev" in p.cmdline() and port in p.cmdline()
    ]
    try:
        yield OwnTemporal(env, server)
    finally:
        if server.status() == psutil.STATUS_STOPPED:
            server.resume()
        await env.shutdown()


async def orphans(client: Client) -> list[str]:
    """Bookings whose workflow does not exist: what must never be."""
    missing = []
    for row in await Booking.select(Booking.id):
        try:
            await client.get_workflow_handle(booking_workflow_id(row["id"])).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            missing.append(str(row["id"]))
    return missing


async def settle(client: httpx.AsyncClient, guest: SignedIn, body: dict[str, Any], key: str) -> httpx.Response:
    """The client's side of the contract: repeat with the same key while the answer is 5xx."""
    deadline = time.monotonic() + 60
    while True:
        response = await book(client, guest, body, key)
        if response.status_code < 500:
            return response
        assert time.monotonic() < deadline, response.text
        await asyncio.sleep(0.5)


def authorizations(fake_stripe: Any) -> int:
    return len(fake_stripe.calls("POST", "/v1/payment_intents"))


async def test_a_post_while_temporal_is_frozen_answers_503_in_bounded_time_and_its_retry_settles(
    own_temporal: OwnTemporal, api_settings: Settings, fake_stripe: Any
) -> None:
    listing = await make_listing(instant_book=True)
    async with (
        build_worker(own_temporal.client, api_settings),
        api_client(create_app(api_settings, temporal_client=own_temporal.client)) as client,
    ):
        guest = await signed_in_user(client)
        key, body = str(uuid.uuid4()), stay(listing)
        own_temporal.process.suspend()
        try:
            began = time.monotonic()
            frozen = await book(client, guest, body, key)
            waited = time.monotonic() - began
            assert await orphans_while_frozen() == 0
        finally:
            own_temporal.process.resume()
        assert frozen.status_code == 503, frozen.text
        assert waited < 15, f"the answer took {waited:.1f} s"
        assert "same Idempotency-Key" in frozen.json()["detail"] and frozen.headers["Retry-After"]
        retried = await settle(client, guest, body, key)
        assert retried.status_code == 201, retried.text
        assert retried.json()["id"] == str(booking_id_for(guest.user.id, key))
        await wait_status(retried.json()["id"], "confirmed", timeout=60)
        again = await book(client, guest, body, key)
        assert again.status_code == 201 and again.json()["id"] == retried.json()["id"]
    assert await Booking.count() == 1 and await Payment.count() == 1
    assert await orphans(own_temporal.client) == []
    assert authorizations(fake_stripe) == 1 and len(fake_stripe.calls("POST", "/capture")) == 1


async def orphans_while_frozen() -> int:
    """While Temporal is frozen nothing may be stored: the only writer of a booking is its run."""
    return await Booking.count()


class ApiProcess:
    """`stayflow api` (uvicorn) in a subprocess, on this test's database, Temporal and task queue."""

    def __init__(self, settings: Settings, temporal: Client) -> None:
        self.port = free_port()
        self.env = os.environ | {
            "STAYFLOW_API_PORT": str(self.port),
            "STAYFLOW_TEMPORAL_ADDRESS": temporal.service_client.config.target_host,
            "STAYFLOW_TASK_QUEUE": settings.task_queue,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stayflow.cli", "api"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as probe:
            while True:
                try:
                    if (await probe.get(f"{self.url}/ready", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert self.process.poll() is None and time.monotonic() < deadline, "the API did not come up"
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


async def test_the_api_killed_while_placing_leaves_no_orphan_and_the_retry_settles(
    own_temporal: OwnTemporal, api_settings: Settings, fake_stripe: Any
) -> None:
    listing = await make_listing(instant_book=True)
    api = ApiProcess(api_settings, own_temporal.client)
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as remote:
            guest = await signed_in_user(remote)
            key, body = str(uuid.uuid4()), stay(listing)
            booking_id = booking_id_for(guest.user.id, key)
            # No worker yet: the request is accepted (the run exists), the API is killed before the answer.
            posting = asyncio.create_task(book(remote, guest, body, key))
            handle = own_temporal.client.get_workflow_handle(booking_workflow_id(booking_id))
            deadline = time.monotonic() + 15
            while True:
                try:
                    await handle.describe()
                    break
                except RPCError:
                    assert time.monotonic() < deadline, "the booking's run was never started"
                    await asyncio.sleep(0.05)
            api.kill()
            with pytest.raises(httpx.HTTPError):
                await posting
    finally:
        if api.process and api.process.poll() is None:
            api.kill()
    assert await Booking.count() == 0, "a booking row without the answer its run gives"
    async with (
        build_worker(own_temporal.client, api_settings),
        api_client(create_app(api_settings, temporal_client=own_temporal.client)) as client,
    ):
        # The run takes the request it was started with; the guest's retry joins it.
        retried = await settle(client, guest, body, key)
        assert retried.status_code == 201, retried.text
        assert retried.json()["id"] == str(booking_id)
        await wait_status(str(booking_id), "confirmed", timeout=60)
    assert await Booking.count() == 1 and await orphans(own_temporal.client) == []
    assert authorizations(fake_stripe) == 1 and len(fake_stripe.calls("POST", "/capture")) == 1


async def test_api_killed_at_random_points_of_many_posts_no_orphans_every_retry_settles(
    own_temporal: OwnTemporal, api_settings: Settings, fake_stripe: Any
) -> None:
    rounds = 4
    listings = [await make_listing(instant_book=True, title=f"Kill round home {i}") for i in range(rounds)]
    api = ApiProcess(api_settings, own_temporal.client)
    asked: list[tuple[SignedIn, dict[str, Any], str]] = []
    rng = random.Random(15)
    async with build_worker(own_temporal.client, api_settings):
        for listing in listings:
            await api.start()
            try:
                async with httpx.AsyncClient(base_url=api.url, timeout=30) as remote:
                    guest = await signed_in_user(remote)
                    body, key = stay(listing), str(uuid.uuid4())
                    asked.append((guest, body, key))
                    posting = asyncio.create_task(book(remote, guest, body, key))
                    await asyncio.sleep(rng.uniform(0.0, 0.4))
                    api.kill()
                    await asyncio.gather(posting, return_exceptions=True)
            finally:
                if api.process and api.process.poll() is None:
                    api.kill()
            assert await orphans(own_temporal.client) == []  # right after the kill, before any retry
        async with api_client(create_app(api_settings, temporal_client=own_temporal.client)) as client:
            ids = set()
            for guest, body, key in asked:
                retried = await settle(client, guest, body, key)
                assert retried.status_code == 201, retried.text
                ids.add(retried.json()["id"])
            for booking_id in ids:
                await wait_status(booking_id, "confirmed", timeout=60)
    assert len(ids) == rounds and await Booking.count() == rounds
    assert await orphans(own_temporal.client) == []
    assert authorizations(fake_stripe) == rounds and len(fake_stripe.calls("POST", "/capture")) == rounds


async def test_postgresql_dropping_connections_mid_request_leaves_no_orphan(
    own_temporal: OwnTemporal, api_settings: Settings, fake_stripe: Any
) -> None:
    listings = [await make_listing(instant_book=True, title=f"Dropped connection home {i}") for i in range(6)]
    admin = await asyncpg.connect(os.environ["STAYFLOW_DATABASE_URL"])
    stop = asyncio.Event()

    async def drop_connections() -> None:
        """Every other backend of this database killed every 150 ms: what a PostgreSQL restart does to them."""
        while not stop.is_set():
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(0.15)

    try:
        async with (
            build_worker(own_temporal.client, api_settings),
            api_client(create_app(api_settings, temporal_client=own_temporal.client)) as client,
        ):
            asked = [(await signed_in_user(client), stay(listing), str(uuid.uuid4())) for listing in listings]
            dropping = asyncio.create_task(drop_connections())
            first = await asyncio.gather(*[book(client, g, b, k) for g, b, k in asked], return_exceptions=True)
            stop.set()
            await dropping
            answered = [r.status_code for r in first if isinstance(r, httpx.Response)]
            assert all(code in (201, 409, 500, 503) for code in answered), answered
            assert await orphans(own_temporal.client) == []
            results = []
            for guest, body, key in asked:
                response = await settle(client, guest, body, key)
                results.append(response)
                if response.status_code == 201:
                    await wait_status(response.json()["id"], "confirmed", timeout=60)
            assert [r.status_code for r in results] == [201] * len(asked), [r.text for r in results]
    finally:
        stop.set()
        await admin.close()
        # The session's pool holds connections the killer terminated while idle: replace them, so
        # the tests after this one do not meet a dead connection.
        from piccolo_conf import DB

        if DB.pool is not None:
            await DB.pool.expire_connections()
    assert await orphans(own_temporal.client) == []
    assert await Booking.count() == len(listings)
    assert authorizations(fake_stripe) == len(listings)
