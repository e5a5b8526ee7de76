"""One typed settings object, read from the environment once per process.

Every knob of the product is here; nothing else reads ``os.environ``. Platform settings that
admins change at run time (service fee, windows) live in the database, not here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec

Environment = Literal["dev", "test", "production"]

_MIN_SECRET_LENGTH = 32
_MIN_DISTINCT_SECRET_CHARACTERS = 8
"""48 random base64 characters have ~30 different ones; `"a" * 32` has one."""
FAKE_STRIPE_KEY = "sk_test_stayflow_fake"
STRIPE_API = "https://api.stripe.com"
LOCAL_FAKE_STRIPE = "http://127.0.0.1:12111"
TWILIO_API = "https://api.twilio.com"
DEV_DATABASE = "stayflow"
"""The database `make dev` creates in its embedded PostgreSQL."""


class SettingsError(RuntimeError):
    """The environment does not describe a process that may start."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Environment = "production"
    """Production unless told otherwise (`make dev` and `stayflow dev` say dev, the test suite test)."""
    home: str = ".stayflow"
    """Where the local stack keeps its data (embedded PostgreSQL, Temporal's SQLite file, media)."""

    media_root: str | None = None
    """Where uploaded photos are stored (default: `<home>/media`)."""

    database_url: str | None = None
    """PostgreSQL DSN. Unset in dev: `stayflow dev` starts an embedded PostgreSQL and sets it."""
    temporal_address: str | None = None
    """host:port of Temporal's frontend. Unset in dev: `stayflow dev` starts the dev server."""
    temporal_namespace: str = "default"
    task_queue: str = "stayflow"
    worker_deployment: str = "stayflow"
    """Temporal Worker Deployment every worker joins (no dots: Temporal writes versions `<name>.<build id>`)."""
    build_id: str | None = None
    """This code's build id in the deployment. Unset: `<version>-<hash of workflows/>` (`stayflow build-id`)."""
    dev_postgres_port: int = 54329
    """Port of `make dev`'s embedded PostgreSQL; without STAYFLOW_DATABASE_URL every command uses it."""
    dev_temporal_port: int = 7233
    """gRPC port of `make dev`'s Temporal dev server; without STAYFLOW_TEMPORAL_ADDRESS every command uses it."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    """Base URL users reach the product at; used in links inside emails."""
    temporal_ui_url: str = "http://127.0.0.1:8233"
    worker_metrics_address: str | None = None
    """host:port where the worker serves Temporal SDK metrics for Prometheus (unset: off)."""
    pg_bin_dir: str | None = None
    """Where `stayflow backup`/`restore` find pg_dump and pg_restore (unset: PATH, then the embedded server's)."""

    jwt_secret: str = ""
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    password_reset_ttl_seconds: int = 30 * 60

    auth_rate_limit_per_minute: int = 30
    """Requests per minute one client IP may make to login/forgot/reset/register."""
    login_attempts_per_account: int = 10
    """Login attempts per account per window, from any IP."""
    password_resets_per_account: int = 3
    """Forgot-password requests per account per window."""
    account_throttle_window_seconds: int = 15 * 60

    max_request_body_bytes: int = 1024 * 1024

    forwarded_allow_ips: str = ""
    """Comma-separated IPs or CIDR ranges of the reverse proxies whose `X-Forwarded-For` and
    `X-Forwarded-Proto` are believed (`*`: any peer). Empty: none; the peer's address is the client's."""

    stripe_api_key: str = FAKE_STRIPE_KEY
    """Without a real key, the local fake Stripe (started by `stayflow dev`) answers."""
    stripe_api_base: str = LOCAL_FAKE_STRIPE
    stripe_webhook_secret: str = "whsec_stayflow_local"
    max_unconfirmed_bookings_per_guest: int = 3
    max_unconfirmed_nights_per_guest: int = 31
    """Nights a guest may hold at once in bookings not yet confirmed (3-D Secure pending, or
    awaiting the host): one account cannot hoard a calendar."""
    payment_authentication_minutes: int = 15
    """How long a guest has to complete 3-D Secure before the booking fails."""

    sendgrid_api_key: str | None = None
    sendgrid_api_base: str = "https://api.sendgrid.com"
    email_from: str = "Stayflow <no-reply@stayflow.local>"

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    """The Twilio number (E.164) SMS come from. All three set: SMS go through Twilio."""
    twilio_api_base: str = TWILIO_API
    sms_countries: str = "US,CA,GB,IE,FR,DE,NL,BE,LU,ES,PT,IT,AT,CH,DK,SE,NO,FI,AU,NZ"
    """ISO country codes (comma-separated) whose mobile numbers may be verified and texted; SMS
    to anywhere else (and to premium-rate, toll-free or landline numbers) are refused."""
    phone_codes_per_account_per_hour: int = 5
    """Verification codes one account may ask for in an hour (429 after)."""
    phone_codes_per_number_per_hour: int = 3
    """Verification codes one phone number may receive in an hour, whichever accounts ask (429 after)."""
    sms_per_account_per_day: int = 10
    """SMS of every kind one account may be sent in 24 hours; past it notifications go without SMS
    (in-app and email still go) and codes are refused (429)."""
    phone_code_ttl_seconds: int = 10 * 60
    phone_code_attempts: int = 5
    """Wrong codes typed before a code is void (a new one must be asked for)."""
    message_digest_quiet_seconds: int = 5 * 60
    """A new-message email waits until the conversation has been quiet this long …"""
    message_digest_max_wait_seconds: int = 15 * 60
    """… but no longer than this after the first unnotified message; also the least time between
    two such emails to one person about one conversation."""
    websocket_recheck_seconds: int = 60
    """How often a live connection re-checks that its session is still valid (logout, suspension)."""

    ical_sync_interval_seconds: int = 15 * 60
    """How often each listing's imported calendar feeds are fetched (its Temporal Schedule's interval)."""
    ical_allowed_hosts: str = ""
    """Comma-separated `host` or `host:port` feed hosts exempt from the private-address rule (a feed
    served on this machine in dev or tests). Never in production. In dev the API's own origin is
    always exempt, so a listing's export can be imported into another listing."""
    ical_max_feed_bytes: int = 2 * 1024 * 1024
    ical_fetch_timeout_seconds: float = 15.0

    reconciler_interval_minutes: int = 5
    """How often the reconciler (Temporal Schedule `<task queue>-reconciler`) looks for bookings whose
    status and process disagree, holds of ended bookings, unrecorded captures and missing payouts."""
    reconciler_grace_minutes: int = 10
    """How old a booking or payment must be (since its last change) before the reconciler judges it:
    it never races a booking being started or moved."""

    @property
    def sms_regions(self) -> frozenset[str]:
        return frozenset(c.strip().upper() for c in self.sms_countries.split(",") if c.strip())

    @property
    def home_dir(self) -> Path:
        return Path(self.home).resolve()

    @property
    def database_dsn(self) -> str:
        """STAYFLOW_DATABASE_URL, else the database of `make dev`'s embedded PostgreSQL."""
        return self.database_url or f"postgresql://postgres@127.0.0.1:{self.dev_postgres_port}/{DEV_DATABASE}"

    @property
    def temporal_target(self) -> str:
        """STAYFLOW_TEMPORAL_ADDRESS, else `make dev`'s Temporal dev server."""
        return self.temporal_address or f"127.0.0.1:{self.dev_temporal_port}"

    @property
    def stripe_uses_real_api(self) -> bool:
        return self.stripe_api_base == STRIPE_API

    @property
    def ical_private_hosts_allowed(self) -> frozenset[str]:
        hosts = {h.strip().lower() for h in self.ical_allowed_hosts.split(",") if h.strip()}
        if self.is_dev:
            own = urlsplit(self.public_url)
            if own.hostname:
                hosts.add(f"{own.hostname.lower()}:{own.port or (443 if own.scheme == 'https' else 80)}")
        return frozenset(hosts)

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def email_provider(self) -> Literal["sendgrid", "outbox"]:
        return "sendgrid" if self.sendgrid_api_key else "outbox"

    @property
    def sms_provider(self) -> Literal["twilio", "outbox"]:
        configured = self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number
        return "twilio" if configured else "outbox"

    def check_can_start(self) -> None:
        """Refuse to run production on defaults: every missing piece is named at once."""
        if self.env != "production":
            return
        problems = []
        if len(self.jwt_secret) < _MIN_SECRET_LENGTH or len(set(self.jwt_secret)) < _MIN_DISTINCT_SECRET_CHARACTERS:
            problems.append(
                f"STAYFLOW_JWT_SECRET must be set to at least {_MIN_SECRET_LENGTH} random characters"
                f" (at least {_MIN_DISTINCT_SECRET_CHARACTERS} different ones: `openssl rand -base64 48`)"
            )
        if not self.database_url:
            problems.append("STAYFLOW_DATABASE_URL must point at the production PostgreSQL")
        if not self.temporal_address:
            problems.append("STAYFLOW_TEMPORAL_ADDRESS must point at the Temporal frontend (host:port)")
        if not self.stripe_uses_real_api:
            problems.append("STRIPE_API_KEY must be a Stripe secret key (sk_live_… or sk_test_…)")
        if self.stripe_api_key == FAKE_STRIPE_KEY or not self.stripe_api_key.startswith(
            ("sk_live_", "sk_test_", "rk_")
        ):
            problems.append("STRIPE_API_KEY must be set to your Stripe secret key, not the local fake's")
        if self.stripe_webhook_secret == "whsec_stayflow_local":
            problems.append("STRIPE_WEBHOOK_SECRET must be the signing secret of your Stripe webhook endpoint")
        if self.ical_allowed_hosts.strip():
            problems.append("STAYFLOW_ICAL_ALLOWED_HOSTS must be empty: feed URLs never reach private addresses")
        if problems:
            raise SettingsError("Stayflow refuses to start in production mode:\n  - " + "\n  - ".join(problems))


# Environment variable -> field. Provider keys keep their vendors' conventional names.
_ENV_NAMES: dict[str, str] = {
    "STAYFLOW_ENV": "env",
    "STAYFLOW_HOME": "home",
    "STAYFLOW_MEDIA_ROOT": "media_root",
    "STAYFLOW_DATABASE_URL": "database_url",
    "STAYFLOW_TEMPORAL_ADDRESS": "temporal_address",
    "STAYFLOW_TEMPORAL_NAMESPACE": "temporal_namespace",
    "STAYFLOW_TASK_QUEUE": "task_queue",
    "STAYFLOW_WORKER_DEPLOYMENT": "worker_deployment",
    "STAYFLOW_BUILD_ID": "build_id",
    "STAYFLOW_DEV_POSTGRES_PORT": "dev_postgres_port",
    "STAYFLOW_DEV_TEMPORAL_PORT": "dev_temporal_port",
    "STAYFLOW_API_HOST": "api_host",
    "STAYFLOW_API_PORT": "api_port",
    "STAYFLOW_PUBLIC_URL": "public_url",
    "STAYFLOW_TEMPORAL_UI_URL": "temporal_ui_url",
    "STAYFLOW_WORKER_METRICS_ADDRESS": "worker_metrics_address",
    "STAYFLOW_PG_BIN_DIR": "pg_bin_dir",
    "STAYFLOW_JWT_SECRET": "jwt_secret",
    "STAYFLOW_ACCESS_TOKEN_TTL_SECONDS": "access_token_ttl_seconds",
    "STAYFLOW_REFRESH_TOKEN_TTL_SECONDS": "refresh_token_ttl_seconds",
    "STAYFLOW_PASSWORD_RESET_TTL_SECONDS": "password_reset_ttl_seconds",
    "STAYFLOW_AUTH_RATE_LIMIT_PER_MINUTE": "auth_rate_limit_per_minute",
    "STAYFLOW_LOGIN_ATTEMPTS_PER_ACCOUNT": "login_attempts_per_account",
    "STAYFLOW_PASSWORD_RESETS_PER_ACCOUNT": "password_resets_per_account",
    "STAYFLOW_ACCOUNT_THROTTLE_WINDOW_SECONDS": "account_throttle_window_seconds",
    "STAYFLOW_MAX_REQUEST_BODY_BYTES": "max_request_body_bytes",
    "STAYFLOW_FORWARDED_ALLOW_IPS": "forwarded_allow_ips",
    "STRIPE_API_KEY": "stripe_api_key",
    "STAYFLOW_STRIPE_API_BASE": "stripe_api_base",
    "STRIPE_WEBHOOK_SECRET": "stripe_webhook_secret",
    "STAYFLOW_MAX_UNCONFIRMED_BOOKINGS": "max_unconfirmed_bookings_per_guest",
    "STAYFLOW_MAX_UNCONFIRMED_NIGHTS": "max_unconfirmed_nights_per_guest",
    "SENDGRID_API_KEY": "sendgrid_api_key",
    "STAYFLOW_SENDGRID_API_BASE": "sendgrid_api_base",
    "STAYFLOW_EMAIL_FROM": "email_from",
    "TWILIO_ACCOUNT_SID": "twilio_account_sid",
    "TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "TWILIO_FROM_NUMBER": "twilio_from_number",
    "STAYFLOW_TWILIO_API_BASE": "twilio_api_base",
    "STAYFLOW_SMS_COUNTRIES": "sms_countries",
    "STAYFLOW_PHONE_CODES_PER_ACCOUNT_PER_HOUR": "phone_codes_per_account_per_hour",
    "STAYFLOW_PHONE_CODES_PER_NUMBER_PER_HOUR": "phone_codes_per_number_per_hour",
    "STAYFLOW_SMS_PER_ACCOUNT_PER_DAY": "sms_per_account_per_day",
    "STAYFLOW_PHONE_CODE_TTL_SECONDS": "phone_code_ttl_seconds",
    "STAYFLOW_PHONE_CODE_ATTEMPTS": "phone_code_attempts",
    "STAYFLOW_MESSAGE_DIGEST_QUIET_SECONDS": "message_digest_quiet_seconds",
    "STAYFLOW_MESSAGE_DIGEST_MAX_WAIT_SECONDS": "message_digest_max_wait_seconds",
    "STAYFLOW_WEBSOCKET_RECHECK_SECONDS": "websocket_recheck_seconds",
    "STAYFLOW_ICAL_SYNC_INTERVAL_SECONDS": "ical_sync_interval_seconds",
    "STAYFLOW_ICAL_ALLOWED_HOSTS": "ical_allowed_hosts",
    "STAYFLOW_ICAL_MAX_FEED_BYTES": "ical_max_feed_bytes",
    "STAYFLOW_ICAL_FETCH_TIMEOUT_SECONDS": "ical_fetch_timeout_seconds",
    "STAYFLOW_RECONCILER_INTERVAL_MINUTES": "reconciler_interval_minutes",
    "STAYFLOW_RECONCILER_GRACE_MINUTES": "reconciler_grace_minutes",
}


DEV_STACK_MARKER = "dev-stack"
"""Written under the stack's home by `stayflow dev`: commands run beside it (create-admin, migrate,
backup, a second worker) are dev commands too. Anywhere else the default is production."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from environment variables; empty values count as unset."""
    environ = os.environ if environ is None else environ
    raw = {field: environ[name] for name, field in _ENV_NAMES.items() if environ.get(name)}
    if "env" not in raw and (Path(raw.get("home", ".stayflow")) / DEV_STACK_MARKER).exists():
        raw["env"] = "dev"  # a command beside `make dev`, in its checkout: the local stack says dev
    if environ.get("STRIPE_API_KEY") and not environ.get("STAYFLOW_STRIPE_API_BASE"):
        raw["stripe_api_base"] = STRIPE_API  # a real key talks to the real Stripe
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
    if "." in settings.worker_deployment:
        raise SettingsError("STAYFLOW_WORKER_DEPLOYMENT must not contain a dot")
    if not settings.jwt_secret and settings.env != "production":
        settings = msgspec.structs.replace(settings, jwt_secret=_local_jwt_secret(settings.home_dir))
    return settings


def _local_jwt_secret(home: Path) -> str:
    """Dev/test only: a random secret kept under the stack's home so tokens survive restarts."""
    path = home / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
