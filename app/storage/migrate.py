"""Schema migrations, run from code (no alembic.ini; works from an installed package).

``ensure_schema(engine)`` is called whenever the register is opened: an empty
database is created at the latest revision, an older one is migrated in place,
a newer one (a revision this heatmeter does not know) is refused.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from app.storage.db import display_url
from app.storage.errors import DatabaseTooNew, DatabaseUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6865_6174  # advisory lock id: one migrator at a time on a server


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None
    return head


def known_revisions() -> list[str]:
    """Revision ids from the first to the head."""
    return [s.revision for s in reversed(list(script_directory().walk_revisions()))]


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


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
        cur = current_revision(conn)
        if cur is None:
            tables = set(inspect(conn).get_table_names())
        conn.rollback()
    head = head_revision()
    if cur == head:
        return cur
    if cur is not None and cur not in known_revisions():
        raise DatabaseTooNew(
            f"database {display_url(engine.url)} has schema revision {cur}, newer than this heatmeter "
            f"knows (latest {head}); use a newer heatmeter")
    if cur is None and tables - {"alembic_version"}:
        raise DatabaseUnavailable(
            f"database {display_url(engine.url)} is not empty and is not a heatmeter register "
            f"(tables: {', '.join(sorted(tables)[:5])})")
    upgrade(engine, "head")
    return cur
