"""Clients of the outside world, each behind one small interface and chosen by settings in
one place (`email_sender_for`, `sms_sender_for`, `payments_for`). With no keys set, local fakes
stand in so that a developer can run everything offline."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DeliveryError(Exception):
    """The provider did not take the message. `permanent`: retrying cannot help."""

    def __init__(self, detail: str, *, permanent: bool) -> None:
        super().__init__(detail)
        self.permanent = permanent


def permanent_http_failure(status: int) -> bool:
    """A 4xx other than timeouts and rate limits: the same request will fail again."""
    return 400 <= status < 500 and status not in (408, 429)


CONNECT_TIMEOUT_SECONDS = 5.0
"""How long a provider may take to accept a connection before the call fails (and is retried)."""
READ_TIMEOUT_SECONDS = 15.0
"""How long a provider may stay silent on an open connection. With the connect timeout, well
inside the 30 s an activity that makes one provider call may take (`workflows.policies.DB`), so a
provider that hangs fails the attempt and Temporal retries it, instead of the attempt timing out."""


class ProviderThreads:
    """The threads one provider's synchronous SDK runs in. Each provider has its own few, so a
    provider that hangs ties up only its own threads: never the payment calls' (the default
    executor that `asyncio.to_thread` shares holds only cpu_count + 4 threads)."""

    def __init__(self, name: str, size: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"provider-{name}")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
