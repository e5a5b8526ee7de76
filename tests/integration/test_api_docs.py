"""The interactive API docs work with no internet: every script, stylesheet and icon of `/schema`
(Scalar) and `/schema/swagger` (Swagger UI) comes from the API itself, and a real browser with the
network cut off renders the operations."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import uvicorn
from httpx import AsyncClient

from api.app import create_app
from stayflow.devstack import free_port
from stayflow.settings import Settings

DOCS_PAGES = ["/schema", "/schema/swagger"]
_ASSET = re.compile(r"""<(?:script|link)\b[^>]*?(?:src|href)=["']([^"']+)["']""", re.IGNORECASE)


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_docs_page_takes_every_asset_from_our_own_server(client: AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    assets = _ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
    for url in assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from another origin"
        answer = await client.get(url)  # no token: the docs are public
        assert answer.status_code == 200, url
        kind = answer.headers["content-type"]
        if url.endswith(".js"):
            assert kind.startswith("text/javascript") and len(answer.content) > 100_000, url
        elif url.endswith(".css"):
            assert kind.startswith("text/css"), url
        else:
            assert kind.startswith("image/"), url


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, capture_output=True)
        found = shutil.which("chromium")
    if not found:
        # Checked as a person sees it, always: without a browser this test fails, it never skips.
        pytest.fail("chromium is required: install the Debian package `chromium` (or run the suite as root)")
    return found


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


async def _dump_dom_offline(browser: str, url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="stayflow-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            # The network is off: everything but our server goes to a closed port.
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return out.decode(errors="replace")


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_docs_render_the_operations_with_the_network_off(settings: Settings, page: str) -> None:
    browser = _chromium()
    async with serving(settings) as base:
        dom = await _dump_dom_offline(browser, base + page)
    # Operation summaries, which only the UI's JavaScript can have put there (Scalar renders the
    # first group of operations at once, the rest as you scroll).
    assert "The process is up" in dom, dom[-2000:]
    assert "PostgreSQL and Temporal are reachable" in dom
