"""Accounts (SPEC §4, §9): registering, signing in, passwords, sessions, profiles, and what admins
may do to an account. Plain inputs in, `User` rows or `Problem`s out; sessions and token rotation
are in `api.accounts.identity`. Every admin change is audited in the transaction that makes it."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any
from uuid import UUID

import msgspec
from temporalio.common import WorkflowIDReusePolicy

from api.accounts import identity
from api.accounts.verification import send_email_verification
from api.conversations import live
from api.errors import Problem
from api.notifications.notify import notify_in_background
from api.pagination import keyset
from api.security import CurrentUser, TokenIssuer
from api.throttle import throttle
from api.validation import acceptable_password, invalid, normalized_email, normalized_phone
from models import PasswordResetToken, Session, User
from stayflow import templates
from stayflow.audit import Actor, record_admin_action
from stayflow.credentials import hash_password, needs_rehash, token_digest, verify_password
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.password_reset import PasswordResetWorkflow
from workflows.payloads.accounts import PasswordResetRequest

_BAD_CREDENTIALS = "Wrong email or password."
_BAD_RESET_TOKEN = "This reset link is invalid, used or expired; ask for a new one."


async def load_user(user_id: UUID) -> User:
    user = await User.objects().get(User.id == user_id)
    if user is None:
        raise Problem(404, "No such user.")
    return user


async def public_user(user_id: UUID) -> User:
    """Anyone may see a user's public profile once its owner confirmed the email address, unless the
    account is suspended."""
    user = await load_user(user_id)
    # Unconfirmed accounts have no public face: registering an address someone already has
    # answers with an id no profile answers to, just as a new account's does (issue 12 item 15).
    if user.suspended_at is not None or user.email_verified_at is None:
        raise Problem(404, "No such user.")
    return user


# --- registration and signing in ------------------------------------------------------------------


async def register(
    *,
    email: str,
    password: str,
    full_name: str,
    phone: str | None,
    role: Role,
    settings: Settings,
    temporal: TemporalGateway,
) -> User:
    """A new account, its verification email sent. An email that already has an account gets the
    same answer (an account-shaped row that is never saved) after the same work, and its owner an
    email saying someone tried: registration does not tell who is registered (issue 12 item 15)."""
    email = normalized_email(email)
    acceptable_password(password, email)
    phone = normalized_phone(phone)
    password_hash = await asyncio.to_thread(hash_password, password)  # either way: the same time
    user = User(email=email, password_hash=password_hash, full_name=full_name.strip(), phone=phone, role=role)
    existing = await User.select(User.id, User.full_name).where(User.email == email).first()
    if existing is None:
        try:
            await user.save()
        except Exception as exc:  # the unique index closes the race between the select and save()
            if "unique" not in str(exc).lower():
                raise
            existing = await User.select(User.id, User.full_name).where(User.email == email).first()
        else:
            await send_email_verification(user.id, settings, temporal)
            return user
    assert existing is not None
    await _tell_owner_of_registration_attempt(existing["id"], existing["full_name"], settings, temporal)
    user.id = uuid.uuid4()  # never saved: nothing else changes
    return user


async def _tell_owner_of_registration_attempt(
    user_id: UUID, full_name: str, settings: Settings, temporal: TemporalGateway
) -> None:
    """At most one such email an hour per account (the dedupe key names the hour)."""
    hour = int(time.time() // 3600)
    await notify_in_background(
        temporal,
        settings,
        user_id=user_id,
        kind="registration_attempt",
        dedupe_key=f"registration_attempt:{user_id}:{hour}",
        notice=templates.registration_attempt_email(
            full_name=full_name, sign_in_url=f"{settings.public_url.rstrip('/')}/sign-in"
        ),
    )


async def sign_in(
    tokens: TokenIssuer, settings: Settings, *, email: str, password: str, user_agent: str, ip_address: str
) -> identity.TokenPair:
    email = email.strip().lower()
    # Per account *and* client IP: a stranger guessing from elsewhere cannot lock the owner out
    # (admins included); each IP is also limited across accounts by the auth routes' rate limit.
    await throttle(
        f"login:{email}:{ip_address}",
        limit=settings.login_attempts_per_account,
        window_seconds=settings.account_throttle_window_seconds,
        detail="Too many sign-in attempts for this account from your address; wait before trying again.",
    )
    user = await identity.find_user_by_email(email)
    # The same work and the same answer for a wrong password and an unknown email.
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not ok:
        raise Problem(401, _BAD_CREDENTIALS, slug="bad-credentials")
    if user.suspended_at is not None:
        raise Problem(403, "This account is suspended.", slug="account-suspended")
    if needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(hash_password, password)
        await User.update({User.password_hash: new_hash}).where(User.id == user.id)
    return await identity.open_session(tokens, user_id=user.id, user_agent=user_agent, ip_address=ip_address)


async def sign_out(user: CurrentUser, *, everywhere: bool) -> None:
    if everywhere:
        await identity.revoke_sessions_of(user.id, reason="logout_all")
    else:
        await identity.revoke_session(user.session_id, reason="logout")
    await identity.revoke_access_token(user.jti, user.token_expires_at)


# --- passwords -----------------------------------------------------------------------------------


async def request_password_reset(email: str, settings: Settings, temporal: TemporalGateway) -> None:
    """Starts a PasswordResetWorkflow whether or not the email has an account (it finds out)."""
    email = email.strip().lower()
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


async def reset_password(token_text: str, new_password: str) -> None:
    """One use per token; whoever knew the old password is signed out everywhere."""
    digest = token_digest(token_text)
    token = (
        await PasswordResetToken.objects(PasswordResetToken.user).where(PasswordResetToken.token_hash == digest).first()
    )
    now = dt.datetime.now(dt.UTC)
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise Problem(400, _BAD_RESET_TOKEN, slug="bad-reset-token")
    acceptable_password(new_password, token.user.email, field="new_password")
    new_hash = await asyncio.to_thread(hash_password, new_password)
    async with User._meta.db.transaction():
        used = (
            await PasswordResetToken.update({PasswordResetToken.used_at: now})
            .where((PasswordResetToken.id == token.id) & PasswordResetToken.used_at.is_null())
            .returning(PasswordResetToken.id)
        )
        if not used:  # a concurrent reset with the same token won
            raise Problem(400, _BAD_RESET_TOKEN, slug="bad-reset-token")
        await User.update({User.password_hash: new_hash, User.updated_at: now}).where(User.id == token.user.id)
        await _revoke_open_reset_links(token.user.id, now)
    await identity.revoke_sessions_of(token.user.id, reason="password_reset")


async def _revoke_open_reset_links(user_id: UUID, now: dt.datetime) -> None:
    """A new password ends every reset link still open (an older email cannot undo it)."""
    await PasswordResetToken.update({PasswordResetToken.used_at: now}).where(
        (PasswordResetToken.user == user_id) & PasswordResetToken.used_at.is_null()
    )


async def change_password(user: CurrentUser, current_password: str, new_password: str) -> None:
    """Other sessions are signed out; this one stays."""
    row = await load_user(user.id)
    if not await asyncio.to_thread(verify_password, row.password_hash, current_password):
        raise Problem(
            422,
            "current_password: wrong password",
            slug="bad-credentials",
            errors=[{"field": "current_password", "message": "wrong password"}],
        )
    acceptable_password(new_password, row.email, field="new_password")
    new_hash = await asyncio.to_thread(hash_password, new_password)
    now = dt.datetime.now(dt.UTC)
    async with User._meta.db.transaction():
        await User.update({User.password_hash: new_hash, User.updated_at: now}).where(User.id == row.id)
        await _revoke_open_reset_links(row.id, now)
    await identity.revoke_sessions_of(row.id, reason="password_change", keep=user.session_id)


# --- sessions ------------------------------------------------------------------------------------


async def live_sessions_of(user_id: UUID) -> list[Session]:
    """A user has a handful of live sessions, most recently used first."""
    return (
        await Session.objects()
        .where(
            (Session.user == user_id) & Session.revoked_at.is_null() & (Session.expires_at > dt.datetime.now(dt.UTC))
        )
        .order_by(Session.last_used_at, ascending=False)
    )


async def session_of(user_id: UUID, session_id: UUID) -> Session:
    session = await Session.objects().get((Session.id == session_id) & (Session.user == user_id))
    if session is None:
        raise Problem(404, "No such session.")
    return session


async def revoke_own_session(user_id: UUID, session_id: UUID) -> None:
    if not await Session.exists().where((Session.id == session_id) & (Session.user == user_id)):
        raise Problem(404, "No such session.")
    await identity.revoke_session(session_id, reason="revoked_by_user")


# --- my profile ----------------------------------------------------------------------------------


async def update_profile(
    user_id: UUID,
    *,
    full_name: str | msgspec.UnsetType = msgspec.UNSET,
    phone: str | msgspec.UnsetType | None = msgspec.UNSET,
    bio: str | msgspec.UnsetType = msgspec.UNSET,
) -> User:
    """Only the fields given change; a blank name is refused."""
    changes: dict[Any, Any] = {}
    if not isinstance(full_name, msgspec.UnsetType):
        if not full_name.strip():
            raise invalid("full_name", "must not be blank")
        changes[User.full_name] = full_name.strip()
    if not isinstance(phone, msgspec.UnsetType):
        phone = normalized_phone(phone)
        current = await User.select(User.phone).where(User.id == user_id).first()
        if current is None or current["phone"] != phone:  # a new number is unverified, its code void
            changes |= {User.phone_verified_at: None, User.phone_code_hash: None, User.phone_code_expires_at: None}
        changes[User.phone] = phone
    if not isinstance(bio, msgspec.UnsetType):
        changes[User.bio] = bio
    if changes:
        changes[User.updated_at] = dt.datetime.now(dt.UTC)
        await User.update(changes).where(User.id == user_id)
    return await load_user(user_id)


async def become_host(user_id: UUID) -> User:
    """Every user can book; hosting is one call away. Admins already host."""
    await User.update({User.role: Role.host, User.updated_at: dt.datetime.now(dt.UTC)}).where(
        (User.id == user_id) & (User.role == Role.guest)
    )
    return await load_user(user_id)


# --- admins and accounts -------------------------------------------------------------------------


async def find_users(
    *, q: str | None, role: Role | None, suspended: bool | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """By part of the email or name, role and suspension, oldest account first."""
    query = User.select()
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(User.email.ilike(pattern) | User.full_name.ilike(pattern))
    if role is not None:
        query = query.where(User.role == role)
    if suspended is not None:
        query = query.where(User.suspended_at.is_not_null() if suspended else User.suspended_at.is_null())
    return await keyset(query, time_column=User.created_at, id_column=User.id, limit=limit, cursor=cursor)


async def _locked_user(user_id: UUID) -> User:
    """The user's row, locked until the transaction ends: the audit's `before` is what was changed."""
    user = await User.objects().where(User.id == user_id).lock_rows().first()
    if user is None:
        raise Problem(404, "No such user.")
    return user


def _not_on_self(actor: Actor, user_id: UUID, what: str) -> None:
    # An admin locking themselves out leaves nobody to undo it.
    if actor.user_id == user_id:
        raise Problem(409, f"Admins cannot {what} their own account.", slug="illegal-transition")


async def change_role(actor: Actor, user_id: UUID, role: Role) -> User:
    _not_on_self(actor, user_id, "change the role of")
    async with User._meta.db.transaction():
        user = await _locked_user(user_id)
        if user.role != role:
            await User.update({User.role: role, User.updated_at: dt.datetime.now(dt.UTC)}).where(User.id == user_id)
            await record_admin_action(
                actor, "user.role_change", "user", user_id, before={"role": user.role}, after={"role": role}
            )
            await live.publish(live.AccessChanged(user_id=user_id))  # open sockets re-check at commit
    return await load_user(user_id)


async def suspend_user(actor: Actor, user_id: UUID, reason: str) -> User:
    """The user cannot sign in, and every token they hold stops working at once."""
    _not_on_self(actor, user_id, "suspend")
    async with User._meta.db.transaction():
        user = await _locked_user(user_id)
        if user.suspended_at is not None:
            raise Problem(409, "This user is already suspended.", slug="illegal-transition")
        now = dt.datetime.now(dt.UTC)
        await User.update({User.suspended_at: now, User.suspension_reason: reason, User.updated_at: now}).where(
            User.id == user_id
        )
        revoked = await identity.revoke_sessions_of(user_id, reason="suspended")
        await record_admin_action(
            actor,
            "user.suspend",
            "user",
            user_id,
            before={"suspended": False},
            after={"suspended": True, "sessions_revoked": revoked},
            reason=reason,
        )
    return await load_user(user_id)


async def restore_user(actor: Actor, user_id: UUID) -> User:
    async with User._meta.db.transaction():
        user = await _locked_user(user_id)
        if user.suspended_at is None:
            raise Problem(409, "This user is not suspended.", slug="illegal-transition")
        await User.update(
            {User.suspended_at: None, User.suspension_reason: None, User.updated_at: dt.datetime.now(dt.UTC)}
        ).where(User.id == user_id)
        await record_admin_action(
            actor,
            "user.restore",
            "user",
            user_id,
            before={"suspended": True, "suspension_reason": user.suspension_reason},
            after={"suspended": False},
        )
    return await load_user(user_id)
