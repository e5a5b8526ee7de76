"""How long one sign-in's password check takes while six large photo uploads are being checked.

    .venv/bin/python -m bench.login_under_uploads

`before`: the old path, six 6,300 x 6,300 PNGs (131 KB each, 40 MP decoded) decoded by
`asyncio.to_thread`, in the default thread pool that password hashing shares, under the old
40 MP limit. `after`: the same six uploads through the photo pool (refused from their header);
`after, accepted`: six 4,900 x 4,900 PNGs (24 MP, under today's limit) that the pool does decode,
one at a time. The login is argon2 verification via `asyncio.to_thread`, as `sign_in` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Awaitable, Callable

from PIL import Image

from stayflow.credentials import hash_password, verify_password
from stayflow.image_pool import PhotoDecoder
from stayflow.images import ImageRejected, check_image


def png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


async def login_time(stored: str) -> float:
    started = time.perf_counter()
    assert await asyncio.to_thread(verify_password, stored, "correct horse battery")
    return time.perf_counter() - started


async def quietly(job: Awaitable[object]) -> None:
    with contextlib.suppress(ImageRejected):
        await job


async def measure(name: str, upload: Callable[[], Awaitable[object]], stored: str) -> None:
    uploads = [asyncio.create_task(quietly(upload())) for _ in range(6)]
    await asyncio.sleep(0.05)  # the uploads are being decoded
    took = await login_time(stored)
    started = time.perf_counter()
    await asyncio.gather(*uploads)
    print(f"{name:<18} login {took:6.2f} s   (uploads done {time.perf_counter() - started:5.2f} s later)")


async def main() -> None:
    stored = hash_password("correct horse battery")
    bomb, large = png(6300), png(4900)
    print(f"6300 px PNG: {len(bomb) // 1024} KB; 4900 px PNG: {len(large) // 1024} KB")
    print(f"{'idle':<18} login {await login_time(stored):6.2f} s")
    await measure("before", lambda: asyncio.to_thread(check_image, bomb, max_pixels=40_000_000), stored)
    pool = PhotoDecoder()
    await measure("after", lambda: pool.check(bomb), stored)
    await measure("after, accepted", lambda: pool.check(large), stored)


if __name__ == "__main__":
    asyncio.run(main())
