"""The Temporal connection shared by the API, the worker and the command line."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client

from stayflow.settings import Settings


def temporal_address(settings: Settings) -> str:
    return settings.temporal_target


async def connect(settings: Settings) -> Client:
    return await Client.connect(temporal_address(settings), namespace=settings.temporal_namespace)


class TemporalGateway:
    """The API's Temporal client, connected lazily so the API starts (and `/ready` can say
    what is wrong) while Temporal is still down."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await asyncio.wait_for(connect(self._settings), timeout=5)
        return self._client

    async def check(self) -> None:
        """Raise unless Temporal's frontend answers a health check now."""
        client = await self.client()
        healthy = await client.service_client.check_health(timeout=timedelta(seconds=3))
        if not healthy:
            raise RuntimeError("Temporal frontend reports NOT_SERVING")
