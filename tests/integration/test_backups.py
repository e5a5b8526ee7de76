"""`stayflow backup` / `stayflow restore` against the real PostgreSQL 18 with the real pg_dump and
pg_restore: every row of every table comes back, constraints and triggers still hold, and a restore
never lands on top of a database that has tables unless told to replace them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from models import LedgerEntry, Payment
from stayflow.backups import (
    BackupError,
    backup_database,
    find_tools,
    restore_database,
    server_major_version,
)
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from tests.factories import make_booking, make_listing, make_user

Fingerprint = dict[str, tuple[int, str]]


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
async def empty_database(settings: Settings) -> AsyncIterator[str]:
    """A new, empty database on the same server: where a restore after losing the original goes."""
    assert settings.database_url
    name = f"stayflow_restore_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_with_database(settings.database_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(settings.database_url, name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def fingerprint(url: str) -> Fingerprint:
    """Row count and a digest of the full contents of every table."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        result = {}
        for table in tables:
            row = await conn.fetchrow(
                f"""SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest
                    FROM "{table}" t"""
            )
            result[table] = (row["n"], row["digest"])
        return result
    finally:
        await conn.close()


async def schema_objects(url: str) -> dict[str, set[str]]:
    conn = await asyncpg.connect(url)
    try:
        constraints = await conn.fetch(
            # By name and kind: a re-parsed definition may deparse with extra casts, meaning the same.
            """SELECT conrelid::regclass::text || ' ' || conname || ' ' || contype::text AS d
               FROM pg_constraint WHERE connamespace = 'public'::regnamespace"""
        )
        triggers = await conn.fetch("SELECT pg_get_triggerdef(oid) AS d FROM pg_trigger WHERE NOT tgisinternal")
        indexes = await conn.fetch(
            "SELECT tablename || ' ' || indexname AS d FROM pg_indexes WHERE schemaname = 'public'"
        )
        return {
            "constraints": {r["d"] for r in constraints},
            "triggers": {r["d"] for r in triggers},
            "indexes": {r["d"] for r in indexes},
        }
    finally:
        await conn.close()


async def seed_marketplace() -> None:
    host = await make_user(role=Role.host, full_name="Hélène Hôte")  # non-ASCII survives the round trip
    listing = await make_listing(host, title="Loft 'quoted' \\ backslash")
    guest = await make_user()
    today = dt.date.today()
    booking = await make_booking(
        listing, guest, check_in=today + dt.timedelta(days=10), check_out=today + dt.timedelta(days=13)
    )
    payment = await Payment.objects().get(Payment.booking == booking.id)
    assert payment is not None
    await LedgerEntry(
        payment=payment.id,
        booking=booking.id,
        guest=guest.id,
        kind="authorization",
        amount=booking.total,
        currency="EUR",
        dedupe_key=f"authorize:{booking.id}",
    ).save()
    await make_booking(listing, guest, check_in=today + dt.timedelta(days=20), check_out=today + dt.timedelta(days=22))


async def test_backup_restores_every_row_into_an_empty_database(
    settings: Settings, empty_database: str, tmp_path: Path
) -> None:
    assert settings.database_url
    await seed_marketplace()
    source = await fingerprint(settings.database_url)
    assert source["bookings"][0] == 2 and source["users"][0] == 2
    assert source["migration"][0] >= 8  # piccolo's record of applied migrations travels too

    server_major = await server_major_version(settings.database_url)
    assert server_major == 18
    assert (await find_tools(settings, server_major)).major == server_major

    archive = await backup_database(settings, tmp_path / "nightly.dump")
    assert archive.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert archive.stat().st_mode & 0o777 == 0o600  # password hashes and personal data inside
    assert [p.name for p in tmp_path.iterdir()] == ["nightly.dump"]

    restored = await restore_database(msgspec.structs.replace(settings, database_url=empty_database), archive)
    assert restored.tables == len(source)
    assert await fingerprint(empty_database) == source
    assert await schema_objects(empty_database) == await schema_objects(settings.database_url)

    # The restored database still refuses what the original refuses.
    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(asyncpg.ExclusionViolationError):  # a second booking over the same nights
            await conn.execute(
                """INSERT INTO bookings SELECT (jsonb_populate_record(NULL::bookings, to_jsonb(b)
                     || jsonb_build_object('id', gen_random_uuid(), 'idempotency_key', NULL))).*
                   FROM bookings b LIMIT 1"""
            )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE bookings SET check_out = check_in")
        with pytest.raises(asyncpg.RaiseError, match="immutable"):  # the ledger stays append-only
            await conn.execute("UPDATE ledger_entries SET amount = 1")
    finally:
        await conn.close()
    assert await fingerprint(empty_database) == source


async def test_restore_refuses_a_database_that_has_tables(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url
    await seed_marketplace()
    archive = await backup_database(settings, tmp_path / "b.dump")
    await make_user(email="after-the-backup@example.com")
    before = await fingerprint(settings.database_url)

    with pytest.raises(BackupError, match=r"refusing to restore into .*already has \d+ tables.*--clean"):
        await restore_database(settings, archive)
    assert await fingerprint(settings.database_url) == before


async def test_restore_with_clean_replaces_what_changed_since(
    settings: Settings, empty_database: str, tmp_path: Path
) -> None:
    assert settings.database_url
    await seed_marketplace()
    source = await fingerprint(settings.database_url)
    archive = await backup_database(settings, tmp_path / "b.dump")
    target = msgspec.structs.replace(settings, database_url=empty_database)
    await restore_database(target, archive)
    conn = await asyncpg.connect(empty_database)
    try:
        await conn.execute("UPDATE listings SET title = 'vandalised'")
        await conn.execute("DELETE FROM sessions")
        await conn.execute("CREATE TABLE scratch_notes (note text)")  # not in the backup: left alone
    finally:
        await conn.close()
    assert (await fingerprint(empty_database))["listings"] != source["listings"]

    await restore_database(target, archive, clean=True)
    after = await fingerprint(empty_database)
    assert after.pop("scratch_notes") == (0, "d41d8cd98f00b204e9800998ecf8427e")
    assert after == source


async def test_a_file_that_is_not_a_backup_changes_nothing(
    settings: Settings, empty_database: str, tmp_path: Path
) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("CREATE TABLE oops (id int);\n")
    target = msgspec.structs.replace(settings, database_url=empty_database)
    with pytest.raises(BackupError, match="not a backup"):
        await restore_database(target, bogus)
    with pytest.raises(BackupError, match="no such file"):
        await restore_database(target, tmp_path / "missing.dump")
    assert await fingerprint(empty_database) == {}


def _fake_tools(bin_dir: Path, version: str) -> Path:
    """pg_dump/pg_restore stand-ins that report `version` and record how they were called."""
    bin_dir.mkdir()
    calls = bin_dir / "calls.jsonl"
    for name in ("pg_dump", "pg_restore"):
        script = bin_dir / name
        script.write_text(
            f"#!{sys.executable}\n"
            "import json, os, sys\n"
            f"if sys.argv[1:] == ['--version']:\n    print('{name} (PostgreSQL) {version}'); sys.exit(0)\n"
            f"with open({str(calls)!r}, 'a') as f:\n"
            "    f.write(json.dumps({'argv': sys.argv, 'password': os.environ.get('PGPASSWORD')}) + '\\n')\n"
            "for arg in sys.argv:\n"
            "    if arg.startswith('--file='):\n        open(arg[7:], 'wb').write(b'PGDMP')\n"
        )
        script.chmod(0o755)
    return calls


async def test_the_password_reaches_pg_dump_only_through_its_environment(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url
    calls = _fake_tools(tmp_path / "bin", "18.6")
    # The local server trusts every connection, so any password is accepted and passed on.
    with_password = settings.database_url.replace("postgres@", "postgres:s3cret%2Fpw@")
    configured = msgspec.structs.replace(settings, database_url=with_password, pg_bin_dir=str(tmp_path / "bin"))

    await backup_database(configured, tmp_path / "b.dump")

    (call,) = [json.loads(line) for line in calls.read_text().splitlines()]
    assert call["password"] == "s3cret/pw"
    assert not any("s3cret" in arg for arg in call["argv"]), call["argv"]
    assert any(arg.startswith("--dbname=postgresql://postgres@127.0.0.1:") for arg in call["argv"])


async def test_tools_too_old_or_missing_are_named(settings: Settings, tmp_path: Path) -> None:
    _fake_tools(tmp_path / "old", "15.4")
    too_old = msgspec.structs.replace(settings, pg_bin_dir=str(tmp_path / "old"))
    with pytest.raises(BackupError, match=r"(?s)PostgreSQL 18 server.*postgresql-client-18.*is PostgreSQL 15, older"):
        await backup_database(too_old, tmp_path / "b.dump")
    (tmp_path / "empty").mkdir()
    missing = msgspec.structs.replace(settings, pg_bin_dir=str(tmp_path / "empty"))
    with pytest.raises(BackupError, match=r"STAYFLOW_PG_BIN_DIR: no pg_dump and pg_restore in"):
        await backup_database(missing, tmp_path / "b.dump")
    assert not (tmp_path / "b.dump").exists()


def _stayflow(*args: str, env: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stayflow.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_the_command_line_round_trip(settings: Settings, empty_database: str, tmp_path: Path) -> None:
    assert settings.database_url
    await seed_marketplace()
    source = await fingerprint(settings.database_url)
    env = dict(os.environ)

    backed_up = _stayflow("backup", "--output", str(tmp_path / "cli.dump"), env=env)
    assert backed_up.returncode == 0, backed_up.stderr
    assert "backup written to" in backed_up.stdout

    refused = _stayflow("restore", str(tmp_path / "cli.dump"), env=env)
    assert refused.returncode == 1
    assert "refusing to restore" in refused.stderr and "--clean" in refused.stderr

    restored = _stayflow("restore", str(tmp_path / "cli.dump"), env=env | {"STAYFLOW_DATABASE_URL": empty_database})
    assert restored.returncode == 0, restored.stderr
    assert await fingerprint(empty_database) == source
