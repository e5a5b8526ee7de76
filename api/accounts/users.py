"""Profiles: my own (read, update, become a host) and other people's public ones."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get, patch, post
from litestar.connection import Request
from litestar.params import FromPath, JSONBody

from api.accounts import service
from api.security import CurrentUser
from models import User
from stayflow.rules.roles import Role

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Bio = Annotated[str, msgspec.Meta(max_length=2000)]


class UserRead(msgspec.Struct):
    """What a user sees of their own account (and admins of anyone's)."""

    id: UUID
    email: str
    full_name: str
    phone: str | None
    bio: str
    role: Role
    is_host: bool
    suspended: bool
    email_verified: bool
    """Booking needs a verified email address (the link emailed at registration)."""
    phone_verified: bool
    """SMS go only to a verified phone: `POST /users/me/phone` texts it a code to confirm."""
    created_at: dt.datetime


class PublicProfile(msgspec.Struct):
    """What anyone may see of a user: no email, no phone, no surname."""

    id: UUID
    first_name: str
    bio: str
    is_host: bool
    member_since: dt.date


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    bio: Bio | msgspec.UnsetType = msgspec.UNSET


def user_read(user: User | dict[str, Any]) -> UserRead:
    row = user if isinstance(user, dict) else user.to_dict()
    return UserRead(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        phone=row["phone"],
        bio=row["bio"],
        role=Role(row["role"]),
        is_host=row["role"] in (Role.host, Role.admin),
        suspended=row["suspended_at"] is not None,
        email_verified=row.get("email_verified_at") is not None,
        phone_verified=row["phone"] is not None and row.get("phone_verified_at") is not None,
        created_at=row["created_at"],
    )


def public_profile(user: User) -> PublicProfile:
    return PublicProfile(
        id=user.id,
        first_name=(user.full_name.split() or [""])[0],
        bio=user.bio,
        is_host=user.role in (Role.host, Role.admin),
        member_since=user.created_at.date(),
    )


class MeController(Controller):
    path = "/api/v1/users/me"
    tags = ["users"]

    @get(operation_id="getMyProfile", summary="My account")
    async def read(self, request: Request[CurrentUser, Any, Any]) -> UserRead:
        return user_read(await service.load_user(request.user.id))

    @patch(operation_id="updateMyProfile", summary="Update my name, phone or bio")
    async def update(self, request: Request[CurrentUser, Any, Any], data: JSONBody[ProfileUpdate]) -> UserRead:
        """A new phone number is unverified (no SMS) until confirmed with `POST /users/me/phone`."""
        user = await service.update_profile(request.user.id, full_name=data.full_name, phone=data.phone, bio=data.bio)
        return user_read(user)

    @post("/host", operation_id="becomeHost", summary="Become a host", status_code=200)
    async def become_host(self, request: Request[CurrentUser, Any, Any]) -> UserRead:
        """Every user can book; hosting is one call away. Admins already host."""
        return user_read(await service.become_host(request.user.id))


class PublicProfileController(Controller):
    path = "/api/v1/users"
    tags = ["users"]

    @get(
        "/{user_id:uuid}",
        operation_id="getPublicProfile",
        summary="A user's public profile",
        exclude_from_auth=True,
    )
    async def read(self, user_id: FromPath[UUID]) -> PublicProfile:
        return public_profile(await service.public_user(user_id))
