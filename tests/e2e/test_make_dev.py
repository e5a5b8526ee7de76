"""`stayflow dev` (what `make dev` runs) as a user runs it: it comes up ready, serves the API and
the Temporal UI, stops every process it started on Ctrl-C, and finds its data again next time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from stayflow.devstack import free_port

pytestmark = pytest.mark.e2e


class DevStack:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.api_port = free_port()
        self.ui_port = free_port()
        self.metrics_port = free_port()
        self.env = os.environ | {
            "STAYFLOW_ENV": "dev",
            "STAYFLOW_HOME": str(home),
            "STAYFLOW_API_PORT": str(self.api_port),
            "STAYFLOW_PUBLIC_URL": f"http://127.0.0.1:{self.api_port}",
            "STAYFLOW_TEMPORAL_UI_URL": f"http://127.0.0.1:{self.ui_port}",
            "STAYFLOW_DEV_TEMPORAL_PORT": str(free_port()),
            "STAYFLOW_DEV_POSTGRES_PORT": str(free_port()),
            "STAYFLOW_WORKER_METRICS_ADDRESS": f"127.0.0.1:{self.metrics_port}",
            "STAYFLOW_STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}",
        }
        for name in ("STAYFLOW_DATABASE_URL", "STAYFLOW_TEMPORAL_ADDRESS", "STAYFLOW_JWT_SECRET", "STRIPE_API_KEY"):
            self.env.pop(name, None)
        self.process: subprocess.Popen[str] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stayflow.cli", "dev"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, self.process.stdout.read() if self.process.stdout else ""
            time.sleep(0.5)
        raise AssertionError("stayflow dev was not ready within 90 s")

    def descendants(self) -> list[psutil.Process]:
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def stayflow(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stayflow.cli", *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def interrupt(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=60)
        return out


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    dev = DevStack(tmp_path / "stack")
    yield dev
    if dev.process and dev.process.poll() is None:
        dev.process.kill()


def test_dev_stack_runs_stops_cleanly_and_keeps_its_data(stack: DevStack) -> None:
    stack.start()
    ready = httpx.get(f"{stack.api}/ready").json()
    assert ready == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}
    assert httpx.get(f"http://127.0.0.1:{stack.ui_port}/").status_code == 200  # the Temporal Web UI
    assert httpx.get(f"{stack.api}/schema").status_code == 200
    worker_metrics = httpx.get(f"http://127.0.0.1:{stack.metrics_port}/metrics")
    assert worker_metrics.status_code == 200 and "temporal_" in worker_metrics.text
    api_metrics = httpx.get(f"{stack.api}/metrics")
    assert api_metrics.status_code == 200 and 'stayflow_api_requests_total{app_name="stayflow-api"' in api_metrics.text
    registered = httpx.post(
        f"{stack.api}/api/v1/auth/register",
        json={"email": "first@example.com", "password": "a long enough secret", "full_name": "First User"},
    )
    assert registered.status_code == 201, registered.text
    # The README's next step: the first admin from the command line, next to the running stack.
    admin = stack.stayflow("create-admin", "--email", "root@example.com", "--password", "an admin passphrase")
    assert admin.returncode == 0, admin.stderr
    admin_login = httpx.post(
        f"{stack.api}/api/v1/auth/login", json={"email": "root@example.com", "password": "an admin passphrase"}
    )
    assert admin_login.status_code == 200, admin_login.text
    admin_headers = {"Authorization": f"Bearer {admin_login.json()['access_token']}"}
    assert httpx.get(f"{stack.api}/api/v1/admin/settings", headers=admin_headers).status_code == 200
    children = stack.descendants()
    names = " ".join(" ".join(p.cmdline()) for p in children)
    assert "postgres" in names and "temporal" in names and "worker" in names and "api" in names
    assert "stripe_server" in names  # no STRIPE_API_KEY: the local fake Stripe runs

    me = httpx.get(f"{stack.api}/api/v1/users/me", headers=admin_headers).json()
    assert me["role"] == "admin"  # (made by `stayflow create-admin` above, next to the running stack)

    # Killing the worker (its pid is in <home>/run/worker.pid) does not stop the stack: a new one starts.
    pid_file = stack.home / "run" / "worker.pid"
    killed = int(pid_file.read_text())
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and int(pid_file.read_text()) == killed:
        time.sleep(0.2)
    restarted = int(pid_file.read_text())
    assert restarted != killed and psutil.Process(restarted).is_running()
    assert stack.process is not None and stack.process.poll() is None
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{stack.metrics_port}/metrics").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise AssertionError("the restarted worker serves no metrics")
    children = stack.descendants()

    # `stayflow backup` finds the running stack's embedded database by itself.
    backup = stack.stayflow("backup", "--output", str(stack.home / "dev.dump"))
    assert backup.returncode == 0, backup.stderr
    assert (stack.home / "dev.dump").read_bytes()[:5] == b"PGDMP"
    later = {"email": "later@example.com", "password": "a long enough secret", "full_name": "Later User"}
    assert httpx.post(f"{stack.api}/api/v1/auth/register", json=later).status_code == 201

    output = stack.interrupt()
    assert stack.process is not None and stack.process.returncode == 0, output
    assert f"http://127.0.0.1:{stack.metrics_port}/metrics (worker)" in output
    time.sleep(0.5)
    survivors = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], [p.cmdline() for p in survivors]

    stack.start()  # the same home: the same database, the same users
    login = httpx.post(
        f"{stack.api}/api/v1/auth/login", json={"email": "first@example.com", "password": "a long enough secret"}
    )
    assert login.status_code == 200
    stack.interrupt()

    # With the stack stopped, `stayflow restore` starts the embedded server for the duration.
    restore = stack.stayflow("restore", "--clean", str(stack.home / "dev.dump"))
    assert restore.returncode == 0, restore.stderr
    stack.start()
    login_later = {"email": later["email"], "password": later["password"]}
    assert httpx.post(f"{stack.api}/api/v1/auth/login", json=login_later).status_code == 401  # after the backup
    first = {"email": "first@example.com", "password": "a long enough secret"}
    assert httpx.post(f"{stack.api}/api/v1/auth/login", json=first).status_code == 200
    stack.interrupt()
