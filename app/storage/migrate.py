"""Schema migrations, run from code (no alembic.ini; works from an installed package).

``ensure_schema(engine)`` is called whenever the register is opened: an empty
database is created at the latest revision, an older one is migrated in place,
a newer one (a revision this heatmeter does not know) is refused.

Opening a register already at the latest revision (``HEAD``) reads its
revision with one query, without loading alembic; a new SQLite register is
made from ``sqlite_schema.sql``, the schema the migrations build, written by
``python -m app.storage.migrate`` (a test checks that it still is what they
build). Everything else goes through alembic.
"""
from __future__ import annotations

import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from app.storage.db import display_url
from app.storage.errors import DatabaseTooNew, DatabaseUnavailable

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

#: The latest revision of the migrations (``tests/storage/test_register_schema.py`` checks it).
HEAD = "0008"
#: A new SQLite register at ``HEAD``: the statements the migrations' schema is dumped as.
SQLITE_SCHEMA = Path(__file__).resolve().parent / "sqlite_schema.sql"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6865_6174  # advisory lock id: one migrator at a time on a server


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None
    return head


def known_revisions() -> list[str]:
    """Revision ids from the first to the head."""
    return [s.revision for s in reversed(list(script_directory().walk_revisions()))]


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _stored_revisions(conn: Connection) -> list[str]:
    """The revisions the database records (none for a new one), read without alembic."""
    if not inspect(conn).has_table("alembic_version"):
        return []
    return [r for (r,) in conn.execute(text("SELECT version_num FROM alembic_version"))]


@contextmanager
def _migration_connection(engine: Engine):
    """A connection in one write transaction, foreign keys off on SQLite while tables are rebuilt."""
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                yield conn
                if sqlite:
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise DatabaseUnavailable(f"migration left {len(bad)} broken references; nothing changed")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with _migration_connection(engine) as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with _migration_connection(engine) as conn:
        command.downgrade(alembic_config(conn), revision)


def schema_status(engine: Engine) -> dict:
    """``{"current": rev|None, "head": rev, "known": bool, "up_to_date": bool}``."""
    with engine.connect() as conn:
        cur = current_revision(conn)
    head = head_revision()
    return {"current": cur, "head": head, "known": cur is None or cur in known_revisions(),
            "up_to_date": cur == head}


def ensure_schema(engine: Engine) -> str | None:
    """Create or migrate the schema to the head; refuse a newer database.

    Returns the revision the database was at before (None when it was empty).
    """
    with engine.connect() as conn:
        revs = _stored_revisions(conn)
        if revs == [HEAD]:  # the usual case: nothing to do, alembic not needed
            conn.rollback()
            return HEAD
        cur = revs[0] if len(revs) == 1 else None if not revs else current_revision(conn)
        if cur is None:
            tables = set(inspect(conn).get_table_names())
        conn.rollback()
    if cur is None:
        if tables - {"alembic_version"}:
            raise DatabaseUnavailable(
                f"database {display_url(engine.url)} is not empty and is not a heatmeter register "
                f"(tables: {', '.join(sorted(tables)[:5])})")
        if engine.dialect.name == "sqlite" and _create_sqlite(engine):
            return None
    else:
        head = head_revision()
        if cur == head:
            return cur
        if cur not in known_revisions():
            raise DatabaseTooNew(
                f"database {display_url(engine.url)} has schema revision {cur}, newer than this heatmeter "
                f"knows (latest {head}); use a newer heatmeter")
    upgrade(engine, "head")
    return cur


def _statements(script: str) -> list[str]:
    out, part = [], ""
    for line in script.splitlines(keepends=True):
        if not part and (not line.strip() or line.startswith("--")):
            continue
        part += line
        if sqlite3.complete_statement(part):
            out.append(part.strip())
            part = ""
    return out


def _create_sqlite(engine: Engine) -> bool:
    """A new SQLite register made from ``SQLITE_SCHEMA`` in one transaction; False (nothing done) when
    another process made tables meanwhile (the migrations then see what it did)."""
    statements = [s for s in _statements(SQLITE_SCHEMA.read_text(encoding="utf-8"))
                  if s not in ("BEGIN TRANSACTION;", "COMMIT;")]
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                if cur.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    cur.execute("ROLLBACK")
                    return False
                for st in statements:
                    cur.execute(st)
                cur.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.close()
    return True


def sqlite_schema_script() -> str:
    """The statements of a new SQLite register, as the migrations build it (an empty file migrated to
    the head, dumped)."""
    import tempfile

    from app.storage.db import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "new.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine, "head")
        finally:
            engine.dispose()
        con = sqlite3.connect(path)
        try:
            body = "\n".join(con.iterdump())
        finally:
            con.close()
    return (f"-- A new SQLite register at revision {head_revision()}: the schema the migrations build.\n"
            "-- Written by `python -m app.storage.migrate`; do not edit.\n" + body + "\n")


if __name__ == "__main__":
    SQLITE_SCHEMA.write_text(sqlite_schema_script(), encoding="utf-8")
    print(f"wrote {SQLITE_SCHEMA}", file=sys.stderr)
