"""The audit log of admin actions, read by admins (SPEC §9); written by `stayflow.audit`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from api.accounts.auth import client_ip
from api.admin import service
from api.errors import Problem, field_errors
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.security import CurrentUser, requires_admin
from stayflow.audit import Actor


def actor_of(request: Request[CurrentUser, Any, Any]) -> Actor:
    return Actor(user_id=request.user.id, ip_address=client_ip(request))


class AuditEntryRead(msgspec.Struct):
    id: UUID
    at: dt.datetime
    actor_id: UUID
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    ip_address: str


def _json(value: Any) -> dict[str, Any] | None:
    return json.loads(value) if isinstance(value, str) else value


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A time without a zone is read as UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment is not None and moment.tzinfo is None else moment


def audit_entry_read(row: dict[str, Any]) -> AuditEntryRead:
    return AuditEntryRead(
        id=row["id"],
        at=row["at"],
        actor_id=row["actor"],
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        before=_json(row["before"]),
        after=_json(row["after"]),
        reason=row["reason"],
        ip_address=row["ip_address"],
    )


class AuditLogController(Controller):
    path = "/api/v1/admin/audit-log"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminAuditLog", summary="Admin actions, newest first")
    async def entries(
        self,
        actor: FromQuery[UUID | None] = None,
        action: Annotated[str | None, QueryParameter(max_length=60, description="e.g. `settings.update`")] = None,
        target_type: Annotated[str | None, QueryParameter(max_length=20, description="user, listing, ...")] = None,
        target_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        since: Annotated[dt.datetime | None, QueryParameter(name="from", description="at or after")] = None,
        until: Annotated[dt.datetime | None, QueryParameter(name="to", description="before")] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[AuditEntryRead]:
        since, until = _aware(since), _aware(until)
        if since is not None and until is not None and since >= until:
            raise Problem(422, "`from` must be before `to`.", errors=field_errors(("from", "must be before `to`")))
        rows, next_cursor = await service.audit_entries(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
        return Page(items=[audit_entry_read(r) for r in rows], next_cursor=next_cursor)
