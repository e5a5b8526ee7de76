"""Apply piccolo migrations in-process (used by `stayflow migrate` and the test suite)."""

from __future__ import annotations


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all", fake=False)
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
