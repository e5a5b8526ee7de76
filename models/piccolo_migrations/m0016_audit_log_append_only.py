"""The audit log is append-only; bookings made before m0012 keep the review window in force now."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log append-only, its indexes; review window snapshot of existing bookings"

STATEMENTS = [
    # refuse_change() comes from m0005 (immutable invoices, append-only ledger).
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION refuse_change()""",
    "CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC)",
    "CREATE INDEX audit_log_actor_at ON audit_log (actor, at DESC)",
    "CREATE INDEX audit_log_target_at ON audit_log (target_type, target_id, at DESC)",
    """UPDATE bookings SET review_window_days = coalesce(
           (SELECT review_window_days FROM platform_settings WHERE id = 1), 14)
       WHERE review_window_days IS NULL""",
]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
