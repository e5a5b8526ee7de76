"""The `stayflow` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from pathlib import Path

from stayflow.settings import DEV_STACK_MARKER, SettingsError, get_settings


def _migrate() -> None:
    from stayflow.migrations import migrate

    asyncio.run(migrate())
    print("migrations applied")


def _api(args: argparse.Namespace) -> None:
    import uvicorn

    from api.logs import access_log_config

    if args.forwarded_allow_ips is not None:  # the app reads it from its settings, like every knob
        os.environ["STAYFLOW_FORWARDED_ALLOW_IPS"] = args.forwarded_allow_ips
        get_settings.cache_clear()
    settings = get_settings()
    settings.check_can_start()
    uvicorn.run(
        "api.app:app_factory",
        factory=True,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        # The app believes X-Forwarded-* only from STAYFLOW_FORWARDED_ALLOW_IPS (api/proxies.py);
        # uvicorn's own handling would trust 127.0.0.1 by default.
        proxy_headers=False,
        log_level="info",
        log_config=access_log_config(),
    )


def _worker() -> None:
    from workers.main import run_worker

    settings = get_settings()
    settings.check_can_start()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run_worker(settings))


def _create_admin(args: argparse.Namespace) -> int:
    from stayflow.admins import create_admin

    password = args.password or os.environ.get("STAYFLOW_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    try:
        created = asyncio.run(create_admin(args.email, password, args.name))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(("created admin " if created else "promoted existing user to admin ") + args.email.lower())
    return 0


def _backup(args: argparse.Namespace) -> int:
    from stayflow.backups import BackupError, backup_database

    try:
        written = asyncio.run(backup_database(get_settings(), args.output))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {written} ({written.stat().st_size} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from stayflow.backups import BackupError, restore_database

    try:
        restored = asyncio.run(restore_database(get_settings(), args.file, clean=args.clean))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.file} into {restored.database} ({restored.tables} tables); run `stayflow migrate` next")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from stayflow.temporal import connect
    from stayflow.versioning import PromotionError, deployment_version, promote

    settings = get_settings()
    version = deployment_version(settings, build=args.build_id)

    async def run() -> int:
        client = await connect(settings)
        try:
            promotion = await promote(client, version, wait_seconds=args.wait)
        except PromotionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        before = promotion.previous_build_id or "unversioned workers"
        if promotion.previous_build_id == version.build_id:
            print(f"{version.to_canonical_string()} is current (it already was)")
        else:
            print(f"{version.to_canonical_string()} is current: new runs start on it (before: {before})")
        return 0

    code = asyncio.run(run())
    # The client's Rust threads can abort a short-lived process during interpreter teardown
    # ("PyGILState_Release ... must be current", temporalio/sdk-python#300): leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _build_id() -> int:
    from stayflow.versioning import build_id

    print(build_id(get_settings()))
    return 0


def _seed_demo() -> int:
    from stayflow.demo.seed import run

    return run(get_settings())


def _dev() -> int:
    from stayflow.dev import run_dev

    # The local stack is dev unless STAYFLOW_ENV says otherwise; everything else defaults to production.
    os.environ.setdefault("STAYFLOW_ENV", "dev")
    get_settings.cache_clear()
    settings = get_settings()
    if settings.env == "dev":  # so that commands run beside it in this checkout are dev commands too
        settings.home_dir.mkdir(parents=True, exist_ok=True)
        (settings.home_dir / DEV_STACK_MARKER).write_text(
            "written by `stayflow dev`; delete to default to production\n"
        )
    return run_dev(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stayflow", description="Stayflow: short-term rental marketplace backend.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="run the whole product locally (PostgreSQL, Temporal + UI, worker, API)")
    api = sub.add_parser("api", help="serve the HTTP API with uvicorn")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed; "
        "default: $STAYFLOW_FORWARDED_ALLOW_IPS, else none",
    )
    sub.add_parser("worker", help="run a Temporal worker for every workflow and activity")
    sub.add_parser("migrate", help="apply database migrations")
    promote = sub.add_parser(
        "promote", help="make this build (or --build-id) the one new runs start on, once its workers poll"
    )
    promote.add_argument("--build-id", help="default: STAYFLOW_BUILD_ID, else this code's build id (stayflow build-id)")
    promote.add_argument("--wait", type=float, default=60.0, help="seconds to wait for a worker of it (default 60)")
    sub.add_parser("build-id", help="print the build id this code's workers run as")
    admin = sub.add_parser("create-admin", help="create an admin account (or promote an existing user)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    admin.add_argument("--password", help="default: $STAYFLOW_ADMIN_PASSWORD, else asked for")
    sub.add_parser("seed-demo", help="fill the running stack (`make dev`) with a demo marketplace; twice adds nothing")
    backup = sub.add_parser("backup", help="write a consistent dump of the database (pg_dump custom format)")
    backup.add_argument("--output", "-o", type=Path, help="default: ./stayflow-<UTC time>.dump")
    restore = sub.add_parser("restore", help="load a backup into an empty database")
    restore.add_argument("file", type=Path)
    restore.add_argument(
        "--clean", action="store_true", help="the database is not empty: drop and replace the objects the backup holds"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "dev":
            return _dev()
        if args.command == "api":
            _api(args)
        elif args.command == "worker":
            _worker()
        elif args.command == "migrate":
            get_settings().check_can_start()
            _migrate()
        elif args.command == "promote":
            return _promote(args)
        elif args.command == "build-id":
            return _build_id()
        elif args.command == "create-admin":
            return _create_admin(args)
        elif args.command == "seed-demo":
            return _seed_demo()
        elif args.command == "backup":
            return _backup(args)
        elif args.command == "restore":
            return _restore(args)
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
