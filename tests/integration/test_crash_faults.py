"""Fault tests of issue 15 (item 7) that crash a part for real, end to end on a Temporal dev server
with the real Stripe SDK against the local fake Stripe: a `stayflow worker` process killed with
SIGKILL between a payment's status and its ledger row, the Temporal server restarted with a host's
answer queued, a change retried while its capture runs, and PostgreSQL stopped under the API.

Each is bounded in time and asserts what the issue asks: no orphan, no double charge, every
answered booking settles, every answer within its bound; and at the end one pass of the
reconciler, judging every row at once (no grace period), finds nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from api.app import create_app
from models import Booking, BookingChange, LedgerEntry, LedgerPosting, Payment
from models.identity import Role
from stayflow.devstack import SEARCH_ATTRIBUTES, free_port
from stayflow.settings import Settings, load_settings
from stayflow.versioning import deployment_version, promote
from tests.conftest import _STACK, venv_binary
from tests.factories import make_listing, make_user, sign_in, signed_in_user
from tests.helpers import api_client, book, change, day, eventually, stay, wait_status
from workers.main import build_worker
from workflows.booking import booking_workflow_id
from workflows.payloads.reconcile import ReconcileReport, ReconcileRequest
from workflows.reconcile import ReconcileWorkflow, reconciler_schedule_id

pytestmark = pytest.mark.e2e

ANSWER_BOUND = 12.0
"""Seconds any request may take (the API's own bounds are 5 to 10 s)."""


async def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = await call
    return answer, time.monotonic() - started


async def nothing_left_behind(client: Client, settings: Settings) -> ReconcileReport:
    """One pass of the reconciler that judges every row, however fresh: it must find nothing."""
    report: ReconcileReport = await client.execute_workflow(
        ReconcileWorkflow.run,
        ReconcileRequest(grace_seconds=0),
        id=f"{reconciler_schedule_id(settings.task_queue)}-{uuid.uuid4()}",
        task_queue=settings.task_queue,
    )
    assert report.found == {}, report.outcomes
    return report


async def one_capture_each(fake_stripe: Any, payments: int) -> None:
    """Stripe captured each payment once, and the ledger and the books record each capture once."""
    assert len(fake_stripe.calls("POST", "/capture")) == payments
    assert await LedgerEntry.count().where(LedgerEntry.kind == "capture") == payments
    assert await LedgerPosting.count().where(LedgerPosting.kind == "capture") == 2 * payments


class WorkerProcess:
    """`stayflow worker` in a subprocess, on this test's database, Temporal, task queue and fake Stripe."""

    def __init__(self, settings: Settings, temporal: Client, fake_stripe: Any) -> None:
        self.settings, self.temporal = settings, temporal
        self.env = os.environ | {
            "STAYFLOW_TEMPORAL_ADDRESS": temporal.service_client.config.target_host,
            "STAYFLOW_TASK_QUEUE": settings.task_queue,
            "STRIPE_API_KEY": fake_stripe.api_key,
            "STAYFLOW_STRIPE_API_BASE": fake_stripe.url,
        }
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stayflow.cli", "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        handle = self.temporal.get_schedule_handle(reconciler_schedule_id(self.settings.task_queue))

        async def started() -> bool:  # the worker creates the reconciler's schedule right before it polls
            assert self.process is not None and self.process.poll() is None, "the worker exited"
            try:
                await handle.describe()
            except RPCError:
                return False
            return True

        await eventually(started, timeout=60, what="the worker to start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    async def close(self) -> None:
        self.kill()
        with contextlib.suppress(RPCError):
            await self.temporal.get_schedule_handle(reconciler_schedule_id(self.settings.task_queue)).delete()


async def accept_until_taken(client: httpx.AsyncClient, host: Any, booking_id: str, first: httpx.Response) -> None:
    """The host's side of the contract: a 503 means "send the same answer again"."""
    answer, deadline = first, time.monotonic() + 120
    while answer.status_code == 503:
        assert int(answer.headers["Retry-After"]) > 0
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(1)
        answer, took = await timed(client.post(f"/api/v1/bookings/{booking_id}/accept", headers=host.headers))
        assert took < ANSWER_BOUND
    if answer.status_code == 409:  # the first answer was taken after all, and applied meanwhile
        assert "confirmed" in answer.text, answer.text
    else:
        assert answer.status_code == 200 and answer.json()["status"] == "confirmed", answer.text


async def test_the_worker_killed_between_a_captures_status_and_its_ledger_row(
    client: httpx.AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any
) -> None:
    """How it hits the window, every time: once the card is held, the test takes a SHARE lock on
    `ledger_entries` (reads go on, inserts wait). The host accepts; the capture step asks Stripe
    to capture (done), updates the payment to `completed` in its transaction and then blocks on
    the ledger row's INSERT. The test sees that backend waiting on the lock (`pg_stat_activity`),
    checks Stripe has captured, then SIGKILLs the worker process and ends its backend, as a dead
    client's connection ends: the transaction rolls back, so the payment is still `authorized`
    with no capture row while Stripe holds the money captured. A new worker retries the step,
    which must record the capture once (Stripe's answer replayed for the same idempotency key)."""
    host = await make_user(role=Role.host)
    host_in = await sign_in(client, host)
    home = await make_listing(host, instant_book=False)
    guest = await signed_in_user(client)
    worker = WorkerProcess(api_settings, dev_server_env.client, fake_stripe)
    admin = await asyncpg.connect(os.environ["STAYFLOW_DATABASE_URL"])
    locker = await asyncpg.connect(os.environ["STAYFLOW_DATABASE_URL"])
    try:
        await worker.start()
        created = await book(client, guest, stay(home, start=18))
        assert created.status_code == 201, created.text
        booking_id = created.json()["id"]
        await wait_status(booking_id, "awaiting_host", timeout=40)

        hold = locker.transaction()
        await hold.start()
        await locker.execute("LOCK TABLE ledger_entries IN SHARE MODE")
        accepting = asyncio.create_task(
            timed(client.post(f"/api/v1/bookings/{booking_id}/accept", headers=host_in.headers))
        )

        async def blocked_ledger_insert() -> int | None:
            return await admin.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND query ILIKE '%INSERT INTO ledger_entries%'"
            )

        pid = await eventually(blocked_ledger_insert, timeout=30, what="the capture to wait on its ledger row")
        payment = await Payment.objects().get(Payment.booking == uuid.UUID(booking_id))
        assert payment is not None and payment.intent_id
        assert fake_stripe.intents[payment.intent_id]["status"] == "succeeded"  # Stripe has captured
        worker.kill()
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await hold.rollback()

        accepted, took = await accepting
        assert took < ANSWER_BOUND and accepted.status_code == 503, accepted.text
        await payment.refresh()
        assert payment.status == "authorized"  # the kill left it half done: captured at Stripe only
        assert await LedgerEntry.count().where(LedgerEntry.kind == "capture") == 0

        await worker.start()
        await accept_until_taken(client, host_in, booking_id, accepted)
        await wait_status(booking_id, "confirmed", timeout=90)
        await payment.refresh()
        assert payment.status == "completed"
        await one_capture_each(fake_stripe, 1)
        await nothing_left_behind(dev_server_env.client, api_settings)
    finally:
        await worker.close()
        await admin.close()
        await locker.close()


class DevServer:
    """A Temporal dev server of this test alone, on a SQLite file, that it can kill and start again."""

    def __init__(self, db_file: Path) -> None:
        self.db_file, self.port = db_file, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> Client:
        args = [venv_binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        args += ["--port", str(self.port), "--db-filename", str(self.db_file), "--log-level", "error"]
        for name in SEARCH_ATTRIBUTES:
            args += ["--search-attribute", f"{name}=Keyword"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        async def connected() -> Client | None:
            try:
                client = await Client.connect(self.address)
                await client.count_workflows()
                return client
            except (RuntimeError, RPCError):
                return None

        return await eventually(connected, timeout=60, what="the Temporal dev server to start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
async def restartable_temporal(tmp_path: Path) -> AsyncIterator[tuple[DevServer, Client]]:
    server = DevServer(tmp_path / "temporal.db")
    try:
        client = await server.start()
        await promote(client, deployment_version(load_settings()), allow_no_pollers=True)
        yield server, client
    finally:
        server.kill()


async def test_temporal_restarted_with_a_hosts_accept_queued_answers_honestly_and_the_retry_confirms(
    restartable_temporal: tuple[DevServer, Client], api_settings: Settings, fake_stripe: Any
) -> None:
    """Before: the API answered 503 "taken" and the queued answer did not survive the restart.
    Now the answer says it was not confirmed, and the same answer sent again after the restart
    confirms the booking, charged once."""
    server, temporal = restartable_temporal
    host = await make_user(role=Role.host)
    home = await make_listing(host, instant_book=False)
    async with api_client(create_app(api_settings, temporal_client=temporal)) as client:
        host_in = await sign_in(client, host)
        guest = await signed_in_user(client)
        async with build_worker(temporal, api_settings):
            created = await book(client, guest, stay(home, start=16))
            assert created.status_code == 201, created.text
            booking_id = created.json()["id"]
            await wait_status(booking_id, "awaiting_host", timeout=40)
        # No worker: the answer is queued at the server, and the server is restarted.
        accepted, took = await timed(client.post(f"/api/v1/bookings/{booking_id}/accept", headers=host_in.headers))
        assert took < ANSWER_BOUND, f"the accept took {took:.1f} s"
        assert accepted.status_code == 503 and "send it again" in accepted.json()["detail"], accepted.text
        server.kill()
        restarted = await server.start()
        assert restarted.service_client.config.target_host == temporal.service_client.config.target_host
        await eventually(lambda: _describes(temporal, booking_id), timeout=60, what="the API's client to reconnect")
        async with build_worker(temporal, api_settings):
            await accept_until_taken(client, host_in, booking_id, accepted)
            await wait_status(booking_id, "confirmed", timeout=60)
            await nothing_left_behind(temporal, api_settings)
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1
    await one_capture_each(fake_stripe, 1)


async def _describes(client: Client, booking_id: str) -> bool:
    try:
        await client.get_workflow_handle(booking_workflow_id(booking_id)).describe()
    except RPCError:
        return False
    return True


async def test_a_change_retried_while_its_capture_runs_changes_once_and_charges_the_difference_once(
    client: httpx.AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any, worker: None
) -> None:
    home = await make_listing(instant_book=True, nightly_price=10_000, cleaning_fee=5_000)
    guest = await signed_in_user(client)
    created = await book(client, guest, stay(home, start=20, nights=2))
    booking_id = created.json()["id"]
    before = await wait_status(booking_id, "confirmed")
    # The change's capture is slow (Stripe at 11 s): the PATCH answers before it ends, and is repeated.
    fake_stripe.delay_seconds, fake_stripe.delay_only = 11.0, "/capture"
    key, body = str(uuid.uuid4()), {"check_in": day(20), "check_out": day(23)}
    answers = []
    deadline = time.monotonic() + 90
    while True:
        answer, took = await timed(change(client, guest, booking_id, body, key))
        assert took < ANSWER_BOUND, f"the change took {took:.1f} s"
        answers.append(answer.status_code)
        if answer.status_code != 503:
            break
        assert int(answer.headers["Retry-After"]) > 0 and time.monotonic() < deadline, answer.text
        await asyncio.sleep(1)
    assert answer.status_code == 200, answer.text
    assert 503 in answers  # it was repeated while the capture ran
    after = await wait_status(booking_id, "confirmed")
    assert (after.check_in.isoformat(), after.check_out.isoformat()) == (day(20), day(23))
    changes = await BookingChange.objects().where(BookingChange.booking == after.id)
    assert len(changes) == 1 and changes[0].status == "applied"
    assert changes[0].difference > 0 and after.total == before.total + changes[0].difference

    async def captured() -> list[Payment]:  # the nights moved with the money held; its capture follows
        payments = await Payment.objects().where(Payment.booking == after.id).order_by(Payment.sequence)
        return list(payments) if all(p.status == "completed" for p in payments) else []

    payments = await eventually(captured, timeout=30, what="the change's capture")
    assert [(p.sequence, p.status, p.amount) for p in payments] == [
        (0, "completed", before.total),
        (1, "completed", changes[0].difference),
    ]
    await one_capture_each(fake_stripe, 2)
    # Answered the same again, and nothing more is charged.
    again = await change(client, guest, booking_id, body, key)
    assert again.status_code == 200 and again.json()["change"]["number"] == changes[0].number
    await one_capture_each(fake_stripe, 2)
    await nothing_left_behind(dev_server_env.client, api_settings)


async def test_a_change_sent_while_the_bookings_own_capture_runs_is_refused_cleanly_and_its_retry_applies_once(
    client: httpx.AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any, worker: None
) -> None:
    """The booking is answered (201) before its capture ends: a change sent then is refused with a
    reason the guest can act on, nothing is stored under its key, and the same request again once
    the booking is confirmed makes the change exactly once."""
    home = await make_listing(instant_book=True, nightly_price=10_000, cleaning_fee=5_000)
    guest = await signed_in_user(client)
    fake_stripe.delay_seconds, fake_stripe.delay_only = 4.0, "/capture"
    created = await book(client, guest, stay(home, start=24, nights=2))
    assert created.status_code == 201, created.text
    booking_id = created.json()["id"]
    key, body = str(uuid.uuid4()), {"check_in": day(24), "check_out": day(27)}
    early, took = await timed(change(client, guest, booking_id, body, key))
    assert took < ANSWER_BOUND and early.status_code == 409, early.text
    assert "Only confirmed bookings" in early.json()["detail"]
    before = await wait_status(booking_id, "confirmed", timeout=30)
    fake_stripe.delay_seconds = 0.0
    retried, took = await timed(change(client, guest, booking_id, body, key))
    assert took < ANSWER_BOUND and retried.status_code == 200, retried.text
    again = await change(client, guest, booking_id, body, key)
    assert again.status_code == 200 and again.json()["change"]["number"] == retried.json()["change"]["number"]
    changes = await BookingChange.objects().where(BookingChange.booking == before.id)
    assert len(changes) == 1 and changes[0].status == "applied"

    async def captured() -> list[Payment]:
        payments = await Payment.objects().where(Payment.booking == before.id)
        return list(payments) if len(payments) == 2 and all(p.status == "completed" for p in payments) else []

    await eventually(captured, timeout=30, what="the change's capture")
    after = await wait_status(booking_id, "confirmed")
    assert after.total == before.total + changes[0].difference and changes[0].difference > 0
    await one_capture_each(fake_stripe, 2)
    await nothing_left_behind(dev_server_env.client, api_settings)


@contextlib.asynccontextmanager
async def postgresql_down() -> AsyncIterator[None]:
    """The suite's PostgreSQL stopped (every connection gone, new ones refused), then started again
    on its data. With an external test database: new connections refused and every one ended."""
    postgres: Any = _STACK.get("postgres")
    if postgres is not None:
        postgres.child.stop(timeout=30)  # the server only (`stop()` would also remove a throwaway cluster)
        try:
            yield
        finally:
            postgres.start()
        return
    admin = await asyncpg.connect(os.environ["STAYFLOW_DATABASE_URL"].rsplit("/", 1)[0] + "/postgres")
    name = os.environ["STAYFLOW_DATABASE_URL"].rsplit("/", 1)[1]
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_a_database_outage_answers_503_with_retry_after_and_the_stack_recovers(
    client: httpx.AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any, worker: None
) -> None:
    home = await make_listing(instant_book=True)
    guest = await signed_in_user(client)
    created = await book(client, guest, stay(home, start=12))
    booking_id = created.json()["id"]
    await wait_status(booking_id, "confirmed")
    try:
        async with postgresql_down():
            asked = {
                "read a booking": client.get(f"/api/v1/bookings/{booking_id}", headers=guest.headers),
                "search": client.get("/api/v1/listings", params={"city": home.city}),
                "book": book(client, guest, stay(home, start=30)),
                "cancel": client.post(
                    f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "x"}, headers=guest.headers
                ),
            }
            for what, call in asked.items():
                answer, took = await timed(call)
                assert took < ANSWER_BOUND, f"{what} took {took:.1f} s"
                assert answer.status_code == 503, f"{what}: {answer.status_code} {answer.text}"
                assert int(answer.headers["Retry-After"]) > 0, what
        # PostgreSQL is back: the same requests work again, without restarting anything.

        async def read_works() -> bool:
            answer = await client.get(f"/api/v1/bookings/{booking_id}", headers=guest.headers)
            assert answer.status_code in (200, 503), answer.text
            return answer.status_code == 200

        await eventually(read_works, timeout=30, what="the API to read again")
        rebooked = await book(client, guest, stay(home, start=30))
        assert rebooked.status_code == 201, rebooked.text
        await wait_status(rebooked.json()["id"], "confirmed", timeout=60)
    finally:
        from piccolo_conf import DB

        if DB.pool is not None:  # connections of the session's pool that died with the server
            await DB.pool.expire_connections()
    assert await Booking.count() == 2
    await one_capture_each(fake_stripe, 2)
    await nothing_left_behind(dev_server_env.client, api_settings)
