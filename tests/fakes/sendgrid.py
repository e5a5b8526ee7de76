"""A local SendGrid: speaks the v3 `/mail/send` wire format, records every request, and can
be told to fail, so tests drive the real `sendgrid` SDK end to end."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedMail:
    authorization: str
    body: dict[str, Any]
    accepted: bool
    message_id: str | None

    @property
    def to(self) -> list[str]:
        return [t["email"] for p in self.body.get("personalizations", []) for t in p.get("to", [])]

    def content(self, mime: str) -> str:
        return next((c["value"] for c in self.body.get("content", []) if c["type"] == mime), "")


@dataclass
class FakeSendGrid:
    api_key: str = "SG.fake-key"
    fail_next: int = 0
    """How many of the next requests answer `fail_status` (an outage)."""
    fail_status: int = 503
    received: list[ReceivedMail] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def delivered(self) -> list[ReceivedMail]:
        return [m for m in self.received if m.accepted]

    def __enter__(self) -> FakeSendGrid:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                auth = self.headers.get("Authorization", "")
                if self.path != "/v3/mail/send":
                    return self._answer(404, {"errors": [{"message": "not found"}]})
                if auth != f"Bearer {fake.api_key}":
                    fake.received.append(ReceivedMail(auth, body, False, None))
                    return self._answer(401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
                if fake.fail_next > 0:
                    fake.fail_next -= 1
                    fake.received.append(ReceivedMail(auth, body, False, None))
                    return self._answer(fake.fail_status, {"errors": [{"message": "simulated failure"}]})
                if not body.get("personalizations") or not body.get("from", {}).get("email"):
                    fake.received.append(ReceivedMail(auth, body, False, None))
                    return self._answer(400, {"errors": [{"message": "personalizations and from are required"}]})
                message_id = uuid.uuid4().hex[:22]
                fake.received.append(ReceivedMail(auth, body, True, message_id))
                return self._answer(202, None, {"X-Message-Id": message_id})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
