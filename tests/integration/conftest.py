from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from api.app import create_app
from stayflow.settings import Settings


@pytest.fixture
def api_settings(settings: Settings, task_queue: str, fake_stripe: Any) -> Settings:
    """This test's task queue, and the real Stripe SDK pointed at a local fake Stripe."""
    return msgspec.structs.replace(
        settings, task_queue=task_queue, stripe_api_key=fake_stripe.api_key, stripe_api_base=fake_stripe.url
    )


def api_client(app: Any) -> httpx.AsyncClient:
    """The app in this event loop (Litestar's AsyncTestClient runs it in a thread with its own
    loop, which a process-wide asyncpg pool cannot cross). The session's pool serves both."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")


@pytest.fixture
async def client(api_settings: Settings, dev_server_env: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(api_settings, temporal_client=dev_server_env.client)) as test_client:
        yield test_client


@pytest.fixture
async def worker(api_settings: Settings, dev_server_env: Any) -> AsyncIterator[None]:
    """The real worker, on this test's task queue of the Temporal dev server."""
    from workers.main import build_worker

    async with build_worker(dev_server_env.client, api_settings):
        yield


@pytest.fixture(autouse=True)
def _empty_tables(clean_database: None) -> None:
    """Every test here starts from empty tables."""
