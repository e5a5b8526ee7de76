"""Writing the audit log: every admin action adds its row inside the action's own transaction.

The row and the change it describes commit together or not at all, so no admin action can
exist without its audit row. Rows are never changed afterwards (a trigger refuses it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who acted, and from where when the action came through the API."""

    user_id: UUID
    ip_address: str = ""


class AuditOutsideTransaction(RuntimeError):
    """An audit row written on its own could commit without its action, or the action without it."""


async def record_admin_action(
    actor: Actor,
    action: str,
    target_type: str,
    target_id: UUID | str | int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Add the audit row of `action`; call it inside the transaction that makes the change."""
    if not AuditEntry._meta.db.transaction_exists():
        raise AuditOutsideTransaction(f"{action} must be audited inside the transaction that applies it")
    await AuditEntry(
        actor=actor.user_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        reason=reason,
        ip_address=actor.ip_address[:64],
    ).save()
