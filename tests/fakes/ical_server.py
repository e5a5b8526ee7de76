"""A local web server for calendar feeds: serves .ics files (or anything) at paths the test sets,
can redirect, stall, or send an endless body, and records what was asked, so tests drive the real
fetcher (httpx over a socket) against a real HTTP server."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ical"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/calendar; charset=utf-8"})
    delay_seconds: float = 0.0
    endless: bool = False
    """Stream data without end and without a Content-Length (a size-limit test)."""


@dataclass
class FeedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def host_port(self) -> str:
        return self.origin.removeprefix("http://")

    def serve(self, path: str, body: bytes | str, **route: Any) -> str:
        self.routes[path] = Route(body=body.encode() if isinstance(body, str) else body, **route)
        return self.origin + path

    def serve_fixture(self, path: str, name: str) -> str:
        return self.serve(path, (FIXTURES / name).read_bytes())

    def redirect(self, path: str, location: str) -> str:
        self.routes[path] = Route(status=302, headers={"Location": location})
        return self.origin + path

    def __enter__(self) -> FeedServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                route = fake.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.delay_seconds:
                    time.sleep(route.delay_seconds)
                self.send_response(route.status)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                if route.endless:
                    self.end_headers()
                    try:
                        while True:
                            self.wfile.write(b"X" * 65536)
                    except (BrokenPipeError, ConnectionResetError):
                        return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
