"""Sending SMS: Twilio when `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN` and `TWILIO_FROM_NUMBER` are
set, the local outbox otherwise."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from stayflow.providers import READ_TIMEOUT_SECONDS, DeliveryError, ProviderThreads, permanent_http_failure
from stayflow.settings import TWILIO_API, Settings


class OutgoingSms(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    to: str
    """E.164."""
    body: str


class SmsSender(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> str:
        """Hand the message to the provider; returns the provider's message id."""
        ...


class OutboxSmsSender:
    """Local fake: the `messages` table is the outbox, read at `GET /api/v1/dev/outbox`."""

    name = "outbox"

    async def send(self, sms: OutgoingSms) -> str:
        return f"outbox-{sms.message_id}"


def _twilio_http_client(api_base: str) -> Any:
    """Twilio's own HTTP client, sending to `api_base` instead of api.twilio.com (a local fake
    Twilio in tests, a proxy in some deployments); everything else the SDK does is unchanged."""
    from twilio.http.http_client import TwilioHttpClient

    class ApiBaseHttpClient(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if url.startswith(TWILIO_API):
                url = api_base.rstrip("/") + url[len(TWILIO_API) :]
            return super().request(method, url, *args, **kwargs)

    # requests applies the one timeout to the connect and to every read.
    timeout = READ_TIMEOUT_SECONDS
    return TwilioHttpClient(timeout=timeout) if api_base == TWILIO_API else ApiBaseHttpClient(timeout=timeout)


class TwilioSmsSender:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str, api_base: str = TWILIO_API) -> None:
        from twilio.rest import Client

        self._client = Client(account_sid, auth_token, http_client=_twilio_http_client(api_base))
        self._from = from_number
        self._threads = ProviderThreads("twilio", 4)

    def _send_blocking(self, sms: OutgoingSms) -> str:
        from twilio.base.exceptions import TwilioRestException

        try:
            message = self._client.messages.create(to=sms.to, from_=self._from, body=sms.body)
        except TwilioRestException as exc:
            detail = f"Twilio answered {exc.status} (code {exc.code}): {exc.msg}"
            raise DeliveryError(detail, permanent=permanent_http_failure(exc.status)) from exc
        except OSError as exc:  # requests' connection errors: the provider is unreachable
            raise DeliveryError(f"Twilio unreachable: {exc}", permanent=False) from exc
        if message.status == "failed" or not message.sid:
            raise DeliveryError(f"Twilio did not queue the message: {message.error_message}", permanent=True)
        return str(message.sid)

    async def send(self, sms: OutgoingSms) -> str:
        # The SDK is synchronous (requests); keep the worker's event loop (and the payments' threads) free.
        return await self._threads.run(self._send_blocking, sms)


def sms_sender_for(settings: Settings) -> SmsSender:
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        return TwilioSmsSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from_number,
            settings.twilio_api_base,
        )
    return OutboxSmsSender()
