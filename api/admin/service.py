"""What admins do to the platform itself: change its settings (audited with before and after)
and read the audit log. Plain inputs in, rows or `Problem`s out."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from api.pagination import keyset
from models import AuditEntry, PlatformSettings
from stayflow.audit import Actor, record_admin_action


async def _locked_settings() -> PlatformSettings:
    # The migration creates the row; a database restored without it gets the defaults back.
    await PlatformSettings.raw("INSERT INTO platform_settings (id) VALUES (1) ON CONFLICT (id) DO NOTHING")
    row = await PlatformSettings.objects().where(PlatformSettings.id == 1).lock_rows().first()
    assert row is not None
    return row


async def change_settings(actor: Actor, sent: dict[str, Any], note: str | None) -> PlatformSettings:
    """Only values that differ change; the change and its audit entry commit together."""
    async with PlatformSettings._meta.db.transaction():
        row = await _locked_settings()
        before = {name: getattr(row, name) for name in sent if getattr(row, name) != sent[name]}
        if before:
            after = {name: sent[name] for name in before}
            changes: dict[Any, Any] = {PlatformSettings._meta.get_column_by_name(n): v for n, v in after.items()}
            changes[PlatformSettings.updated_at] = dt.datetime.now(dt.UTC)
            await PlatformSettings.update(changes).where(PlatformSettings.id == 1)
            await record_admin_action(actor, "settings.update", "settings", 1, before=before, after=after, reason=note)
            fresh = await PlatformSettings.objects().get(PlatformSettings.id == 1)
            assert fresh is not None
            row = fresh
    return row


async def audit_entries(
    *,
    actor: UUID | None,
    action: str | None,
    target_type: str | None,
    target_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Admin actions matching every filter given, newest first."""
    query = AuditEntry.select()
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if target_type is not None:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return await keyset(
        query, time_column=AuditEntry.at, id_column=AuditEntry.id, limit=limit, cursor=cursor, newest_first=True
    )
