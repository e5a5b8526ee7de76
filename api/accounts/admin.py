"""Admin: find users, change roles, suspend and restore (SPEC §9). Every change is audited."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.accounts import service
from api.accounts.users import UserRead, user_read
from api.admin.audit import actor_of
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.security import CurrentUser, requires_admin
from stayflow.rules.roles import Role


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class Suspension(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


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
        rows, next_cursor = await service.find_users(q=q, role=role, suspended=suspended, limit=limit, cursor=cursor)
        return Page(items=[user_read(r) for r in rows], next_cursor=next_cursor)

    @get("/{user_id:uuid}", operation_id="adminGetUser", summary="One user's account")
    async def read(self, user_id: FromPath[UUID]) -> UserRead:
        return user_read(await service.load_user(user_id))

    @post(
        "/{user_id:uuid}/role",
        operation_id="adminChangeRole",
        summary="Give a user another role",
        status_code=200,
    )
    async def change_role(
        self, request: Request[CurrentUser, Any, Any], user_id: FromPath[UUID], data: JSONBody[RoleChange]
    ) -> UserRead:
        return user_read(await service.change_role(actor_of(request), user_id, data.role))

    @post("/{user_id:uuid}/suspend", operation_id="adminSuspendUser", summary="Suspend a user", status_code=200)
    async def suspend(
        self, request: Request[CurrentUser, Any, Any], user_id: FromPath[UUID], data: JSONBody[Suspension]
    ) -> UserRead:
        """The user cannot sign in, and every token they hold stops working at once."""
        return user_read(await service.suspend_user(actor_of(request), user_id, data.reason))

    @post(
        "/{user_id:uuid}/restore",
        operation_id="adminRestoreUser",
        summary="Lift a suspension",
        status_code=200,
    )
    async def restore(self, request: Request[CurrentUser, Any, Any], user_id: FromPath[UUID]) -> UserRead:
        return user_read(await service.restore_user(actor_of(request), user_id))
