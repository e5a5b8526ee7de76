"""Accounts, sessions and the tokens that prove them."""

from piccolo.columns import (
    UUID,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from stayflow.rules.roles import Role


class User(Table, tablename="users"):
    id = UUID(primary_key=True)
    email = Varchar(length=320, unique=True)
    """Stored lower-cased; login compares lower-cased."""
    password_hash = Text()
    full_name = Varchar(length=200)
    phone = Varchar(length=32, null=True, default=None)
    """E.164 when set. SMS go to it only once verified (`phone_verified_at`)."""
    phone_verified_at = Timestamptz(null=True, default=None)
    """Set when the owner typed the code texted to `phone`; changing the number clears it (m0031)."""
    phone_code_hash = Varchar(length=64, null=True, default=None)
    """SHA-256 of the last verification code texted, bound to the account and the number."""
    phone_code_expires_at = Timestamptz(null=True, default=None)
    phone_code_attempts = Integer(default=0)
    """Wrong codes typed against the current code; past the limit it is void."""
    bio = Text(default="")
    role = Varchar(length=16, choices=Role, default=Role.guest)
    email_verified_at = Timestamptz(null=True, default=None)
    """Set when the owner opened the link emailed at registration; booking needs it."""
    email_verification_hash = Varchar(length=64, null=True, default=None)
    """SHA-256 of the verification token last emailed (migration m0026 indexes it, unique)."""
    suspended_at = Timestamptz(null=True, default=None)
    suspension_reason = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Session(Table, tablename="sessions"):
    """One signed-in device. Its refresh tokens form one rotation family."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    user_agent = Varchar(length=400, default="")
    ip_address = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoke_reason = Varchar(length=40, null=True, default=None)


class RefreshToken(Table, tablename="refresh_tokens"):
    """An opaque refresh token, kept only as its SHA-256. `used_at` set = rotated away."""

    id = UUID(primary_key=True)
    session = ForeignKey(Session, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    used_at = Timestamptz(null=True, default=None)


class RevokedAccessToken(Table, tablename="revoked_access_tokens"):
    """Access tokens (by `jti`) that stop working before their expiry."""

    jti = UUID(primary_key=True)
    expires_at = Timestamptz(index=True)


class PasswordResetToken(Table, tablename="password_reset_tokens"):
    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    request_id = Varchar(length=200, unique=True)
    """The workflow that issued it: a retried activity finds its token instead of minting another."""
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class RateLimitBucket(Table, tablename="rate_limit_buckets"):
    """Fixed-window counters shared by every API process (per-account throttles)."""

    key = Varchar(length=400, primary_key=True)
    window_start = Timestamptz()
    hits = Integer(default=0)
