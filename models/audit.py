"""The audit log: one row per admin action, written in the action's own transaction.

Append-only: a trigger refuses UPDATE and DELETE (migration m0012).
"""

from piccolo.columns import JSONB, UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.identity import User


class AuditEntry(Table, tablename="audit_log"):
    id = UUID(primary_key=True)
    at = Timestamptz(default=TimestamptzNow())
    actor = ForeignKey(User, on_delete=OnDelete.restrict)
    action = Varchar(length=60)
    """What was done, `<target>.<verb>`: `user.suspend`, `settings.update`, `booking.cancel`."""
    target_type = Varchar(length=20)
    target_id = Varchar(length=64)
    before = JSONB(null=True, default=None)
    """The fields the action changed, as they were; `after` as they became."""
    after = JSONB(null=True, default=None)
    reason = Text(null=True, default=None)
    ip_address = Varchar(length=64, default="")
