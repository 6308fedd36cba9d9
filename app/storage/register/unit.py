"""The unit of work: the engine, one transaction per call, and the event log entry of every change.

Every public method of the register is one transaction: ``_read()`` for a
query, ``_write()`` for a change (on SQLite ``BEGIN IMMEDIATE``, so that a
locked file is reported at once instead of half-way through). A change and
its event-log entries (``_log``: who, when, before, after) go in the same
transaction. Database errors become one-line ``RegisterError``s.

Only this package writes: the planner, the browser and the reports read with
:meth:`UnitOfWork.reading`, a transaction the database itself keeps read-only.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Self

from sqlalchemy import ARRAY, Integer, any_, bindparam, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.storage import migrate, models
from app.storage.db import display_url
from app.storage.errors import ConflictError, DatabaseDamaged, DatabaseLocked, DatabaseUnavailable, RegisterError
from app.storage.records import jsonable
from app.storage.register.tables import EV, default_user


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    msg = str(orig).strip().splitlines()
    return msg[0].strip() if msg else type(orig).__name__


_DAMAGE = ("malformed", "file is not a database", "disk image", "database corrupt", "invalid page",
           "could not read block", "invalid memory alloc")


def _is_damaged(exc: BaseException) -> bool:
    m = str(getattr(exc, "orig", exc)).lower()
    return any(d in m for d in _DAMAGE)


def _is_db_error(exc: BaseException) -> bool:
    """A database driver's own error (raw cursors of the read side raise these, not SQLAlchemy's)."""
    if isinstance(exc, DBAPIError):
        return True
    mod = type(exc).__module__.split(".")[0]
    return mod in ("sqlite3", "psycopg", "psycopg2") and isinstance(exc, Exception) and hasattr(exc, "args")


def _is_unique(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    m = str(getattr(exc, "orig", exc)).lower()
    return "unique constraint" in m or "duplicate key" in m or type(exc).__name__ in ("UniqueViolation",
                                                                                       "IntegrityError")


def _is_locked(exc: BaseException) -> bool:
    m = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in m or "database table is locked" in m or "database is busy" in m


class UnitOfWork:
    """One register database. Thread-safe: every call takes its own connection."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._key_cache: dict[str, str] = {}  # make as written -> manufacturer_key
        self.url = display_url(engine.url)
        self.is_sqlite = engine.dialect.name == "sqlite"

    # ---- life cycle -----------------------------------------------------------

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def schema_status(self) -> dict:
        with self._errors():
            return migrate.schema_status(self.engine)

    def check_integrity(self) -> str | None:
        """None when the database file is sound, else what is wrong (SQLite ``quick_check``; a
        PostgreSQL server checks its own pages). Reads every page: seconds on a large register."""
        if not self.is_sqlite:
            return None
        try:
            with self.engine.connect() as conn:
                rows = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check(5)")]
        except DBAPIError as exc:
            return _first_line(exc)
        return None if rows == ["ok"] else " ".join("; ".join(str(r) for r in rows).split())[:300]

    # ---- transactions -----------------------------------------------------------

    @contextmanager
    def _errors(self):
        try:
            yield
        except RegisterError:
            raise
        except OperationalError as exc:
            if _is_locked(exc):
                raise DatabaseLocked(f"database {self.url} is locked by another program; try again when it is free") from None
            if _is_damaged(exc):
                raise DatabaseDamaged(f"database {self.url} is damaged ({_first_line(exc)}): restore it from a "
                                      "backup (heatmeter db status checks it)") from None
            raise DatabaseUnavailable(f"database {self.url}: {_first_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - only database errors are turned into one line; others pass
            if not _is_db_error(exc):
                raise
            if _is_damaged(exc):
                raise DatabaseDamaged(f"database {self.url} is damaged ({_first_line(exc)}): restore it from a "
                                      "backup (heatmeter db status checks it)") from None
            if _is_unique(exc):
                err = ConflictError(f"database {self.url}: someone else stored the same record at the same time "
                                    f"({_first_line(exc)}); nothing of this change was stored: try again")
                err.retryable = True  # type: ignore[attr-defined] - the same work again sees the other's record
                raise err from None
            raise DatabaseUnavailable(f"database {self.url}: {_first_line(exc)}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._errors(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction, for queries the API has no method for (the planner's load,
        the register browser's index, the reports).

        The database refuses any change made through it: writes go through this
        package's methods only, each with its event-log entries.
        """
        with self._errors(), self.engine.connect() as conn:
            if not self.is_sqlite:
                conn.execution_options(postgresql_readonly=True)
                with conn.begin():
                    yield conn
                return
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA query_only = ON")
            try:
                with conn.begin():
                    yield conn
            finally:
                try:
                    raw.execute("PRAGMA query_only = OFF")
                except Exception:  # never hand a read-only connection back to the pool
                    conn.invalidate()

    def _log(self, conn: Connection, user: str | None, entity: str, entity_id: int | None, action: str, *,
             meter_id: int | None = None, before: dict | None = None, after: dict | None = None,
             source: str | None = None) -> None:
        conn.execute(insert(EV), {
            "at": models.utcnow(), "user": user or default_user(), "entity": entity, "entity_id": entity_id,
            "meter_id": meter_id, "action": action, "before": jsonable(before) if before is not None else None,
            "after": jsonable(after) if after is not None else None, "source": source,
        })

    def _ids_in(self, column, ids: Iterable[int]):
        """``column IN ids`` for any number of ids. A plain IN binds one parameter per id, and
        PostgreSQL takes at most 65,535 of them (SQLite builds 32,766 to 250,000): PostgreSQL
        gets one array parameter instead, SQLite the ids written into the statement."""
        ids = [int(i) for i in ids]
        if not self.is_sqlite:
            return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
        if len(ids) <= 30_000:
            return column.in_(ids)
        return column.in_(bindparam(None, ids, expanding=True, literal_execute=True))
