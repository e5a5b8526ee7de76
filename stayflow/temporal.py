"""The Temporal connection shared by the API, the worker and the command line.

The API's calls are bounded: every call to Temporal carries a deadline (ANSWER_WITHIN) unless it
sets its own, and an update awaited to its end is bounded as a whole (`bounded`), so a frozen
worker or a hanging Temporal gives a 503 with Retry-After in seconds, never a request that hangs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client, Interceptor, OutboundInterceptor

from stayflow.settings import Settings

T = TypeVar("T")

ANSWER_WITHIN = timedelta(seconds=5)
"""How long one API call to Temporal may take (start, signal, query, describe, update)."""


class TemporalUnavailable(Exception):
    """Temporal could not be reached, or did not answer within its bound: try again shortly."""


def temporal_address(settings: Settings) -> str:
    return settings.temporal_target


async def connect(settings: Settings) -> Client:
    return await Client.connect(temporal_address(settings), namespace=settings.temporal_namespace)


class _Deadlines(OutboundInterceptor):
    def __getattribute__(self, name: str) -> Any:
        # Every call of the client's outbound chain takes one input object; give it a deadline.
        attribute = super().__getattribute__(name)
        if name.startswith("_") or name in ("next",) or not callable(attribute):
            return attribute

        def with_deadline(input: Any, *args: Any, **kwargs: Any) -> Any:
            if dataclasses.is_dataclass(input) and getattr(input, "rpc_timeout", ANSWER_WITHIN) is None:
                setattr(input, "rpc_timeout", ANSWER_WITHIN)  # noqa: B010 - any of the SDK's inputs
            return attribute(input, *args, **kwargs)

        return with_deadline


class BoundedCalls(Interceptor):
    """Gives each Temporal call of the API that sets no `rpc_timeout` the ANSWER_WITHIN deadline."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Deadlines(next)


def with_bounded_calls(client: Client) -> Client:
    config = client.config()
    config["interceptors"] = [BoundedCalls(), *config["interceptors"]]
    return Client(**config)


async def bounded(call: Awaitable[T], within: timedelta = ANSWER_WITHIN) -> T:
    """`call`'s answer, or TemporalUnavailable once `within` has passed (an update awaited to its
    end polls without any deadline of its own)."""
    try:
        return await asyncio.wait_for(call, timeout=within.total_seconds())
    except TimeoutError as exc:
        raise TemporalUnavailable(f"no answer from Temporal within {within.total_seconds():.0f} s") from exc


class TemporalGateway:
    """The API's Temporal client, connected lazily so the API starts (and `/ready` can say
    what is wrong) while Temporal is still down; its calls are bounded (ANSWER_WITHIN)."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = with_bounded_calls(client) if client is not None else None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        connected = await asyncio.wait_for(connect(self._settings), timeout=5)
                    except (TimeoutError, RuntimeError) as exc:  # RuntimeError: the connect was refused
                        raise TemporalUnavailable(f"Temporal cannot be reached: {exc}") from exc
                    self._client = with_bounded_calls(connected)
        return self._client

    async def check(self) -> None:
        """Raise unless Temporal's frontend answers a health check now."""
        client = await self.client()
        healthy = await client.service_client.check_health(timeout=timedelta(seconds=3))
        if not healthy:
            raise RuntimeError("Temporal frontend reports NOT_SERVING")
