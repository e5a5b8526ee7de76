"""Sending email: SendGrid when `SENDGRID_API_KEY` is set, the local outbox otherwise."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Protocol

import msgspec

from stayflow.providers import READ_TIMEOUT_SECONDS, DeliveryError, ProviderThreads, permanent_http_failure
from stayflow.settings import Settings

__all__ = ["DeliveryError", "EmailSender", "OutgoingEmail", "email_sender_for"]


class OutgoingEmail(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    to: str
    subject: str
    text: str
    html: str = ""


class EmailSender(Protocol):
    name: str

    async def send(self, email: OutgoingEmail) -> str:
        """Hand the message to the provider; returns the provider's message id."""
        ...


class OutboxEmailSender:
    """Local fake: the `messages` table is the outbox, read at `GET /api/v1/dev/outbox`."""

    name = "outbox"

    async def send(self, email: OutgoingEmail) -> str:
        return f"outbox-{email.message_id}"


class SendGridEmailSender:
    name = "sendgrid"

    def __init__(self, api_key: str, sender: str, api_base: str) -> None:
        from sendgrid import SendGridAPIClient

        self._client = SendGridAPIClient(api_key=api_key, host=api_base)
        # urllib's one timeout bounds the connect and every read (the SDK's default is none at all).
        self._client.client.timeout = READ_TIMEOUT_SECONDS
        self._threads = ProviderThreads("sendgrid", 4)
        self._from_name, self._from_email = parseaddr(sender)

    def _send_blocking(self, email: OutgoingEmail) -> str:
        from python_http_client.exceptions import HTTPError
        from sendgrid.helpers.mail import CustomArg, From, Mail

        mail = Mail(
            from_email=From(self._from_email, self._from_name or None),
            to_emails=email.to,
            subject=email.subject,
            plain_text_content=email.text,
            html_content=email.html or None,
        )
        # Lets SendGrid's event webhook and support tickets point back at our record.
        mail.custom_arg = CustomArg("stayflow_message_id", email.message_id)
        try:
            response = self._client.send(mail)
        except HTTPError as exc:
            status = getattr(exc, "status_code", 0)
            body = getattr(exc, "body", b"")
            detail = f"SendGrid answered {status}: {body[:300]!r}"
            raise DeliveryError(detail, permanent=permanent_http_failure(status)) from exc
        except OSError as exc:  # connection refused, DNS, TLS: the provider is unreachable
            raise DeliveryError(f"SendGrid unreachable: {exc}", permanent=False) from exc
        headers = {key.lower(): value for key, value in dict(response.headers).items()}
        return str(headers.get("x-message-id", ""))

    async def send(self, email: OutgoingEmail) -> str:
        # The SDK is synchronous (urllib); keep the worker's event loop (and the payments' threads) free.
        return await self._threads.run(self._send_blocking, email)


def email_sender_for(settings: Settings) -> EmailSender:
    if settings.sendgrid_api_key:
        return SendGridEmailSender(settings.sendgrid_api_key, settings.email_from, settings.sendgrid_api_base)
    return OutboxEmailSender()
