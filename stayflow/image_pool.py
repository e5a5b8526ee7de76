"""Photo decoding off the event loop, in a small pool of its own.

Decoding a large image takes a core for seconds and its pixels in memory. In asyncio's default
thread pool that work queues in front of password hashing (login, registration), so a few uploads
stalled every sign-in. Here at most `workers` photos decode at once, at most `queue` more wait,
and past that an upload is refused at once (503 with Retry-After) instead of piling up memory.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from stayflow.images import CheckedImage, check_image

DECODE_WORKERS = 1
"""One decode at a time: on a 2-core host the other core stays with requests and password hashing."""
DECODE_QUEUE = 6


class DecoderBusy(RuntimeError):
    """Every decoding slot and queue place is taken."""


class PhotoDecoder:
    def __init__(self, *, workers: int = DECODE_WORKERS, queue: int = DECODE_QUEUE) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stayflow-photo-decode")
        self._capacity = workers + queue
        self._admitted = 0  # touched only on the event loop's thread

    async def check(self, raw: bytes) -> CheckedImage:
        """`check_image` in this pool; raises `DecoderBusy` when full, `ImageRejected` for bad files."""
        if self._admitted >= self._capacity:
            raise DecoderBusy(f"{self._capacity} photos are being checked already")
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, check_image, raw)
        finally:
            self._admitted -= 1


photo_decoder = PhotoDecoder()
"""The process's one pool (the API's uploads)."""
