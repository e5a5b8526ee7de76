"""`stayflow dev`: the whole product on one machine, stopped cleanly by Ctrl-C.

Starts (unless pointed elsewhere by STAYFLOW_DATABASE_URL / STAYFLOW_TEMPORAL_ADDRESS) an
embedded PostgreSQL and the Temporal dev server with its Web UI, both keeping their data
under the stack's home (`.stayflow/`), applies migrations, then runs one worker, makes its
build the current version of the worker deployment (`stayflow promote`), and runs the API, as
child processes, and watches them: a worker or API that exits is started again (kill the
worker mid-way to watch Temporal resume its work on the new one), and so are the PostgreSQL and
Temporal it started (on their data, so nothing is lost; `/ready` answers 503 meanwhile); a part
that keeps dying at once, or any other child that exits, stops the stack. Stops in reverse order:
API, worker, Temporal, PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from stayflow.devstack import (
    ChildProcess,
    EmbeddedPostgres,
    TemporalDevServer,
    port_open,
    spawn,
    wait_for_port,
)
from stayflow.settings import DEV_DATABASE, Settings

RESTART_DELAY_SECONDS = 1.0
MAX_QUICK_EXITS = 3
"""A restartable child that exits this many times in a row within QUICK_EXIT_SECONDS of its start is
broken (a bad setting, a taken port): the stack stops instead of restarting it forever."""
QUICK_EXIT_SECONDS = 10.0


class Restartable:
    """A child that `make dev` starts again when it exits (the worker, the API): kill the worker
    mid-way to watch Temporal resume its workflows on the new one. Its pid is in `<home>/run/<name>.pid`."""

    def __init__(self, name: str, start: Callable[[], ChildProcess], pid_dir: Path) -> None:
        self.name = name
        self._start = start
        self.pid_file = pid_dir / f"{name}.pid"
        self.quick_exits = 0
        self.child = self._spawn()

    def _spawn(self) -> ChildProcess:
        child = self._start()
        self.started_at = time.monotonic()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{child.process.pid}\n")
        return child

    def check(self) -> bool:
        """Restart the child if it exited; False when it keeps dying right after its start."""
        if self.child.alive():
            return True
        code = self.child.process.returncode
        self.child.stop()
        self.quick_exits = self.quick_exits + 1 if time.monotonic() - self.started_at < QUICK_EXIT_SECONDS else 1
        if self.quick_exits >= MAX_QUICK_EXITS:
            print(f"! {self.name} exited with code {code} {self.quick_exits} times in a row; stopping", file=sys.stderr)
            return False
        time.sleep(RESTART_DELAY_SECONDS)
        self.child = self._spawn()
        print(f"! {self.name} exited with code {code}; started it again (pid {self.child.process.pid})", flush=True)
        return True

    def stop(self) -> None:
        self.child.stop()
        self.pid_file.unlink(missing_ok=True)


class Supervised:
    """A server `make dev` started in its own way (the embedded PostgreSQL, the Temporal dev
    server): started again on its data when its process exits, given up on like a Restartable."""

    def __init__(self, name: str, server: EmbeddedPostgres | TemporalDevServer, start: Callable[[], None]) -> None:
        self.name = name
        self._server = server
        self._start = start
        self.quick_exits = 0
        self.started_at = time.monotonic()

    def check(self) -> bool:
        child = self._server.child
        if child is None or child.alive():
            return True
        code = child.process.returncode
        self.quick_exits = self.quick_exits + 1 if time.monotonic() - self.started_at < QUICK_EXIT_SECONDS else 1
        if self.quick_exits >= MAX_QUICK_EXITS:
            print(f"! {self.name} exited with code {code} {self.quick_exits} times in a row; stopping", file=sys.stderr)
            return False
        print(f"! {self.name} exited with code {code}; starting it again", flush=True)
        try:
            self._start()
        except Exception as exc:  # it did not come up: count it as an exit and try again next round
            print(f"! {self.name} did not start: {exc}", file=sys.stderr)
        self.started_at = time.monotonic()
        return True


def _port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signum)


def run_dev(settings: Settings) -> int:
    home = settings.home_dir
    (home / "logs").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["STAYFLOW_ENV"] = settings.env
    env["STAYFLOW_HOME"] = str(home)
    env["STAYFLOW_JWT_SECRET"] = settings.jwt_secret
    env.setdefault("STAYFLOW_WORKER_METRICS_ADDRESS", "127.0.0.1:9464")
    services: list[ChildProcess] = []
    restartable: list[Restartable] = []
    supervised: list[Supervised] = []
    postgres: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        if settings.database_url:
            print(f"• PostgreSQL: using STAYFLOW_DATABASE_URL ({_redacted(settings.database_url)})")
        else:
            port = settings.dev_postgres_port
            if port_open("127.0.0.1", port):
                raise SystemExit(
                    f"port {port} is taken: is another `stayflow dev` running? (STAYFLOW_DEV_POSTGRES_PORT)"
                )
            postgres = EmbeddedPostgres(home / "postgres" / "data", port)
            print(f"• PostgreSQL 18 (embedded) starting on 127.0.0.1:{port}, data in {postgres.data_dir}")
            postgres.start()
            if postgres.cluster_dir != postgres.data_dir:
                print(
                    f"  (as root, in {postgres.cluster_dir}: PostgreSQL's own user cannot enter this checkout's path)"
                )
            postgres.ensure_database(DEV_DATABASE)
            env["STAYFLOW_DATABASE_URL"] = settings.database_dsn
            supervised.append(Supervised("PostgreSQL", postgres, postgres.start))
        if settings.temporal_address:
            print(f"• Temporal: using STAYFLOW_TEMPORAL_ADDRESS ({settings.temporal_address})")
        else:
            ui_port = _port_of(settings.temporal_ui_url.rstrip("/"))
            grpc_port = settings.dev_temporal_port
            temporal = TemporalDevServer(home / "temporal.db", port=grpc_port, ui_port=ui_port)
            if port_open("127.0.0.1", grpc_port):
                raise SystemExit(
                    f"port {grpc_port} is taken: is another Temporal server running? (STAYFLOW_DEV_TEMPORAL_PORT)"
                )
            if port_open("127.0.0.1", ui_port):
                raise SystemExit(f"port {ui_port} is taken: is another Temporal UI running? (STAYFLOW_TEMPORAL_UI_URL)")
            print(f"• Temporal dev server starting on {temporal.address}, state in {temporal.db_file}")
            temporal_log = home / "logs" / "temporal.log"
            temporal.start(temporal_log)
            env["STAYFLOW_TEMPORAL_ADDRESS"] = temporal.address
            server = temporal
            supervised.append(Supervised("Temporal", temporal, lambda: server.start(temporal_log)))

        if not settings.stripe_uses_real_api:
            port = _port_of(settings.stripe_api_base.rstrip("/"))
            if port_open("127.0.0.1", port):
                raise SystemExit(f"port {port} is taken: is another `stayflow dev` running? (STAYFLOW_STRIPE_API_BASE)")
            fake = spawn(
                "fake-stripe",
                [
                    sys.executable,
                    "-m",
                    "stayflow.fakes.stripe_server",
                    "--port",
                    str(port),
                    "--api-key",
                    settings.stripe_api_key,
                    # Connect and dispute events reach the API's webhook, signed as Stripe would.
                    "--webhook-url",
                    f"http://{settings.api_host}:{settings.api_port}/api/v1/webhooks/stripe",
                    "--webhook-secret",
                    settings.stripe_webhook_secret,
                ],
                log_path=home / "logs" / "stripe.log",
            )
            services.append(fake)
            wait_for_port(fake, "127.0.0.1", port, 30, None)
            print(
                f"• Stripe: no STRIPE_API_KEY; a local fake Stripe (test cards) answers on {settings.stripe_api_base}"
            )
        else:
            print("• Stripe: using STRIPE_API_KEY against the real Stripe API")

        metrics_address = env["STAYFLOW_WORKER_METRICS_ADDRESS"]  # empty: the worker serves no metrics
        if metrics_address and port_open("127.0.0.1", _port_of(metrics_address)):
            port = _port_of(metrics_address)
            raise SystemExit(f"port {port} is taken: is another worker running? (STAYFLOW_WORKER_METRICS_ADDRESS)")
        worker_metrics = f"http://{metrics_address}/metrics (worker)" if metrics_address else "worker: off"
        if port_open(settings.api_host, settings.api_port):
            raise SystemExit(
                f"port {settings.api_port} is taken: is another `stayflow dev` running? (STAYFLOW_API_PORT)"
            )

        stayflow = [sys.executable, "-m", "stayflow.cli"]
        print("• applying migrations")
        if subprocess.run([*stayflow, "migrate"], env=env).returncode != 0:
            print("! migrations failed; stopping", file=sys.stderr)
            return 1
        run_dir = home / "run"
        worker = Restartable("worker", lambda: spawn("worker", [*stayflow, "worker"], env=env), run_dir)
        restartable.append(worker)
        # A versioned worker takes no work until its build is current: promote it once it polls.
        print("• promoting this build once the worker polls")
        if subprocess.run([*stayflow, "promote"], env=env).returncode != 0:
            print("! the worker's build could not be made current; stopping", file=sys.stderr)
            return 1
        api = Restartable("api", lambda: spawn("api", [*stayflow, "api"], env=env), run_dir)
        restartable.append(api)
        wait_for_port(api.child, settings.api_host, settings.api_port, 60, None)
        base = f"http://{settings.api_host}:{settings.api_port}"
        print(
            "\nStayflow is running. Ctrl-C stops everything.\n"
            f"  API           {base}/api/v1\n"
            f"  API docs      {base}/schema  (Swagger UI: {base}/schema/swagger)\n"
            f"  Readiness     {base}/ready\n"
            f"  Metrics       {base}/metrics (API), {worker_metrics}\n"
            f"  Temporal UI   {settings.temporal_ui_url}\n"
            f"  Dev outbox    {base}/api/v1/dev/outbox\n"
            f"  Logs          {home / 'logs'} (Temporal, fake Stripe); the API and the worker log below\n"
            f"  Worker, API   pids in {worker.pid_file} and {api.pid_file}; killed, they start again\n"
            "  Demo data     `make demo` (stayflow seed-demo) in another terminal: users, listings, bookings\n",
            flush=True,
        )
        while True:
            for child in services:
                if not child.alive():
                    print(
                        f"! {child.name} exited with code {child.process.returncode}; stopping",
                        file=sys.stderr,
                    )
                    return 1
            if not all(part.check() for part in supervised):
                return 1
            if not all(process.check() for process in restartable):
                return 1
            time.sleep(0.5)
    except (_Stop, KeyboardInterrupt):
        print("\nstopping…", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        for process in reversed(restartable):
            process.stop()
        for child in reversed(services):
            child.stop()
        if temporal:
            temporal.stop()
        if postgres:
            postgres.stop()
        print("stopped.", flush=True)


def _redacted(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"
