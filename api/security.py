"""Who is calling: JWT access tokens (Litestar's JWTAuth), the current user, and role guards.

An access token is an HS256 JWT that must carry `exp`, `iat`, `sub` and `jti`, plus its
session id (`sid`) and `typ: access` in Litestar's `extras` claim. It works only while its
session is live, its `jti` is not revoked and its user is not suspended, checked on every
request in one indexed query, so logout and suspension take effect at once. Refresh tokens
are opaque random strings, never JWTs, so one can never pass for an access token.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token

from api.errors import Problem
from models import User
from stayflow.rules.roles import Role
from stayflow.settings import Settings

JWT_ALGORITHM = "HS256"
TOKEN_ISSUER = "stayflow"


class CurrentUser(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    full_name: str
    role: Role
    session_id: UUID
    jti: UUID
    token_expires_at: dt.datetime


_LIVE_CALLER_SQL = """
SELECT u.id, u.email, u.full_name, u.role
FROM users u
JOIN sessions s ON s."user" = u.id
WHERE u.id = {} AND s.id = {}
  AND u.suspended_at IS NULL
  AND s.revoked_at IS NULL AND s.expires_at > now()
  AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens r WHERE r.jti = {})
"""


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


async def retrieve_caller(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    user_id, session_id, jti = _uuid(token.sub), _uuid(token.extras.get("sid")), _uuid(token.jti)
    if user_id is None or session_id is None or jti is None or token.extras.get("typ") != "access":
        return None
    return await _live_caller(user_id, session_id, jti, token.exp)


async def _live_caller(user_id: UUID, session_id: UUID, jti: UUID, expires_at: dt.datetime) -> CurrentUser | None:
    rows = await User.raw(_LIVE_CALLER_SQL, user_id, session_id, jti)
    if not rows:
        return None
    row = rows[0]
    return CurrentUser(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        session_id=session_id,
        jti=jti,
        token_expires_at=expires_at,
    )


async def recheck_caller(user: CurrentUser) -> CurrentUser | None:
    """The same checks again for a caller that stays connected (a WebSocket): None once the token
    has expired, its session was revoked or its user suspended."""
    if user.token_expires_at <= dt.datetime.now(dt.UTC):
        return None
    return await _live_caller(user.id, user.session_id, user.jti, user.token_expires_at)


def build_jwt_auth(settings: Settings) -> JWTAuth[CurrentUser, Token]:
    return JWTAuth[CurrentUser, Token](
        retrieve_user_handler=retrieve_caller,
        token_secret=settings.jwt_secret,
        algorithm=JWT_ALGORITHM,
        default_token_expiration=dt.timedelta(seconds=settings.access_token_ttl_seconds),
        accepted_issuers=[TOKEN_ISSUER],
        require_claims=["exp", "iat", "sub", "jti"],
        exclude=["^/schema", "^/health", "^/ready"],
        description="Access token from `POST /api/v1/auth/login` or `/refresh`.",
    )


class TokenIssuer:
    """Mints access tokens for a session (the only place that does) and knows token lifetimes."""

    def __init__(self, jwt_auth: JWTAuth[Any, Token], settings: Settings) -> None:
        self._jwt_auth = jwt_auth
        self.access_ttl_seconds = settings.access_token_ttl_seconds
        self.refresh_ttl_seconds = settings.refresh_token_ttl_seconds

    async def optional_caller(self, connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
        """For public routes that show more to some callers (a host sees their own drafts).
        No Authorization header: anonymous. A header with a bad token: 401, as elsewhere."""
        header = connection.headers.get("authorization", "")
        if not header:
            return None
        scheme, _, encoded = header.partition(" ")
        user = await self.caller_from_token(encoded, connection) if scheme.lower() == "bearer" else None
        if user is None:
            raise Problem(401, "The access token is not valid.")
        return user

    async def caller_from_token(
        self, encoded: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> CurrentUser | None:
        """Exactly the checks of `Authorization: Bearer` for a token that came another way
        (a WebSocket's query string or first frame); None when it is not valid."""
        auth = self._jwt_auth
        try:
            token = auth.token_cls.decode(
                encoded_token=encoded,
                secret=auth.token_secret,
                algorithm=auth.algorithm,
                issuer=list(auth.accepted_issuers or []) or None,
                require_claims=auth.require_claims,
            )
        except NotAuthorizedException:
            return None
        return await retrieve_caller(token, connection)

    def access_token(self, *, user_id: UUID, session_id: UUID) -> str:
        return self._jwt_auth.create_token(
            identifier=str(user_id),
            token_issuer=TOKEN_ISSUER,
            token_unique_jwt_id=str(uuid.uuid4()),
            token_extras={"sid": str(session_id), "typ": "access"},
        )


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    user = connection.user
    if not isinstance(user, CurrentUser):
        raise Problem(401, "Sign in first: send a valid access token as `Authorization: Bearer <token>`.")
    return user


def requires_role(*roles: Role) -> Any:
    """Guard: the caller must hold one of `roles` (admins pass every role check)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = caller(connection)
        if user.role != Role.admin and user.role not in roles:
            raise Problem(403, f"This needs the {' or '.join(r.value for r in roles)} role.")

    return guard


requires_admin = requires_role(Role.admin)
