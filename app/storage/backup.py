"""Backups of the register (MMS 2.3.7): ``db backup FILE`` and ``db restore FILE``.

SQLite: the online backup API copies the database page by page while others
keep working (a consistent copy, written to a temporary file and renamed).
PostgreSQL: ``pg_dump`` (custom format) and ``pg_restore``, the server's own
tools, which must be installed where heatmeter runs.

A restore first checks the file: it is restored into a scratch copy (a
temporary file; a temporary database on the same server), migrated to this
heatmeter's schema and verified (``Register.verify_integrity``). A file that
does not verify is refused and nothing changes. Before the register is
replaced, its current state is saved next to the backup file
(``FILE.before-restore-<time>``).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from app.storage.db import display_url, parse_url, resolve_url, sqlite_path
from app.storage.errors import DatabaseUnavailable, RegisterError


class BackupError(RegisterError):
    """A backup or restore could not be made (exit 1)."""

    status = 1


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%dT%H%M%S")


def _verify(url: str) -> Any:
    from app.storage.register import open_register

    with open_register(url) as reg:
        return reg.verify_integrity()


def backup(url: str | None, dest: str | Path) -> dict[str, Any]:
    """Write a backup of the register at ``url`` to ``dest``; returns what was saved and its check."""
    resolved = resolve_url(url)
    u = parse_url(resolved)
    dest = Path(dest)
    if not dest.parent.is_dir():
        raise BackupError(f"cannot write {dest}: folder {dest.parent} does not exist")
    report = _verify(resolved)
    if u.get_backend_name() == "sqlite":
        _sqlite_copy(resolved, dest)
    else:
        _pg_dump(u, dest)
    return {"file": str(dest), "register": display_url(u), "events": report.events, "evidence": report.evidence,
            "verified": report.ok, "chain_end": {"event_id": report.head_id, "hash": report.head_hash},
            "problems": [p.line() for p in report.problems]}


def restore(url: str | None, src: str | Path) -> dict[str, Any]:
    """Replace the register at ``url`` by the backup ``src``, if the backup verifies."""
    resolved = resolve_url(url)
    u = parse_url(resolved)
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"no backup file {src}")
    if u.get_backend_name() == "sqlite":
        return _sqlite_restore(resolved, u, src)
    return _pg_restore(resolved, u, src)


# ---- SQLite ----------------------------------------------------------------------------------

def _sqlite_copy(url: str, dest: Path) -> None:
    from app.storage.register import open_register

    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open_register(url, migrate_schema=False) as reg, reg.engine.connect() as conn:
            target = sqlite3.connect(tmp)
            try:
                conn.connection.driver_connection.backup(target)
            finally:
                target.close()
            conn.rollback()
        os.replace(tmp, dest)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"cannot write {dest}: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _sqlite_restore(url: str, u: URL, src: Path) -> dict[str, Any]:
    target = sqlite_path(u)
    if target is None:
        raise BackupError(f"cannot restore into {display_url(u)}: not a database file")
    with tempfile.TemporaryDirectory(prefix="heatmeter-restore-") as tmp:
        scratch = Path(tmp) / "check.db"
        try:
            shutil.copyfile(src, scratch)
            with sqlite3.connect(scratch) as con:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            con.close()
        except (OSError, sqlite3.Error) as exc:
            raise BackupError(f"{src} is not a register backup: {exc}") from None
        report = _checked(f"sqlite:///{scratch}", src)
        saved = None
        if target.exists():
            saved = src.with_name(f"{src.name}.before-restore-{_stamp()}.db")
            _sqlite_copy(url, saved)
        try:
            source = sqlite3.connect(scratch)
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)
            finally:
                dest.close()
                source.close()
        except (OSError, sqlite3.Error) as exc:
            raise BackupError(f"cannot restore into {target}: {exc}") from None
    return _restored(src, u, report, saved)


def _checked(url: str, src: Path):
    try:
        report = _verify(url)
    except RegisterError as exc:
        raise BackupError(f"{src} cannot be opened as a register: {exc}; nothing restored") from None
    if not report.ok:
        first = report.problems[0].line()
        raise BackupError(f"{src} does not verify ({len(report.problems)} problem(s), first: {first}); "
                          "nothing restored")
    return report


def _restored(src: Path, u: URL, report, saved) -> dict[str, Any]:
    return {"file": str(src), "register": display_url(u), "events": report.events, "evidence": report.evidence,
            "verified": True, "chain_end": {"event_id": report.head_id, "hash": report.head_hash},
            "previous_saved_to": str(saved) if saved else None}


# ---- PostgreSQL ------------------------------------------------------------------------------

def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools (pg_dump, pg_restore) to back up "
                          "or restore a PostgreSQL register")
    return path


def _libpq(u: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment carrying it."""
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{what} failed: {exc}") from None
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr or p.stdout).splitlines() if ln.strip()]
        raise BackupError(f"{what} failed: {lines[0] if lines else f'exit status {p.returncode}'}")


def _pg_dump(u: URL, dest: Path) -> None:
    tool = _tool("pg_dump")
    uri, env = _libpq(u)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _run([tool, "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={uri}"], env,
             f"pg_dump of {display_url(u)}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _pg_restore(url: str, u: URL, src: Path) -> dict[str, Any]:
    import psycopg

    tool = _tool("pg_restore")
    scratch = f"{(u.database or 'heatmeter')[:40]}_check_{uuid.uuid4().hex[:10]}"
    admin_uri, env = _libpq(u)
    try:
        with psycopg.connect(admin_uri, autocommit=True, password=u.password) as c:
            c.execute(f'CREATE DATABASE "{scratch}"')
    except psycopg.Error as exc:
        raise BackupError(f"cannot check {src} before restoring it: creating a scratch database needs a role "
                          f"that may create databases ({str(exc).strip().splitlines()[0]})") from None
    scratch_url = u.set(database=scratch).render_as_string(hide_password=False)
    try:
        s_uri, _env = _libpq(u.set(database=scratch))
        _run([tool, "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={s_uri}", str(src)], env,
             f"pg_restore of {src} (into a scratch database to check it)")
        report = _checked(scratch_url, src)
    finally:
        with psycopg.connect(admin_uri, autocommit=True, password=u.password) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    saved = src.with_name(f"{src.name}.before-restore-{_stamp()}.dump")
    _pg_dump(u, saved)
    _run([tool, "--no-owner", "--no-privileges", "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
          f"--dbname={admin_uri}", str(src)], env, f"pg_restore into {display_url(u)}")
    _reapply_roles(url)
    return _restored(src, u, report, saved)


def _reapply_roles(url: str) -> None:
    """Grants are not restored (their roles may differ): give them again when the groups exist."""
    from sqlalchemy import text

    from app.storage.db import make_engine
    from app.storage.roles import GROUPS, apply_roles

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            have = conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = ANY(:g)"),
                                {"g": list(GROUPS)}).scalar()
            if have == len(GROUPS):
                apply_roles(conn)
    except Exception as exc:  # the restore itself succeeded
        raise DatabaseUnavailable(f"restored, but the roles' grants could not be given again: {exc}; run "
                                  "heatmeter db roles") from None
    finally:
        engine.dispose()
