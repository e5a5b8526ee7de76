"""A local Twilio: speaks the Messages API wire format (`POST /2010-04-01/Accounts/{sid}/Messages.json`,
form-encoded, HTTP basic auth with the account SID and auth token, a JSON message resource or a
JSON error in answer), records every request, and can be told to fail, so tests drive the real
`twilio` SDK end to end."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class ReceivedSms:
    account_sid: str
    authorization: str
    form: dict[str, str]
    accepted: bool
    sid: str | None

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0123456789abcdef" * 2
    auth_token: str = "fake-twilio-auth-token"
    from_number: str = "+15005550006"
    fail_next: int = 0
    """How many of the next requests answer `fail_status` (an outage)."""
    fail_status: int = 503
    unsubscribed: set[str] = field(default_factory=set)
    """Numbers whose owner replied STOP: Twilio refuses them for good (error 21610)."""
    received: list[ReceivedSms] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def delivered(self) -> list[ReceivedSms]:
        return [m for m in self.received if m.accepted]

    def __enter__(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _error(self, status: int, code: int, message: str) -> None:
                self._answer(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
                auth = self.headers.get("Authorization", "")
                match = _MESSAGES_PATH.match(self.path)
                if match is None:
                    return self._error(404, 20404, f"The requested resource {self.path} was not found")
                sid = match["sid"]

                def record(accepted: bool, message_sid: str | None = None) -> None:
                    fake.received.append(ReceivedSms(sid, auth, form, accepted, message_sid))

                expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                if auth != expected or sid != fake.account_sid:
                    record(False)
                    return self._error(401, 20003, "Authenticate")
                if fake.fail_next > 0:
                    fake.fail_next -= 1
                    record(False)
                    return self._error(fake.fail_status, 20500, "Service unavailable (simulated outage)")
                to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
                if not _E164.match(to):
                    record(False)
                    return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
                if to in fake.unsubscribed:
                    record(False)
                    return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
                if from_ != fake.from_number:
                    record(False)
                    return self._error(400, 21606, f"The From phone number {from_} is not yours.")
                if not body:
                    record(False)
                    return self._error(400, 21602, "Message body is required.")
                message_sid = "SM" + uuid.uuid4().hex
                record(True, message_sid)
                now = format_datetime(dt.datetime.now(dt.UTC), usegmt=True)
                self._answer(
                    201,
                    {
                        "sid": message_sid,
                        "account_sid": sid,
                        "api_version": "2010-04-01",
                        "body": body,
                        "date_created": now,
                        "date_updated": now,
                        "date_sent": None,
                        "direction": "outbound-api",
                        "error_code": None,
                        "error_message": None,
                        "from": from_,
                        "messaging_service_sid": None,
                        "num_media": "0",
                        "num_segments": str(max(1, -(-len(body) // 153))),
                        "price": None,
                        "price_unit": "USD",
                        "status": "queued",
                        "subresource_uris": {"media": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}/Media.json"},
                        "to": to,
                        "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
                    },
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
