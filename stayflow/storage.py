"""Where uploaded media lives. Local disk by default; an S3-compatible store implements the same
three methods (`save`, `delete`, `url`) and is chosen in `media_storage_for`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from stayflow.settings import Settings

MEDIA_URL_PREFIX = "/media"


@runtime_checkable
class MediaStorage(Protocol):
    async def save(self, key: str, data: bytes, content_type: str) -> None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error (deletes are retried)."""
        ...

    def url(self, key: str) -> str: ...


class LocalMediaStorage:
    def __init__(self, root: Path, base_url: str = MEDIA_URL_PREFIX) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key escapes the media root: {key!r}")
        return path

    async def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(path.suffix + ".partial")
            partial.write_bytes(data)
            os.replace(partial, path)  # readers never see half a file

        await asyncio.to_thread(write)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{key}"


def media_root(settings: Settings) -> Path:
    return Path(settings.media_root) if settings.media_root else settings.home_dir / "media"


def media_storage_for(settings: Settings) -> MediaStorage:
    """Local disk, served by the API at `<public_url>/media/...` (absolute, so clients can use it as is)."""
    return LocalMediaStorage(media_root(settings), base_url=settings.public_url.rstrip("/") + MEDIA_URL_PREFIX)
