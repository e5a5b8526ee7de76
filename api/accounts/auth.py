"""Accounts and sessions: register, sign in and out, refresh, passwords (SPEC §4)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody
from temporalio.common import WorkflowIDReusePolicy

from api.accounts import identity
from api.accounts.users import UserRead, user_read
from api.errors import Problem
from api.pagination import Page
from api.security import CurrentUser, TokenIssuer
from api.throttle import throttle
from api.validation import acceptable_password, normalized_email, normalized_phone
from models import PasswordResetToken, Session, User
from stayflow.credentials import hash_password, needs_rehash, token_digest, verify_password
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.password_reset import PasswordResetRequest, PasswordResetWorkflow

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: Name
    phone: str | None = None
    role: Literal["guest", "host"] = "guest"


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


_BAD_CREDENTIALS = "Wrong email or password."


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def auth_rate_limit(settings: Settings) -> RateLimitConfig:
    """Per client IP across the public auth routes; each API process counts its own."""
    return RateLimitConfig(rate_limit=("minute", settings.auth_rate_limit_per_minute), store="auth_rate_limit")


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", operation_id="register", summary="Create an account", exclude_from_auth=True)
    async def register(self, data: JSONBody[RegisterRequest]) -> UserRead:
        email = normalized_email(data.email)
        acceptable_password(data.password, email)
        phone = normalized_phone(data.phone)
        if await User.exists().where(User.email == email):
            raise Problem(409, "An account with this email already exists.", slug="email-taken")
        password_hash = await asyncio.to_thread(hash_password, data.password)
        user = User(
            email=email,
            password_hash=password_hash,
            full_name=data.full_name.strip(),
            phone=phone,
            role=Role(data.role),
        )
        try:
            await user.save()
        except Exception as exc:  # the unique index closes the race between exists() and save()
            if "unique" in str(exc).lower():
                raise Problem(409, "An account with this email already exists.", slug="email-taken") from exc
            raise
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
        email = data.email.strip().lower()
        await throttle(
            f"login:{email}",
            limit=settings.login_attempts_per_account,
            window_seconds=settings.account_throttle_window_seconds,
        )
        user = await identity.find_user_by_email(email)
        # The same work and the same answer for a wrong password and an unknown email.
        ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, data.password)
        if user is None or not ok:
            raise Problem(401, _BAD_CREDENTIALS, slug="bad-credentials")
        if user.suspended_at is not None:
            raise Problem(403, "This account is suspended.", slug="account-suspended")
        if needs_rehash(user.password_hash):
            new_hash = await asyncio.to_thread(hash_password, data.password)
            await User.update({User.password_hash: new_hash}).where(User.id == user.id)
        return await identity.open_session(
            tokens,
            user_id=user.id,
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
        await identity.revoke_session(request.user.session_id, reason="logout")
        await identity.revoke_access_token(request.user.jti, request.user.token_expires_at)

    @post("/logout-all", operation_id="logoutAll", summary="Sign out every session", status_code=204)
    async def logout_all(self, request: Request[CurrentUser, Any, Any]) -> None:
        await identity.revoke_sessions_of(request.user.id, reason="logout_all")
        await identity.revoke_access_token(request.user.jti, request.user.token_expires_at)

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
        email = data.email.strip().lower()
        await throttle(
            f"forgot:{email}",
            limit=settings.password_resets_per_account,
            window_seconds=settings.account_throttle_window_seconds,
        )
        request_id = f"password-reset-{uuid.uuid4()}"
        client = await temporal.client()
        await client.start_workflow(
            PasswordResetWorkflow.run,
            PasswordResetRequest(request_id=request_id, email=email),
            id=request_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary="Password reset email",
        )
        return Accepted("If an account exists for that email, a reset link is on its way.")

    @post(
        "/password/reset",
        operation_id="resetPassword",
        summary="Set a new password with a reset token",
        exclude_from_auth=True,
        status_code=204,
    )
    async def reset_password(self, data: JSONBody[ResetPasswordRequest]) -> None:
        digest = token_digest(data.token)
        token = (
            await PasswordResetToken.objects(PasswordResetToken.user)
            .where(PasswordResetToken.token_hash == digest)
            .first()
        )
        now = dt.datetime.now(dt.UTC)
        if token is None or token.used_at is not None or token.expires_at <= now:
            raise Problem(
                400, "This reset link is invalid, used or expired; ask for a new one.", slug="bad-reset-token"
            )
        acceptable_password(data.new_password, token.user.email, field="new_password")
        new_hash = await asyncio.to_thread(hash_password, data.new_password)
        async with User._meta.db.transaction():
            used = (
                await PasswordResetToken.update({PasswordResetToken.used_at: now})
                .where((PasswordResetToken.id == token.id) & PasswordResetToken.used_at.is_null())
                .returning(PasswordResetToken.id)
            )
            if not used:  # a concurrent reset with the same token won
                raise Problem(
                    400, "This reset link is invalid, used or expired; ask for a new one.", slug="bad-reset-token"
                )
            await User.update({User.password_hash: new_hash, User.updated_at: now}).where(User.id == token.user.id)
        # Whoever knew the old password is signed out everywhere.
        await identity.revoke_sessions_of(token.user.id, reason="password_reset")

    @post("/password/change", operation_id="changePassword", summary="Change my password", status_code=204)
    async def change_password(
        self, request: Request[CurrentUser, Any, Any], data: JSONBody[ChangePasswordRequest]
    ) -> None:
        """Other sessions are signed out; this one stays."""
        user = await User.objects().get(User.id == request.user.id)
        assert user is not None
        if not await asyncio.to_thread(verify_password, user.password_hash, data.current_password):
            raise Problem(
                422,
                "current_password: wrong password",
                slug="bad-credentials",
                errors=[{"field": "current_password", "message": "wrong password"}],
            )
        acceptable_password(data.new_password, user.email, field="new_password")
        new_hash = await asyncio.to_thread(hash_password, data.new_password)
        await User.update({User.password_hash: new_hash, User.updated_at: dt.datetime.now(dt.UTC)}).where(
            User.id == user.id
        )
        await identity.revoke_sessions_of(user.id, reason="password_change", keep=request.user.session_id)


class SessionsController(Controller):
    path = "/api/v1/auth/sessions"
    tags = ["auth"]

    @get(operation_id="listSessions", summary="My signed-in sessions")
    async def list_sessions(self, request: Request[CurrentUser, Any, Any]) -> Page[SessionRead]:
        sessions = (
            await Session.objects()
            .where(
                (Session.user == request.user.id)
                & Session.revoked_at.is_null()
                & (Session.expires_at > dt.datetime.now(dt.UTC))
            )
            .order_by(Session.last_used_at, ascending=False)
        )
        # A user has a handful of live sessions: one page, always complete.
        return Page(items=[session_read(s, request.user.session_id) for s in sessions], next_cursor=None)

    @get("/{session_id:uuid}", operation_id="getSession", summary="One of my sessions")
    async def read(self, request: Request[CurrentUser, Any, Any], session_id: FromPath[UUID]) -> SessionRead:
        session = await Session.objects().get((Session.id == session_id) & (Session.user == request.user.id))
        if session is None:
            raise Problem(404, "No such session.")
        return session_read(session, request.user.session_id)

    @delete(
        "/{session_id:uuid}",
        operation_id="revokeSession",
        summary="Sign out one of my sessions",
        status_code=204,
    )
    async def revoke(self, request: Request[CurrentUser, Any, Any], session_id: FromPath[UUID]) -> None:
        mine = await Session.exists().where((Session.id == session_id) & (Session.user == request.user.id))
        if not mine:
            raise Problem(404, "No such session.")
        await identity.revoke_session(session_id, reason="revoked_by_user")
