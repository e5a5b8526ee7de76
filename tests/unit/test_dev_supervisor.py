"""`make dev` starts the worker and the API again when they exit, and gives up on a child that
keeps dying at once."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from stayflow import dev
from stayflow.devstack import spawn


def _wait_dead(restartable: dev.Restartable) -> None:
    deadline = time.monotonic() + 10
    while restartable.child.alive() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_killed_worker_is_started_again_and_its_pid_file_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dev, "RESTART_DELAY_SECONDS", 0.0)
    worker = dev.Restartable(
        "worker", lambda: spawn("worker", [sys.executable, "-c", "import time; time.sleep(60)"]), tmp_path
    )
    try:
        first = worker.child.process.pid
        assert worker.pid_file.read_text().strip() == str(first)
        os.kill(first, signal.SIGKILL)
        _wait_dead(worker)
        assert worker.check() is True
        second = worker.child.process.pid
        assert second != first and worker.child.alive()
        assert worker.pid_file.read_text().strip() == str(second)
    finally:
        worker.stop()
    assert not worker.child.alive() and not worker.pid_file.exists()


def test_a_child_that_dies_at_once_stops_the_stack_after_a_few_tries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dev, "RESTART_DELAY_SECONDS", 0.0)
    starts = []

    def start() -> dev.ChildProcess:
        child = spawn("api", [sys.executable, "-c", "raise SystemExit(3)"])
        starts.append(child)
        return child

    api = dev.Restartable("api", start, tmp_path)
    results = []
    for _ in range(dev.MAX_QUICK_EXITS):
        _wait_dead(api)
        results.append(api.check())
    api.stop()
    assert results == [True] * (dev.MAX_QUICK_EXITS - 1) + [False]
    assert len(starts) == dev.MAX_QUICK_EXITS


def test_a_killed_temporal_dev_server_is_started_again_on_its_data(tmp_path: Path) -> None:
    """Before, a Temporal (or PostgreSQL) that exited left `/ready` at 503 and POSTs failing until
    someone restarted it by hand; now `make dev` starts it again where it left off."""
    from stayflow.devstack import TemporalDevServer, free_port, port_open

    server = TemporalDevServer(tmp_path / "temporal.db", port=free_port(), headless=True)
    server.start(tmp_path / "temporal.log")
    supervised = dev.Supervised("Temporal", server, lambda: server.start(tmp_path / "temporal.log"))
    try:
        assert server.child is not None
        first = server.child.process.pid
        os.killpg(first, signal.SIGKILL)
        server.child.process.wait(10)
        assert supervised.check() is True
        assert server.child.alive() and server.child.process.pid != first
        assert port_open("127.0.0.1", server.port)
        assert supervised.check() is True  # alive: nothing to do
    finally:
        server.stop()
