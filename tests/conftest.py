"""The suite runs against real parts: an embedded PostgreSQL 18 (or STAYFLOW_TEST_DATABASE_URL),
Temporal's time-skipping test server for workflow logic and the Temporal dev server end to end.

The database is prepared in `pytest_configure`, before any test module imports piccolo's
engine, so every process-wide setting points at the test database from the start.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from hypothesis import settings as hypothesis_settings

_STACK: dict[str, object] = {}
HISTORIES = Path(__file__).parent / "workflows" / "histories"
"""Recorded runs that tests/workflows/test_replay.py replays on today's code."""

# A loaded 2-core CI machine makes wall-clock deadlines flaky; the properties are what we test.
hypothesis_settings.register_profile("stayflow", deadline=None, max_examples=200)
hypothesis_settings.load_profile("stayflow")


def pytest_configure(config: pytest.Config) -> None:
    """Point every process-wide setting at this run's database. The server itself starts only when
    a test asks for the database (`db_pool`): unit tests run without PostgreSQL."""
    if hasattr(config, "workerinput"):
        return
    home = Path(tempfile.mkdtemp(prefix="stayflow-test-"))
    _STACK["home"] = home
    os.environ["STAYFLOW_ENV"] = "test"
    os.environ["STAYFLOW_HOME"] = str(home)
    for provider_key in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"):
        os.environ.pop(provider_key, None)
    database = f"stayflow_test_{uuid.uuid4().hex[:10]}"
    _STACK["database"] = database
    external = os.environ.get("STAYFLOW_TEST_DATABASE_URL")
    if external:
        base, _, _ = external.rpartition("/")
        os.environ["STAYFLOW_DATABASE_URL"] = f"{base}/{database}"
        _STACK["external_admin"] = external
    else:
        from stayflow.devstack import EmbeddedPostgres, free_port

        postgres = EmbeddedPostgres(home / "postgres" / "data", free_port(), fast_and_unsafe=True)
        _STACK["postgres"] = postgres
        os.environ["STAYFLOW_DATABASE_URL"] = postgres.dsn(database)


def _prepare_database() -> None:
    """Start (or create on the external server) this run's database and migrate it, once."""
    if _STACK.get("database_ready"):
        return
    import asyncio

    database = str(_STACK["database"])
    external = _STACK.get("external_admin")
    if external:
        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(str(external))
            try:
                await conn.execute(f'CREATE DATABASE "{database}"')
            finally:
                await conn.close()

        asyncio.run(create())
    else:
        postgres: Any = _STACK["postgres"]
        postgres.start()
        postgres.ensure_database(database)
        _STACK["postgres_started"] = True

    from stayflow.migrations import migrate

    asyncio.run(migrate())
    _STACK["database_ready"] = True


def pytest_unconfigure(config: pytest.Config) -> None:
    postgres = _STACK.pop("postgres", None)
    if postgres is not None and _STACK.pop("postgres_started", False):
        postgres.stop()  # type: ignore[attr-defined]
    external = _STACK.pop("external_admin", None)
    if external and _STACK.get("database_ready"):
        import asyncio

        import asyncpg

        async def drop() -> None:
            conn = await asyncpg.connect(str(external))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{_STACK["database"]}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(drop())
    home = _STACK.pop("home", None)
    if home is not None:
        shutil.rmtree(str(home), ignore_errors=True)


def venv_binary(name: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is installed into .venv by `make test`"
    return str(path)


@pytest.fixture(scope="session")
def settings():
    from stayflow.settings import load_settings

    return load_settings()


@pytest.fixture(scope="session")
def database() -> None:
    """This run's migrated database (started on first use)."""
    _prepare_database()


@pytest.fixture(scope="session")
async def db_pool(database: None) -> AsyncIterator[None]:
    from piccolo_conf import DB

    await DB.start_connection_pool(min_size=1, max_size=10)
    yield
    pool = DB.pool
    try:
        # asyncpg's close waits for every connection to come back; a connection a test left checked
        # out (say, by a request cancelled mid-transaction) must not hang the run after its last test.
        await asyncio.wait_for(DB.close_connection_pool(), timeout=3)
    except TimeoutError:
        if pool is not None:
            pool.terminate()
        DB.pool = None
        warnings.warn("the test database pool had connections still checked out at the end", stacklevel=1)


@pytest.fixture
async def clean_database(db_pool: None) -> AsyncIterator[None]:
    """Empty tables for the test (autouse in the suites that use the database)."""
    from models import ALL_TABLES

    names = ", ".join(t._meta.tablename for t in ALL_TABLES)
    await ALL_TABLES[0].raw(f"TRUNCATE {names} CASCADE")
    await ALL_TABLES[0].raw("INSERT INTO platform_settings (id) VALUES (1)")  # the defaults, as migrated
    yield


async def _start_time_skipping() -> Any:
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.testing import WorkflowEnvironment

    from stayflow.devstack import SEARCH_ATTRIBUTES

    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=venv_binary("temporal-test-server"))
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in SEARCH_ATTRIBUTES},
        )
    )
    return env


@pytest.fixture(scope="session")
async def time_skipping_env():
    env = await _start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
async def own_time_skipping_env():
    """A time-skipping server for one test. For processes whose parent closes while an abandoned
    child (a message delivery) is still starting: the Java test server then stops skipping time
    for every later test on it, so such tests must not share one."""
    env = await _start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_server_env():
    from temporalio.common import SearchAttributeKey
    from temporalio.testing import WorkflowEnvironment

    from stayflow.devstack import SEARCH_ATTRIBUTES

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        # Every test's worker polls a task queue of its own, all in one build of the deployment:
        # the server's default cap (100 task queues per deployment version) would stop routing
        # new runs to the workers of the suite's later tests.
        dev_server_extra_args=[
            "--dynamic-config-value",
            "matching.maxTaskQueuesInDeploymentVersion=100000",
            "--dynamic-config-value",
            "matching.maxTaskQueuesInDeployment=100000",
        ],
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
    )
    # The tests' workers run this build, promoted as `make dev` and `stayflow promote` do it in
    # production (before any of them polls, hence allow_no_pollers).
    from stayflow.settings import load_settings
    from stayflow.versioning import deployment_version, promote

    await promote(env.client, deployment_version(load_settings()), allow_no_pollers=True)
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def fake_sendgrid() -> Iterator[object]:
    from tests.fakes.sendgrid import FakeSendGrid

    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def fake_twilio() -> Iterator[Any]:
    from tests.fakes.twilio import FakeTwilio

    with FakeTwilio() as server:
        yield server


@pytest.fixture
def fake_stripe() -> Iterator[Any]:
    from stayflow.fakes.stripe_server import FakeStripe

    with FakeStripe() as server:
        yield server


class RecordHistory(Protocol):
    async def __call__(self, env: Any, workflow_id: str, name: str) -> None: ...


@pytest.fixture
def record_history() -> RecordHistory:
    """`await record_history(env, workflow_id, "name")`, once the run has ended: with
    STAYFLOW_RECORD_HISTORIES=1 its history is stored as histories/<name>.json (otherwise nothing)."""

    async def record(env: Any, workflow_id: str, name: str) -> None:
        if os.environ.get("STAYFLOW_RECORD_HISTORIES"):
            history = await env.client.get_workflow_handle(workflow_id).fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())

    return record
