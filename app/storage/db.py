"""Which database, and how to connect to it (SQLite file or PostgreSQL server).

``--db URL`` wins, else ``$HEATMETER_DB`` (an empty value counts as unset), else
an SQLite file ``register.db`` in the user's data directory.

SQLite connections run in WAL mode with foreign keys on, ``secure_delete`` on
(erased personal data is overwritten, not just unlinked) and a busy timeout
(5 s unless the URL says ``?timeout=SECONDS``). Read transactions start with a
plain ``BEGIN``; write transactions (``Register._write``) with ``BEGIN
IMMEDIATE`` so that a locked file is reported at once as locked instead of
failing half-way through.

A file that cannot be written (read-only media, a copy without write
permission, a folder that cannot be written) opens read-only
(:func:`sqlite_read_only`): reading works, every change is refused with a
one-line error.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from app import paths
from app.storage.errors import DatabaseUnavailable

APP_NAME = paths.APP_NAME
DEFAULT_FILE = paths.DATABASE_FILE
DEFAULT_BUSY_TIMEOUT_S = 5.0


def default_url() -> str:
    """SQLite file in the user data directory (created on first use): ``app.paths.default_database_file``."""
    return f"sqlite:///{paths.default_database_file()}"


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: explicit, else ``$HEATMETER_DB``, else the default file."""
    if url:
        return url
    env = os.environ.get("HEATMETER_DB", "").strip()
    return env or default_url()


def display_url(url: str | URL) -> str:
    """The URL without its password, for messages."""
    try:
        u = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return str(url)
    return u.render_as_string(hide_password=True)


def parse_url(url: str) -> URL:
    try:
        u = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"not a database URL: {url!r} (expected e.g. sqlite:///path/register.db "
            "or postgresql+psycopg://user@host/dbname)") from None
    backend = u.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUnavailable(f"unsupported database {backend!r} in {display_url(u)} (use sqlite or postgresql)")
    if backend == "postgresql" and u.get_driver_name() in ("psycopg2", "pg8000", "asyncpg"):
        u = u.set(drivername="postgresql+psycopg")
    if backend == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return u


def is_sqlite(engine_or_url) -> bool:
    dialect = getattr(engine_or_url, "dialect", None)
    if dialect is not None:
        return dialect.name == "sqlite"
    return parse_url(str(engine_or_url)).get_backend_name() == "sqlite"


def sqlite_path(u: URL) -> Path | None:
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def _on_sqlite_connect(dbapi_conn, _record):
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit
    # transactions would otherwise defer it to the first write).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() != "wal":
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass  # read-only media or a lock: stay in the current mode
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: big imports stay in memory until commit
    cur.execute("PRAGMA synchronous=FULL")  # WAL synced at every commit: a saved change survives a power cut
    cur.close()


def _on_sqlite_begin(conn):
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def sqlite_read_only(url: str | None) -> bool:
    """Whether ``url`` is an SQLite file that exists and cannot be written (the file, or its folder,
    where SQLite keeps its write-ahead log)."""
    resolved = resolve_url(url)
    u = parse_url(resolved)
    if u.get_backend_name() != "sqlite":
        return False
    path = sqlite_path(u)
    if path is None or not path.exists():
        return False
    return not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)


def _read_only_creator(path: Path, timeout: float):
    """Connections opening ``path`` read-only: ``mode=ro``, or ``immutable=1`` when even that needs a
    write (a log file SQLite cannot create)."""
    from urllib.parse import quote

    def connect():
        uri = f"file:{quote(str(path.resolve()))}"
        try:
            con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, check_same_thread=False)
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return con
        except sqlite3.OperationalError:
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=timeout, check_same_thread=False)

    return connect


def make_engine(url: str | None = None, *, echo: bool = False, read_only: bool = False) -> Engine:
    """An Engine for ``url`` (resolved as above), with the SQLite settings applied; ``read_only``:
    an SQLite file opened without writing (see :func:`sqlite_read_only`)."""
    resolved = resolve_url(url)
    u = parse_url(resolved)
    kwargs: dict = {"echo": echo, "future": True}
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(u)
        if path is not None and resolved == default_url():
            try:  # the default file's folder is created on first use
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create folder for {path}: {exc.strerror}") from None
        elif path is not None and not path.parent.is_dir():
            raise DatabaseUnavailable(f"cannot open database {display_url(u)}: folder {path.parent} does not exist")
        connect_args = {}
        if "timeout" not in u.query:
            connect_args["timeout"] = DEFAULT_BUSY_TIMEOUT_S
        kwargs["connect_args"] = connect_args
        if read_only and path is not None:
            kwargs["creator"] = _read_only_creator(path, float(u.query.get("timeout", DEFAULT_BUSY_TIMEOUT_S)))
    else:
        kwargs["pool_pre_ping"] = True
        connect_args = {}
        if "connect_timeout" not in u.query:
            connect_args["connect_timeout"] = 10
        kwargs["connect_args"] = connect_args
    try:
        engine = create_engine(u, **kwargs)
    except (NoSuchModuleError, ArgumentError, TypeError) as exc:
        raise DatabaseUnavailable(f"cannot use {display_url(u)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    return engine
