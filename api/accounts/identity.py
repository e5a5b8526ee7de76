"""Sessions and their tokens: open, rotate, revoke. Used by the auth routes and admin actions.

A session is one signed-in device and one refresh-token family. Refreshing consumes the
presented token and issues its successor; presenting a consumed token again means it was
copied, so the whole family (the session) is revoked and the caller must sign in again.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec

from api.errors import Problem
from api.security import TokenIssuer
from models import RefreshToken, RevokedAccessToken, Session, User
from stayflow.credentials import new_opaque_token, token_digest


class TokenPair(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _token_pair(tokens: TokenIssuer, user_id: UUID, session_id: UUID) -> TokenPair:
    refresh = new_opaque_token()
    await RefreshToken.insert(RefreshToken(session=session_id, token_hash=token_digest(refresh)))
    access = tokens.access_token(user_id=user_id, session_id=session_id)
    return TokenPair(access, refresh, "bearer", tokens.access_ttl_seconds)


async def open_session(tokens: TokenIssuer, *, user_id: UUID, user_agent: str, ip_address: str) -> TokenPair:
    session = Session(
        user=user_id,
        user_agent=user_agent[:400],
        ip_address=ip_address[:64],
        expires_at=_now() + dt.timedelta(seconds=tokens.refresh_ttl_seconds),
    )
    await session.save()
    return await _token_pair(tokens, user_id, session.id)


_INVALID_REFRESH = "This refresh token is not valid; sign in again."

_CONSUME_SQL = """
UPDATE refresh_tokens SET used_at = now()
WHERE token_hash = {} AND used_at IS NULL
RETURNING session
"""

_LIVE_SESSION_SQL = """
SELECT s.id, s."user" AS user_id FROM sessions s JOIN users u ON u.id = s."user"
WHERE s.id = {} AND s.revoked_at IS NULL AND s.expires_at > now() AND u.suspended_at IS NULL
"""


async def rotate_refresh_token(tokens: TokenIssuer, presented: str) -> TokenPair:
    digest = token_digest(presented)
    consumed = await RefreshToken.raw(_CONSUME_SQL, digest)  # atomic: two racing refreshes, one wins
    if not consumed:
        known = await RefreshToken.select(RefreshToken.session).where(RefreshToken.token_hash == digest).first()
        if known is not None:
            await revoke_session(known["session"], reason="refresh_token_reuse")
        raise Problem(401, _INVALID_REFRESH)
    session_id = consumed[0]["session"]
    live = await Session.raw(_LIVE_SESSION_SQL, session_id)
    if not live:
        raise Problem(401, _INVALID_REFRESH)
    await Session.update({Session.last_used_at: _now()}).where(Session.id == session_id)
    return await _token_pair(tokens, live[0]["user_id"], session_id)


async def revoke_session(session_id: UUID, *, reason: str) -> bool:
    """True when a live session was revoked now."""
    rows = (
        await Session.update({Session.revoked_at: _now(), Session.revoke_reason: reason})
        .where((Session.id == session_id) & Session.revoked_at.is_null())
        .returning(Session.id)
    )
    return bool(rows)


async def revoke_sessions_of(user_id: UUID, *, reason: str, keep: UUID | None = None) -> int:
    condition = (Session.user == user_id) & Session.revoked_at.is_null()
    if keep is not None:
        condition &= Session.id != keep
    rows = (
        await Session.update({Session.revoked_at: _now(), Session.revoke_reason: reason})
        .where(condition)
        .returning(Session.id)
    )
    return len(rows)


async def revoke_access_token(jti: UUID, expires_at: dt.datetime) -> None:
    await RevokedAccessToken.raw(
        "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ({}, {}) ON CONFLICT DO NOTHING",
        jti,
        expires_at,
    )
    # Expired entries can never match a valid token again.
    await RevokedAccessToken.delete().where(RevokedAccessToken.expires_at < _now())


async def find_user_by_email(email: str) -> User | None:
    return await User.objects().where(User.email == email.strip().lower()).first()
