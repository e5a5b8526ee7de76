"""The reconciler's runs (issue 15, item 5): what each run found and repaired, for the admin
metrics and for operators (its findings one per line, also in the worker's log)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:34:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reconciler runs"

STATEMENTS = [
    """CREATE TABLE reconciler_runs (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        workflow_id VARCHAR(200) NOT NULL UNIQUE,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        found JSONB NOT NULL DEFAULT jsonb_build_object(),
        repaired JSONB NOT NULL DEFAULT jsonb_build_object(),
        findings JSONB NOT NULL DEFAULT jsonb_build_array()
    )""",
    "CREATE INDEX reconciler_runs_finished_at ON reconciler_runs (finished_at DESC)",
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
