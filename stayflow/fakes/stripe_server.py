"""A local Stripe: the PaymentIntent and Refund endpoints of Stripe's API, with its test cards.

It speaks Stripe's wire format (form-encoded requests, JSON objects, `Idempotency-Key` replay,
error objects), so the real `stripe` SDK is pointed at it by `api_base`. Test payment methods:
`pm_card_visa` (and Stripe's other succeeding test cards) succeeds, `pm_card_chargeDeclined` and
`pm_card_chargeDeclinedInsufficientFunds` are declined, `pm_card_authenticationRequired`
needs 3-D Secure (`requires_action`); any other payment method is unknown: 400
`resource_missing`, as Stripe answers. A request whose `Idempotency-Key` is still in flight is
answered 409 `idempotency_error` (Stripe does not queue them). Every request is recorded,
`fail_next` makes the next requests answer 500 (an outage), and `delay_seconds` makes each
request take that long (a slow Stripe), so a test can assert "exactly one capture".

Connect (issue 11): Express `accounts` and `account_links` (the link's URL completes onboarding
at once when opened, no browser form), `transfers` and their `reversals` (refused with Stripe's
`insufficient_capabilities_for_transfer` while the account cannot be paid), `disputes` (opened on
a captured PaymentIntent by `open_dispute` or `POST /v1/test_helpers/disputes`, closed by
`close_dispute` or `POST /v1/test_helpers/disputes/{id}/close`; as Stripe does, opening one
withdraws the disputed amount plus the dispute fee, `dispute_fee`, and a won one reinstates the
amount (the fee too with `return_fee_when_won`), each shown in the dispute's
`balance_transactions`), the platform's `balance` (its own books: captures - refunds - transfers
+ reversals - disputed - dispute fees + won), and the `account.updated`, `charge.dispute.created`
and `charge.dispute.closed` events: kept in `events`, and POSTed, signed, to `webhook_url` when one
is set (as `stayflow dev` does).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
NEEDS_3DS = {"pm_card_authenticationRequired"}
SUCCEEDING = {
    "pm_card_visa",
    "pm_card_visa_debit",
    "pm_card_mastercard",
    "pm_card_mastercard_debit",
    "pm_card_amex",
    "pm_card_discover",
    "pm_card_diners",
    "pm_card_jcb",
    "pm_card_unionpay",
}
"""Stripe's test PaymentMethods that authorize (https://docs.stripe.com/testing)."""
KNOWN_PAYMENT_METHODS = SUCCEEDING | set(DECLINES) | NEEDS_3DS


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    status: int


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding: `metadata[booking_id]=x` -> {"metadata": {"booking_id": "x"}}."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


@dataclass
class FakeStripe:
    api_key: str = "sk_test_stayflow_fake"
    fail_next: int = 0
    fail_status: int = 500
    fail_only: str = ""
    """With `fail_next`: only requests whose path ends so fail (e.g. "/capture")."""
    delay_seconds: float = 0.0
    delay_only: str = ""
    """With `delay_seconds`: only requests whose path ends so are slow."""
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    balance: dict[str, int] = field(default_factory=dict)
    """The platform's available balance per currency, as Stripe's own books have it."""
    dispute_fee: int = 1500
    """Stripe's fee per dispute (15.00 in the charge's currency), withdrawn with the disputed amount."""
    return_fee_when_won: bool = False
    """Whether a won dispute gives the fee back: Stripe stopped doing so in 2025 (a later "counter fee"
    is the one refunded); older accounts and some countries still get it back."""
    events: list[dict[str, Any]] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str = "whsec_stayflow_local"
    _replays: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _in_flight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- what tests ask -------------------------------------------------------------------

    def calls(self, method: str, suffix: str) -> list[Recorded]:
        """Requests that reached the handlers and succeeded (outage answers and replays excluded)."""
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix) and r.status == 200]

    def authorized(self, header: str) -> bool:
        """Stripe takes the secret key as a bearer token (the SDK) or as HTTP basic auth's user name
        (`curl -u sk_test_...:`)."""
        basic = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        return header in (f"Bearer {self.api_key}", basic)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- the API --------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["v1", "payment_intents"]:
            if method == "POST" and len(parts) == 2:
                return self._create_intent(params)
            intent = self.intents.get(parts[2]) if len(parts) > 2 else None
            if intent is None:
                return 404, _error("invalid_request_error", "resource_missing", "No such payment_intent")
            if method == "GET" and len(parts) == 3:
                return 200, intent
            if method == "POST" and len(parts) == 4 and parts[3] == "capture":
                return self._capture(intent, params)
            if method == "POST" and len(parts) == 4 and parts[3] == "cancel":
                return self._cancel(intent)
            if method == "POST" and len(parts) == 4 and parts[3] == "confirm":
                return self._confirm(intent)
        if parts[:2] == ["v1", "refunds"] and method == "POST" and len(parts) == 2:
            return self._refund(params)
        if parts[:2] == ["v1", "balance"] and method == "GET":
            return 200, {
                "object": "balance",
                "available": [{"amount": a, "currency": c} for c, a in sorted(self.balance.items())],
                "pending": [],
                "livemode": False,
            }
        if parts[:2] == ["v1", "accounts"]:
            return self._accounts(method, parts, params)
        if parts == ["v1", "account_links"] and method == "POST":
            return self._account_link(params)
        if parts[:2] == ["v1", "transfers"]:
            return self._transfers(method, parts, params)
        if parts[:2] == ["v1", "disputes"] and len(parts) == 3:
            dispute = self.disputes.get(parts[2])
            if dispute is None:
                return 404, _error("invalid_request_error", "resource_missing", "No such dispute")
            if method == "POST":
                return self._update_dispute(dispute, params)
            return 200, dispute
        if parts[:3] == ["v1", "test_helpers", "disputes"] and method == "POST":
            if len(parts) == 3:
                try:
                    return 200, self.open_dispute(
                        params.get("payment_intent") or self._captured_intent_of(params.get("booking", "")),
                        reason=params.get("reason", "fraudulent"),
                        due_in_days=int(params.get("due_in_days", 7)),
                    )
                except (KeyError, ValueError) as exc:
                    return 400, _error("invalid_request_error", "resource_missing", str(exc))
            if len(parts) == 5 and parts[4] == "close" and parts[3] in self.disputes:
                return 200, self.close_dispute(parts[3], won=params.get("outcome", "won") == "won")
        return 404, _error("invalid_request_error", "resource_missing", f"Unrecognized request URL ({path})")

    def _create_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            amount = int(params["amount"])
            currency = params["currency"].lower()
        except (KeyError, ValueError):
            return 400, _error("invalid_request_error", "parameter_missing", "Missing required param: amount.")
        if amount < 50:
            return 400, _error("invalid_request_error", "amount_too_small", "Amount must be at least 50 cents")
        method = params.get("payment_method")
        if method is not None and method not in KNOWN_PAYMENT_METHODS:
            message = f"No such PaymentMethod: '{method}'"
            return 400, _error("invalid_request_error", "resource_missing", message, param="payment_method")
        intent_id = "pi_" + secrets.token_hex(12)
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": currency,
            "capture_method": params.get("capture_method", "automatic"),
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": params.get("metadata", {}),
            "payment_method": params.get("payment_method"),
            "status": "requires_payment_method",
            "last_payment_error": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        if params.get("confirm") == "true":
            return self._confirm(intent)
        return 200, intent

    def _confirm(self, intent: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = intent.get("payment_method") or ""
        if method in DECLINES:
            code, decline_code, message = DECLINES[method]
            error = _error("card_error", code, message, decline_code=decline_code)
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = dict(error["error"])
            error["error"]["payment_intent"] = {k: v for k, v in intent.items() if k != "last_payment_error"}
            return 402, error
        if method in NEEDS_3DS:
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk"}
            return 200, intent
        self._authorized(intent)
        return 200, intent

    def _authorized(self, intent: dict[str, Any]) -> None:
        if intent["capture_method"] == "manual":
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            self._move(intent["currency"], intent["amount"])

    def complete_authentication(self, intent_id: str, *, succeed: bool = True) -> dict[str, Any]:
        """What the guest's browser does with the client secret (3-D Secure passed or failed)."""
        intent = self.intents[intent_id]
        if succeed:
            self._authorized(intent)
        else:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = _error(
                "card_error", "authentication_required", "The card was not authenticated."
            )["error"]
        return intent

    def _capture(self, intent: dict[str, Any], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if intent["status"] != "requires_capture":
            return 400, _error(
                "invalid_request_error",
                "payment_intent_unexpected_state",
                f"This PaymentIntent could not be captured because it has a status of {intent['status']}.",
            )
        amount = int(params.get("amount_to_capture", intent["amount"]))
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._move(intent["currency"], amount)
        return 200, intent

    def _cancel(self, intent: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if intent["status"] == "succeeded":
            return 400, _error(
                "invalid_request_error",
                "payment_intent_unexpected_state",
                "You cannot cancel this PaymentIntent because it has a status of succeeded.",
            )
        intent.update(status="canceled", amount_capturable=0)
        return 200, intent

    def _refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, _error("invalid_request_error", "charge_not_refundable", "This payment cannot be refunded.")
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
        amount = int(params.get("amount", intent["amount_received"] - refunded))
        if amount <= 0 or refunded + amount > intent["amount_received"]:
            return 400, _error(
                "invalid_request_error", "amount_too_large", "Refund amount is greater than unrefunded amount."
            )
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "metadata": params.get("metadata", {}),
        }
        self.refunds[refund["id"]] = refund
        self._move(intent["currency"], -amount)
        return 200, refund

    # -- Connect: accounts, onboarding, transfers, reversals --------------------------------------

    def _move(self, currency: str, amount: int) -> None:
        self.balance[currency] = self.balance.get(currency, 0) + amount

    def _accounts(self, method: str, parts: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and len(parts) == 2:
            account_id = "acct_" + secrets.token_hex(8)
            account: dict[str, Any] = {
                "id": account_id,
                "object": "account",
                "type": params.get("type", "express"),
                "email": params.get("email"),
                "country": params.get("country", "US"),
                "metadata": params.get("metadata", {}),
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "capabilities": {"transfers": "inactive"},
                "requirements": {
                    "currently_due": ["external_account", "individual.verification.document", "tos_acceptance.date"],
                    "disabled_reason": "requirements.past_due",
                },
                "created": int(time.time()),
            }
            self.accounts[account_id] = account
            return 200, account
        found = self.accounts.get(parts[2]) if len(parts) == 3 else None
        if found is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such account")
        return 200, found

    def _account_link(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        account_id = params.get("account", "")
        if account_id not in self.accounts:
            return 400, _error("invalid_request_error", "resource_missing", f"No such account: '{account_id}'")
        # Opening the URL completes onboarding at once (no form): `make dev` needs no browser.
        return_url = params.get("return_url", "")
        return 200, {
            "object": "account_link",
            "url": f"{self.url}/connect/onboard/{account_id}?return_url={return_url}",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
        }

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """What the host does on Stripe's onboarding form: the account can now be paid."""
        account = self.accounts[account_id]
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["capabilities"] = {"transfers": "active"}
        account["requirements"] = {"currently_due": [], "disabled_reason": None}
        self.emit("account.updated", account)
        return account

    def restrict_account(self, account_id: str, requirement: str = "individual.verification.document") -> None:
        """Stripe restricts an account that owes it information: transfers to it are refused."""
        account = self.accounts[account_id]
        account.update(payouts_enabled=False)
        account["capabilities"] = {"transfers": "inactive"}
        account["requirements"] = {"currently_due": [requirement], "disabled_reason": "requirements.past_due"}
        self.emit("account.updated", account)

    def _transfers(self, method: str, parts: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and len(parts) == 2:
            account = self.accounts.get(params.get("destination", ""))
            if account is None:
                return 400, _error("invalid_request_error", "resource_missing", "No such destination account")
            if account["capabilities"].get("transfers") != "active":
                return 400, _error(
                    "invalid_request_error",
                    "insufficient_capabilities_for_transfer",
                    "Your destination account needs to have the transfers capability enabled.",
                )
            amount, currency = int(params.get("amount", 0)), str(params.get("currency", "")).lower()
            if amount <= 0:
                return 400, _error("invalid_request_error", "parameter_invalid_integer", "Invalid amount.")
            if self.balance.get(currency, 0) < amount:
                return 400, _error(
                    "invalid_request_error", "balance_insufficient", "You have insufficient available funds."
                )
            transfer = {
                "id": "tr_" + secrets.token_hex(12),
                "object": "transfer",
                "amount": amount,
                "amount_reversed": 0,
                "currency": currency,
                "destination": account["id"],
                "transfer_group": params.get("transfer_group"),
                "metadata": params.get("metadata", {}),
                "reversed": False,
                "created": int(time.time()),
            }
            self.transfers[transfer["id"]] = transfer
            self._move(currency, -amount)
            return 200, transfer
        known = self.transfers.get(parts[2]) if len(parts) > 2 else None
        if known is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such transfer")
        transfer = known
        if method == "POST" and len(parts) == 4 and parts[3] == "reversals":
            amount = int(params.get("amount", transfer["amount"] - transfer["amount_reversed"]))
            if amount <= 0 or transfer["amount_reversed"] + amount > transfer["amount"]:
                return 400, _error(
                    "invalid_request_error", "amount_too_large", "Reversal amount is greater than unreversed amount."
                )
            transfer["amount_reversed"] += amount
            transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
            self._move(transfer["currency"], amount)
            return 200, {
                "id": "trr_" + secrets.token_hex(12),
                "object": "transfer_reversal",
                "amount": amount,
                "currency": transfer["currency"],
                "transfer": transfer["id"],
                "metadata": params.get("metadata", {}),
            }
        return 200, transfer

    # -- disputes -----------------------------------------------------------------------------

    def open_dispute(self, intent_id: str, *, reason: str = "fraudulent", due_in_days: int = 7) -> dict[str, Any]:
        """The guest's bank disputes the charge: Stripe takes the amount (and its dispute fee) back
        and asks for evidence."""
        intent = self.intents.get(intent_id)
        if intent is None or intent["status"] != "succeeded":
            raise KeyError(f"No captured payment_intent {intent_id!r}")
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)
        amount = intent["amount_received"] - refunded
        dispute = {
            "id": "dp_" + secrets.token_hex(12),
            "object": "dispute",
            "amount": amount,
            "currency": intent["currency"],
            "charge": "ch_" + intent_id.removeprefix("pi_"),
            "payment_intent": intent_id,
            "reason": reason,
            "status": "needs_response",
            "evidence": {},
            "evidence_details": {
                "due_by": int(time.time()) + due_in_days * 86400,
                "has_evidence": False,
                "submission_count": 0,
            },
            "balance_transactions": [self._dispute_transaction(intent["currency"], -amount, self.dispute_fee)],
            "is_charge_refundable": False,
            "created": int(time.time()),
        }
        self.disputes[dispute["id"]] = dispute
        self._move(dispute["currency"], -amount - self.dispute_fee)
        self.emit("charge.dispute.created", dispute)
        return dispute

    def _captured_intent_of(self, booking_id: str) -> str:
        """The booking's first captured PaymentIntent (by its `metadata[booking_id]`): `make dev`'s user
        knows the booking, not the intent."""
        for intent in self.intents.values():
            if booking_id and intent["status"] == "succeeded" and intent["metadata"].get("booking_id") == booking_id:
                return str(intent["id"])
        return ""

    @staticmethod
    def _dispute_transaction(currency: str, amount: int, fee: int) -> dict[str, Any]:
        """A balance transaction of a dispute: `amount` withdrawn (negative) or reinstated, `fee` charged
        (positive) or given back (negative); `net` is what the balance moved."""
        return {
            "id": "txn_" + secrets.token_hex(12),
            "object": "balance_transaction",
            "type": "adjustment",
            "reporting_category": "dispute" if amount < 0 else "dispute_reversal",
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": currency,
        }

    def _update_dispute(self, dispute: dict[str, Any], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if dispute["status"] not in ("needs_response", "warning_needs_response"):
            return 400, _error(
                "invalid_request_error", "dispute_already_submitted", "This dispute is closed to evidence."
            )
        dispute["evidence"].update(params.get("evidence", {}))
        dispute["evidence_details"]["has_evidence"] = bool(dispute["evidence"])
        if params.get("submit", "true") == "true":
            dispute["status"] = "under_review"
            dispute["evidence_details"]["submission_count"] += 1
        return 200, dispute

    def close_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        """The bank decides: won gives the amount (and the fee, see `return_fee_when_won`) back to the
        platform, lost keeps it with the guest."""
        dispute = self.disputes[dispute_id]
        dispute["status"] = "won" if won else "lost"
        if won:
            withdrawn = dispute["balance_transactions"][0]
            fee_back = withdrawn["fee"] if self.return_fee_when_won else 0
            back = self._dispute_transaction(dispute["currency"], -withdrawn["amount"], -fee_back)
            dispute["balance_transactions"].append(back)
            self._move(dispute["currency"], back["net"])
        self.emit("charge.dispute.closed", dispute)
        return dispute

    # -- events -------------------------------------------------------------------------------

    def emit(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Record a Stripe event about `obj`, and deliver it signed to `webhook_url` if set."""
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
        }
        self.events.append(event)
        if self.webhook_url:
            threading.Thread(target=self._deliver, args=(event,), daemon=True).start()
        return event

    def signature(self, payload: str, at: int | None = None) -> str:
        """Stripe's `Stripe-Signature` header of a payload, with `webhook_secret`."""
        timestamp = at or int(time.time())
        mac = hmac.new(self.webhook_secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
        return f"t={timestamp},v1={mac.hexdigest()}"

    def _deliver(self, event: dict[str, Any]) -> None:
        payload = json.dumps(event)
        for attempt in range(5):  # Stripe retries a non-2xx answer; so does the fake, briefly
            request = urllib.request.Request(  # noqa: S310 (the API's own http URL on loopback)
                self.webhook_url,
                data=payload.encode(),
                headers={"Content-Type": "application/json", "Stripe-Signature": self.signature(payload)},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                    if answer.status < 300:
                        return
            except OSError:
                pass
            time.sleep(1 + attempt)

    # -- HTTP -----------------------------------------------------------------------------

    def __enter__(self) -> FakeStripe:
        self.start("127.0.0.1", 0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, host: str, port: int) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _respond(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(8))
                self.end_headers()
                self.wfile.write(payload)

            def _onboard(self, account_id: str, query: dict[str, str]) -> None:
                with fake._lock:
                    known = account_id in fake.accounts
                    if known:
                        fake.complete_onboarding(account_id)
                if not known:
                    return self._respond(404, _error("invalid_request_error", "resource_missing", "No such account"))
                if query.get("return_url"):
                    self.send_response(303)
                    self.send_header("Location", query["return_url"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._respond(200, {"onboarded": account_id})

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                params = _nest(parse_qsl(raw or query, keep_blank_values=True))
                key = self.headers.get("Idempotency-Key")
                if method == "GET" and path.startswith("/connect/onboard/"):
                    return self._onboard(path.rsplit("/", 1)[-1], dict(parse_qsl(query)))
                if not fake.authorized(self.headers.get("Authorization") or ""):
                    return self._respond(
                        401, _error("invalid_request_error", "api_key_invalid", "Invalid API Key provided")
                    )
                with fake._lock:
                    if fake.fail_next > 0 and path.endswith(fake.fail_only):
                        fake.fail_next -= 1
                        fake.requests.append(Recorded(method, path, params, key, fake.fail_status))
                        return self._respond(
                            fake.fail_status, _error("api_error", "simulated_outage", "Simulated outage")
                        )
                    if key and key in fake._replays:  # Stripe answers a replayed key with the first answer
                        status, body = fake._replays[key]
                        return self._respond(status, body)
                    if key and key in fake._in_flight:
                        fake.requests.append(Recorded(method, path, params, key, 409))
                        return self._respond(
                            409,
                            _error(
                                "idempotency_error",
                                "idempotency_key_in_use",
                                "There is currently another in-progress request using this Idempotent Key "
                                "(that probably means you submitted twice, and the other request is still "
                                "going through). Please try again later.",
                            ),
                        )
                    slow = fake.delay_seconds if path.endswith(fake.delay_only) else 0.0
                    if key and slow:
                        fake._in_flight.add(key)
                if slow:
                    time.sleep(slow)
                with fake._lock:
                    fake._in_flight.discard(key or "")
                    status, body = fake.handle(method, path, params)
                    fake.requests.append(Recorded(method, path, params, key, status))
                    if key and method == "POST" and status < 500:
                        fake._replays[key] = (status, json.loads(json.dumps(body)))
                return self._respond(status, body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self._server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _error(kind: str, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": message, **extra}}


def main() -> None:
    parser = argparse.ArgumentParser(description="A local fake Stripe for `stayflow dev`.")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--api-key", default=FakeStripe.api_key)
    parser.add_argument("--webhook-url", default="", help="where to POST signed events (the API's webhook)")
    parser.add_argument("--webhook-secret", default=FakeStripe.webhook_secret)
    args = parser.parse_args()
    fake = FakeStripe(api_key=args.api_key, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret)
    fake.start("127.0.0.1", args.port)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
