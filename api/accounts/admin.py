"""Admin: find users, change roles, suspend and restore (SPEC §9). Every change is audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.accounts import identity
from api.accounts.users import UserRead, load_user, user_read
from api.admin.audit import actor_of
from api.errors import Problem
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, keyset
from api.security import CurrentUser, requires_admin
from models import User
from stayflow.audit import record_admin_action
from stayflow.rules.roles import Role


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class Suspension(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


async def _locked_user(user_id: UUID) -> User:
    """The user's row, locked until the transaction ends: the audit's `before` is what was changed."""
    user = await User.objects().where(User.id == user_id).lock_rows().first()
    if user is None:
        raise Problem(404, "No such user.")
    return user


def _not_on_self(request: Request[CurrentUser, Any, Any], user_id: UUID, what: str) -> None:
    # An admin locking themselves out leaves nobody to undo it.
    if request.user.id == user_id:
        raise Problem(409, f"Admins cannot {what} their own account.", slug="illegal-transition")


class AdminUsersController(Controller):
    path = "/api/v1/admin/users"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminSearchUsers", summary="Search users by email or name, role, suspension")
    async def search(
        self,
        q: Annotated[str | None, QueryParameter(max_length=200, description="Part of the email or name")] = None,
        role: FromQuery[Role | None] = None,
        suspended: FromQuery[bool | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[UserRead]:
        query = User.select()
        if q:
            pattern = f"%{q.strip()}%"
            query = query.where(User.email.ilike(pattern) | User.full_name.ilike(pattern))
        if role is not None:
            query = query.where(User.role == role)
        if suspended is not None:
            query = query.where(User.suspended_at.is_not_null() if suspended else User.suspended_at.is_null())
        rows, next_cursor = await keyset(
            query, time_column=User.created_at, id_column=User.id, limit=limit, cursor=cursor
        )
        return Page(items=[user_read(r) for r in rows], next_cursor=next_cursor)

    @get("/{user_id:uuid}", operation_id="adminGetUser", summary="One user's account")
    async def read(self, user_id: FromPath[UUID]) -> UserRead:
        return user_read(await load_user(user_id))

    @post(
        "/{user_id:uuid}/role",
        operation_id="adminChangeRole",
        summary="Give a user another role",
        status_code=200,
    )
    async def change_role(
        self, request: Request[CurrentUser, Any, Any], user_id: FromPath[UUID], data: JSONBody[RoleChange]
    ) -> UserRead:
        _not_on_self(request, user_id, "change the role of")
        async with User._meta.db.transaction():
            user = await _locked_user(user_id)
            if user.role != data.role:
                await User.update({User.role: data.role, User.updated_at: dt.datetime.now(dt.UTC)}).where(
                    User.id == user_id
                )
                await record_admin_action(
                    actor_of(request),
                    "user.role_change",
                    "user",
                    user_id,
                    before={"role": user.role},
                    after={"role": data.role},
                )
        return user_read(await load_user(user_id))

    @post("/{user_id:uuid}/suspend", operation_id="adminSuspendUser", summary="Suspend a user", status_code=200)
    async def suspend(
        self, request: Request[CurrentUser, Any, Any], user_id: FromPath[UUID], data: JSONBody[Suspension]
    ) -> UserRead:
        """The user cannot sign in, and every token they hold stops working at once."""
        _not_on_self(request, user_id, "suspend")
        async with User._meta.db.transaction():
            user = await _locked_user(user_id)
            if user.suspended_at is not None:
                raise Problem(409, "This user is already suspended.", slug="illegal-transition")
            now = dt.datetime.now(dt.UTC)
            await User.update(
                {User.suspended_at: now, User.suspension_reason: data.reason, User.updated_at: now}
            ).where(User.id == user_id)
            revoked = await identity.revoke_sessions_of(user_id, reason="suspended")
            await record_admin_action(
                actor_of(request),
                "user.suspend",
                "user",
                user_id,
                before={"suspended": False},
                after={"suspended": True, "sessions_revoked": revoked},
                reason=data.reason,
            )
        return user_read(await load_user(user_id))

    @post(
        "/{user_id:uuid}/restore",
        operation_id="adminRestoreUser",
        summary="Lift a suspension",
        status_code=200,
    )
    async def restore(self, request: Request[CurrentUser, Any, Any], user_id: FromPath[UUID]) -> UserRead:
        async with User._meta.db.transaction():
            user = await _locked_user(user_id)
            if user.suspended_at is None:
                raise Problem(409, "This user is not suspended.", slug="illegal-transition")
            await User.update(
                {User.suspended_at: None, User.suspension_reason: None, User.updated_at: dt.datetime.now(dt.UTC)}
            ).where(User.id == user_id)
            await record_admin_action(
                actor_of(request),
                "user.restore",
                "user",
                user_id,
                before={"suspended": True, "suspension_reason": user.suspension_reason},
                after={"suspended": False},
            )
        return user_read(await load_user(user_id))
