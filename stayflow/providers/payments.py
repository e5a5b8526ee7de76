"""Taking money: Stripe PaymentIntents with manual capture, through the official SDK.

With `STRIPE_API_KEY` set it talks to Stripe; without, `stayflow dev` runs the local fake
Stripe (`stayflow/fakes/stripe_server.py`) and points the SDK at it, so the same code runs
everywhere. Every call carries an idempotency key derived from the booking by the caller:
a retried activity replays Stripe's first answer instead of charging twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

import stripe

from stayflow.providers import CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, ProviderThreads
from stayflow.settings import Settings


@dataclass(frozen=True)
class Authorization:
    intent_id: str | None
    outcome: Literal["authorized", "requires_action", "declined"]
    client_secret: str | None = None
    decline_message: str | None = None


class PaymentProviderError(Exception):
    """Stripe could not be reached or failed on its side: worth retrying."""


class PaymentRejected(Exception):
    """Stripe refused the request itself (not a card decline): retrying cannot help."""


@dataclass(frozen=True)
class WebhookEvent:
    """A payment provider's event whose signature was checked."""

    id: str
    type: str
    object: dict[str, Any]
    """The object the event is about (a PaymentIntent, a Charge, a Dispute), as plain JSON."""


class WebhookSignatureInvalid(Exception):
    """The event is not signed with our webhook secret, is too old, or is not an event at all."""


SIGNATURE_TOLERANCE_SECONDS = 300


class StripePayments:
    def __init__(self, api_key: str, api_base: str, *, webhook_secret: str) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,  # Temporal retries the activity, with the same idempotency key
            # The SDK waits 80 s by default: longer than the activity may take.
            http_client=stripe.RequestsClient(timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)),
        )
        self._threads = ProviderThreads("stripe", 16)
        self._webhook_secret = webhook_secret

    def verified_event(self, payload: bytes, signature: str) -> WebhookEvent:
        """The webhook's event, if Stripe signed it (within the last five minutes) with our secret.

        The same check for the real Stripe and the local fake one (which signs with the local secret)."""
        try:
            stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
            event = json.loads(payload)  # verified: now read it as plain JSON
            return WebhookEvent(id=str(event["id"]), type=str(event["type"]), object=dict(event["data"]["object"]))
        except (ValueError, KeyError, TypeError, stripe.SignatureVerificationError) as exc:
            raise WebhookSignatureInvalid(str(exc)) from exc

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._threads.run(fn, *args, **kwargs)
        except stripe.CardError:
            raise
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise PaymentProviderError(str(exc)) from exc
        except stripe.StripeError as exc:
            # 409: a request with the same idempotency key is still in flight at Stripe; once it
            # ends, the same call replays its answer.
            if (exc.http_status or 500) >= 500 or exc.http_status == 409:
                raise PaymentProviderError(str(exc)) from exc
            raise PaymentRejected(str(exc)) from exc

    async def authorize(
        self, *, amount: int, currency: str, payment_method: str, idempotency_key: str, metadata: dict[str, str]
    ) -> Authorization:
        """Create and confirm a PaymentIntent that holds `amount` on the card (capture later)."""
        params = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method": payment_method,
            "capture_method": "manual",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": metadata,
        }
        try:
            intent = await self._call(
                self._client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            body: dict[str, Any] = exc.json_body if isinstance(exc.json_body, dict) else {}
            intent_id = ((body.get("error") or {}).get("payment_intent") or {}).get("id")
            return Authorization(intent_id=intent_id, outcome="declined", decline_message=exc.user_message or str(exc))
        if intent.status == "requires_capture":
            return Authorization(intent_id=intent.id, outcome="authorized")
        if intent.status == "requires_action":
            return Authorization(intent_id=intent.id, outcome="requires_action", client_secret=intent.client_secret)
        return Authorization(intent_id=intent.id, outcome="declined", decline_message=f"payment {intent.status}")

    async def status(self, intent_id: str) -> str:
        intent = await self._call(self._client.v1.payment_intents.retrieve, intent_id)
        return str(intent.status)

    async def capture(self, *, intent_id: str, idempotency_key: str) -> int:
        """Returns the amount captured."""
        intent = await self._call(
            self._client.v1.payment_intents.capture, intent_id, options={"idempotency_key": idempotency_key}
        )
        return int(intent.amount_received)

    async def void(self, *, intent_id: str, idempotency_key: str) -> None:
        await self._call(
            self._client.v1.payment_intents.cancel, intent_id, options={"idempotency_key": idempotency_key}
        )

    async def refund(self, *, intent_id: str, amount: int, idempotency_key: str) -> str:
        refund = await self._call(
            self._client.v1.refunds.create,
            params={"payment_intent": intent_id, "amount": amount},
            options={"idempotency_key": idempotency_key},
        )
        return str(refund.id)

    # -- Connect: the hosts' accounts, transfers to them and their reversals -------------------

    async def create_host_account(self, *, email: str, country: str, user_id: str, idempotency_key: str) -> str:
        """An Express connected account for a host (Stripe hosts the onboarding form)."""
        account = await self._call(
            self._client.v1.accounts.create,
            params={
                "type": "express",
                "email": email,
                "country": country,
                "capabilities": {"transfers": {"requested": True}},
                "metadata": {"user_id": user_id},
            },
            options={"idempotency_key": idempotency_key},
        )
        return str(account.id)

    async def host_account(self, account_id: str) -> ConnectedAccount:
        account = await self._call(self._client.v1.accounts.retrieve, account_id)
        return connected_account(account.to_dict())

    async def onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        link = await self._call(
            self._client.v1.account_links.create,
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
        )
        return str(link.url)

    async def transfer(
        self, *, amount: int, currency: str, destination: str, idempotency_key: str, metadata: dict[str, str]
    ) -> str:
        """Move `amount` of the platform's balance to a host's connected account."""
        transfer = await self._call(
            self._client.v1.transfers.create,
            params={
                "amount": amount,
                "currency": currency.lower(),
                "destination": destination,
                "transfer_group": metadata.get("booking_id", ""),
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return str(transfer.id)

    async def reverse_transfer(self, *, transfer_id: str, amount: int, idempotency_key: str) -> str:
        reversal = await self._call(
            self._client.v1.transfers.reversals.create,
            transfer_id,
            params={"amount": amount},
            options={"idempotency_key": idempotency_key},
        )
        return str(reversal.id)

    async def submit_dispute_evidence(self, *, dispute_id: str, evidence: dict[str, str], idempotency_key: str) -> str:
        """Give the bank our side of a dispute and submit it (no further edits); Stripe's new status."""
        dispute = await self._call(
            self._client.v1.disputes.update,
            dispute_id,
            params={"evidence": evidence, "submit": True},
            options={"idempotency_key": idempotency_key},
        )
        return str(dispute.status)

    async def available_balance(self) -> dict[str, int]:
        """The platform's available balance per currency, as Stripe's books have it."""
        balance = await self._call(self._client.v1.balance.retrieve)
        return {str(b.currency).upper(): int(b.amount) for b in balance.available}


@dataclass(frozen=True)
class ConnectedAccount:
    account_id: str
    payouts_enabled: bool
    requirements: list[str]


def connected_account(obj: dict[str, Any]) -> ConnectedAccount:
    """A Connect account (from the API or an `account.updated` event) as Stayflow keeps it."""
    requirements = obj.get("requirements") or {}
    return ConnectedAccount(
        account_id=str(obj["id"]),
        payouts_enabled=bool(obj.get("payouts_enabled")),
        requirements=[str(r) for r in requirements.get("currently_due") or []],
    )


@dataclass(frozen=True)
class DisputeFacts:
    """A dispute (from a `charge.dispute.*` event) as Stayflow keeps it."""

    dispute_id: str
    intent_id: str | None
    amount: int
    currency: str
    reason: str
    status: str
    due_by: dt.datetime | None
    """`evidence_details.due_by`: the last moment Stripe takes evidence."""
    withdrawn: int
    """Taken from the platform's balance (0 for an inquiry), from the dispute's balance transactions."""
    fee: int
    """Stripe's dispute fee charged with the withdrawal."""
    reinstated: int
    """Given back to the balance (a won dispute)."""
    fee_returned: int


def dispute_facts(obj: dict[str, Any]) -> DisputeFacts:
    """Read a Dispute object. Its `balance_transactions` (zero, one or two) say what the balance
    moved: a withdrawal (negative amount, the fee positive), then a reinstatement if won."""
    transactions = [t for t in obj.get("balance_transactions") or [] if isinstance(t, dict)]
    out = [t for t in transactions if int(t.get("amount", 0)) < 0]
    back = [t for t in transactions if int(t.get("amount", 0)) > 0]
    due = (obj.get("evidence_details") or {}).get("due_by")
    return DisputeFacts(
        dispute_id=str(obj["id"]),
        intent_id=obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else None,
        amount=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").upper(),
        reason=str(obj.get("reason") or ""),
        status=str(obj.get("status") or ""),
        due_by=dt.datetime.fromtimestamp(int(due), dt.UTC) if due else None,
        withdrawn=-sum(int(t["amount"]) for t in out),
        fee=sum(int(t.get("fee", 0)) for t in out),
        reinstated=sum(int(t["amount"]) for t in back),
        fee_returned=-sum(int(t.get("fee", 0)) for t in back),
    )


def payments_for(settings: Settings) -> StripePayments:
    return StripePayments(
        settings.stripe_api_key, settings.stripe_api_base, webhook_secret=settings.stripe_webhook_secret
    )
