"""Accounts and sessions: register, sign in and out, refresh, passwords (SPEC §4)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody

from api.accounts import identity, service
from api.accounts.users import UserRead, user_read
from api.pagination import Page
from api.security import CurrentUser, TokenIssuer
from models import Session
from stayflow.rules.roles import Role, SelfServiceRole
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: Name
    phone: str | None = None
    role: SelfServiceRole = "guest"


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken


class ForgotPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class ResetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: OpaqueToken
    new_password: Password


class ChangePasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class Accepted(msgspec.Struct):
    detail: str


class SessionRead(msgspec.Struct):
    id: UUID
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str
    ip_address: str
    current: bool


def session_read(session: Session, current_session_id: UUID) -> SessionRead:
    return SessionRead(
        id=session.id,
        created_at=session.created_at,
        last_used_at=session.last_used_at,
        expires_at=session.expires_at,
        user_agent=session.user_agent,
        ip_address=session.ip_address,
        current=session.id == current_session_id,
    )


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def auth_rate_limit(settings: Settings) -> RateLimitConfig:
    """Per client IP across the public auth routes; each API process counts its own."""
    return RateLimitConfig(rate_limit=("minute", settings.auth_rate_limit_per_minute), store="auth_rate_limit")


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", operation_id="register", summary="Create an account", exclude_from_auth=True)
    async def register(
        self,
        data: JSONBody[RegisterRequest],
        settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
    ) -> UserRead:
        """Emails a link to verify the address: booking needs a verified email. An address that
        already has an account gets the same answer, and its owner an email about the attempt."""
        user = await service.register(
            email=data.email,
            password=data.password,
            full_name=data.full_name,
            phone=data.phone,
            role=Role(data.role),
            settings=settings,
            temporal=temporal,
        )
        return user_read(user)

    @post(
        "/login",
        operation_id="login",
        summary="Sign in: get a token pair",
        exclude_from_auth=True,
        status_code=200,
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        settings: NamedDependency[Settings],
        tokens: NamedDependency[TokenIssuer],
    ) -> identity.TokenPair:
        return await service.sign_in(
            tokens,
            settings,
            email=data.email,
            password=data.password,
            user_agent=request.headers.get("user-agent", ""),
            ip_address=client_ip(request),
        )

    @post(
        "/refresh",
        operation_id="refresh",
        summary="Trade a refresh token for a new pair",
        exclude_from_auth=True,
        status_code=200,
    )
    async def refresh(
        self,
        data: JSONBody[RefreshRequest],
        tokens: NamedDependency[TokenIssuer],
    ) -> identity.TokenPair:
        return await identity.rotate_refresh_token(tokens, data.refresh_token)

    @post("/logout", operation_id="logout", summary="Sign out this session", status_code=204)
    async def logout(self, request: Request[CurrentUser, Any, Any]) -> None:
        await service.sign_out(request.user, everywhere=False)

    @post("/logout-all", operation_id="logoutAll", summary="Sign out every session", status_code=204)
    async def logout_all(self, request: Request[CurrentUser, Any, Any]) -> None:
        await service.sign_out(request.user, everywhere=True)

    @post(
        "/password/forgot",
        operation_id="forgotPassword",
        summary="Email me a reset link",
        exclude_from_auth=True,
        status_code=202,
    )
    async def forgot_password(
        self,
        data: JSONBody[ForgotPasswordRequest],
        settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
    ) -> Accepted:
        """The same answer whether or not the email has an account."""
        await service.request_password_reset(data.email, settings, temporal)
        return Accepted("If an account exists for that email, a reset link is on its way.")

    @post(
        "/password/reset",
        operation_id="resetPassword",
        summary="Set a new password with a reset token",
        exclude_from_auth=True,
        status_code=204,
    )
    async def reset_password(self, data: JSONBody[ResetPasswordRequest]) -> None:
        """One use per token; every session of the account is signed out."""
        await service.reset_password(data.token, data.new_password)

    @post("/password/change", operation_id="changePassword", summary="Change my password", status_code=204)
    async def change_password(
        self, request: Request[CurrentUser, Any, Any], data: JSONBody[ChangePasswordRequest]
    ) -> None:
        """Other sessions are signed out; this one stays."""
        await service.change_password(request.user, data.current_password, data.new_password)


class SessionsController(Controller):
    path = "/api/v1/auth/sessions"
    tags = ["auth"]

    @get(operation_id="listSessions", summary="My signed-in sessions")
    async def list_sessions(self, request: Request[CurrentUser, Any, Any]) -> Page[SessionRead]:
        sessions = await service.live_sessions_of(request.user.id)
        # A user has a handful of live sessions: one page, always complete.
        return Page(items=[session_read(s, request.user.session_id) for s in sessions], next_cursor=None)

    @get("/{session_id:uuid}", operation_id="getSession", summary="One of my sessions")
    async def read(self, request: Request[CurrentUser, Any, Any], session_id: FromPath[UUID]) -> SessionRead:
        return session_read(await service.session_of(request.user.id, session_id), request.user.session_id)

    @delete(
        "/{session_id:uuid}",
        operation_id="revokeSession",
        summary="Sign out one of my sessions",
        status_code=204,
    )
    async def revoke(self, request: Request[CurrentUser, Any, Any], session_id: FromPath[UUID]) -> None:
        await service.revoke_own_session(request.user.id, session_id)
