"""The unit of work: the engine, one transaction per call, row locks, and the event log entry of every change.

Every public method of the register is one transaction: ``_read()`` for a
query, ``_write()`` for a change. What every write gets, whoever wrote it:

- **Concurrency.** SQLite: the transaction starts ``BEGIN IMMEDIATE`` (one
  writer at a time, so what it reads is the committed state). PostgreSQL
  (READ COMMITTED): a change to an existing row locks it first,
  ``_lock_rows`` / ``_lock_meters`` (``SELECT ... FOR UPDATE``, in id order),
  and reads its ``before`` under that lock, so it is the committed state and
  nobody changes it until this transaction ends. ``_log`` refuses an entry
  with a ``before`` whose row this transaction did not lock
  (``UnlockedChange``: a programming error, caught by the tests of the write
  path). A deadlock or a key taken meanwhile by another session becomes a
  one-line ``ConflictError`` (nothing stored); methods marked ``@retrying``
  run again first.
- **The event chain.** ``_log`` keeps the entries of the transaction; just
  before it commits, ``sealing.seal`` locks the chain's end, numbers them and
  hashes each into the chain (``app.storage.integrity``), with its personal
  values kept apart and the evidence it anchors.
- **Who.** On PostgreSQL the name in every event is the role that connected
  (a trigger enforces it too); on SQLite the name given, else the OS user.
- **Errors.** Database errors become one-line ``RegisterError``s; a refused
  permission names the roles that may do it (``app.storage.roles``).

Only this package writes: the planner, the browser and the reports read with
:meth:`UnitOfWork.reading`, a transaction the database itself keeps read-only.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

from sqlalchemy import ARRAY, Integer, any_, bindparam, null, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.storage import migrate, models, roles
from app.storage.db import display_url
from app.storage.evidence import HASH_COLUMN, KINDS, item_hashes
from app.storage.errors import (
    ConflictError, DatabaseDamaged, DatabaseLocked, DatabaseUnavailable, NotFound, PermissionDenied, ReadOnlyRegister,
    RegisterError,
)
from app.storage.integrity import PERSONAL_COLUMNS, json_text, split_personal
from app.storage.records import jsonable
from app.storage.register.tables import EVIDENCE_TABLES, M, default_user

_TX = "heatmeter_tx"
#: events about rows of these tables are covered by a lock on this parent (table, key in the event)
_PARENT = {"lot_results": ("lots", "lot_id"), "lot_draws": ("lots", None), "installations": ("meters", None)}


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


def _sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of an error, wrapped by SQLAlchemy or raised by a raw cursor."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "sqlstate", None)


class UnlockedChange(RuntimeError):
    """A write path logged a change (with a ``before``) to a row it did not lock: a bug to fix there."""


class Pending:
    """One event of the open transaction, waiting for the seal."""

    __slots__ = ("at", "user", "entity", "entity_id", "meter_id", "action", "before", "after", "source", "apart",
                 "batch", "anchors")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class Tx:
    """What a write transaction keeps until it commits: its events, and the rows it locked."""

    def __init__(self) -> None:
        self.events: list[Pending] = []
        self.locked: set[tuple[str, int]] = set()
        self.after_commit: list = []


def retrying(method):
    """Run the method (one transaction) again, up to three times in all, when the database gave up
    on it because of another session (deadlock, serialization failure, a key taken meanwhile)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        for attempt in range(3):
            try:
                return method(self, *args, **kwargs)
            except ConflictError as exc:
                if not exc.retryable or attempt == 2:
                    raise
        raise AssertionError("unreachable")
    return run


class UnitOfWork:
    """One register database. Thread-safe: every call takes its own connection."""

    def __init__(self, engine: Engine, *, read_only: bool = False):
        self.engine = engine
        self._key_cache: dict[str, str] = {}  # make as written -> manufacturer_key
        self.url = display_url(engine.url)
        self.is_sqlite = engine.dialect.name == "sqlite"
        #: opened read-only (a file that cannot be written): every change is refused
        self.read_only = read_only
        self._who: str | None = None
        self._personal_ok: bool | None = None

    # ---- life cycle -----------------------------------------------------------

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def schema_status(self) -> dict:
        with self._errors():
            st = migrate.schema_status(self.engine)
        st["read_only"] = self.read_only
        return st

    # ---- who is working ---------------------------------------------------------

    @property
    def db_user(self) -> str | None:
        """PostgreSQL: the role this register connected as (what every event records); SQLite: None."""
        if self.is_sqlite:
            return None
        if self._who is None:
            with self._errors(), self.engine.connect() as conn:
                self._who = conn.execute(text("SELECT session_user")).scalar_one()
                conn.rollback()
        return self._who

    def user_name(self, user: str | None = None) -> str:
        """The name an event records: the connected role on PostgreSQL, else ``user`` or the OS user."""
        return self.db_user or user or default_user()

    @property
    def can_read_personal(self) -> bool:
        """Whether the connected role may read personal columns (always on SQLite)."""
        if self.is_sqlite:
            return True
        if self._personal_ok is None:
            with self._errors(), self.engine.connect() as conn:
                self._personal_ok = bool(conn.execute(text(
                    "SELECT has_column_privilege('meters', 'occupant_name', 'SELECT')")).scalar())
                conn.rollback()
        return self._personal_ok

    def _m_columns(self) -> list:
        """The columns of ``meters`` to select: the personal ones as NULL when the role may not read them."""
        if self.can_read_personal:
            return list(M.c)
        return [null().label(c.name) if c.name in PERSONAL_COLUMNS else c for c in M.c]

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
            if "readonly database" in str(exc.orig) or "read-only" in str(exc.orig):
                raise ReadOnlyRegister(f"register {self.url} is read-only: nothing can be changed") from None
            if _sqlstate(exc) in ("40P01", "40001"):
                raise ConflictError(f"another session changed the same records at the same time; nothing stored "
                                    f"({_first_line(exc)}); try again", retryable=True) from None
            if _is_damaged(exc):
                raise DatabaseDamaged(f"database {self.url} is damaged ({_first_line(exc)}): restore it from a "
                                      "backup (heatmeter db status checks it)") from None
            raise DatabaseUnavailable(f"database {self.url}: {_first_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - only database errors are turned into one line; others pass
            if not _is_db_error(exc):
                raise
            state = _sqlstate(exc)
            if _is_damaged(exc):
                raise DatabaseDamaged(f"database {self.url} is damaged ({_first_line(exc)}): restore it from a "
                                      "backup (heatmeter db status checks it)") from None
            if state in ("40P01", "40001"):
                raise ConflictError(f"another session changed the same records at the same time; nothing stored "
                                    f"({_first_line(exc)}); try again", retryable=True) from None
            orig = str(getattr(exc, "orig", None) or exc)
            if state == "23505" and "meters" in orig:
                raise ConflictError("a meter with the same make and serial was added by another session meanwhile; "
                                    "nothing stored; try again", retryable=True) from None
            if state == "42501":
                what, needs = roles.describe_denial(getattr(exc, "statement", None) or "", orig)
                who = f" (connected as {self._who})" if self._who else ""
                raise PermissionDenied(f"permission denied: {what} needs the role {' or '.join(needs)}{who}",
                                       needs) from None
            if state == "25006":
                raise ReadOnlyRegister(f"register {self.url}: this transaction is read-only") from None
            if _is_unique(exc):
                raise ConflictError(f"database {self.url}: someone else stored the same record at the same time "
                                    f"({_first_line(exc)}); nothing of this change was stored: try again",
                                    retryable=True) from None
            raise DatabaseUnavailable(f"database {self.url}: {_first_line(exc)}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction: its events are sealed into the chain just before it commits."""
        from app.storage.register.sealing import seal

        if self.read_only:
            raise ReadOnlyRegister(f"register {self.url} was opened read-only (the file cannot be written): "
                                   "nothing can be changed")
        if not self.is_sqlite:
            self.db_user  # noqa: B018 - known before the transaction: the seal names it
        tx = Tx()
        with self._errors(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            conn.info[_TX] = tx
            try:
                with conn.begin():
                    yield conn
                    seal(self, conn, tx)
            finally:
                conn.info.pop(_TX, None)
        for fn in tx.after_commit:
            fn()

    @staticmethod
    def _tx(conn: Connection) -> Tx:
        tx = conn.info.get(_TX)
        if tx is None:
            raise RuntimeError("not in a write transaction of this register")
        return tx

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

    def _db_now(self, conn: Connection | None = None):
        """The time now by the database's clock (PostgreSQL: the server's; SQLite: this computer's), UTC
        without a zone, for rules comparing times written by different computers."""
        if self.is_sqlite:
            return models.utcnow()
        q = text("SELECT clock_timestamp() AT TIME ZONE 'UTC'")
        if conn is not None:
            return conn.execute(q).scalar_one()
        with self._errors(), self.engine.connect() as c:
            now = c.execute(q).scalar_one()
            c.rollback()
        return now

    # ---- locks --------------------------------------------------------------------

    def _lock_rows(self, conn: Connection, table, *where, columns: Sequence | None = None) -> list[dict[str, Any]]:
        """The rows of ``table`` matching ``where``, locked until the transaction ends (PostgreSQL
        ``FOR UPDATE``, in id order; SQLite holds the whole database already). Their ``before`` is
        the committed state."""
        q = select(*(columns or list(table.c))).where(*where).order_by(table.c.id)
        if not self.is_sqlite:
            q = q.with_for_update(of=table)
        rows = [dict(r) for r in conn.execute(q).mappings()]
        self._tx(conn).locked.update((table.name, r["id"]) for r in rows)
        return rows

    def _lock_meters(self, conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Lock these meters (all their readable columns); id -> row. Ids not in the register are left out."""
        ids = sorted({int(i) for i in ids})
        out: dict[int, dict[str, Any]] = {}
        cols = self._m_columns()
        for j in range(0, len(ids), 5000):
            for r in self._lock_rows(conn, M, self._ids_in(M.c.id, ids[j:j + 5000]), columns=cols):
                out[r["id"]] = r
        return out

    def _lock_meter(self, conn: Connection, meter_id: int) -> dict[str, Any]:
        row = self._lock_meters(conn, [meter_id]).get(int(meter_id))
        if row is None:
            raise NotFound(f"no meter with id {meter_id}")
        return row

    def _lock_key(self, conn: Connection, key: int) -> None:
        """A lock on a named activity (PostgreSQL advisory lock until the transaction ends), for rules
        no row carries, e.g. "no lot formed since I looked". SQLite holds the database already."""
        if not self.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    # ---- evidence ---------------------------------------------------------------------

    def _seal_item(self, conn: Connection, kind: str, item_id: int) -> str:
        """Hash an evidence item as the database gives it back now, store the hash in its row and
        return it (to anchor in the event that created or changed it: ``_log(..., anchors=...)``)."""
        found = list(item_hashes(conn, EVIDENCE_TABLES, kind, [item_id]))
        if not found:
            raise NotFound(f"no {kind.replace('_', ' ')} {item_id}")
        h = found[0][1]
        table = EVIDENCE_TABLES[KINDS[kind][0]]
        conn.execute(table.update().where(table.c.id == item_id).values(**{HASH_COLUMN[kind]: h}))
        return h

    # ---- the event log ----------------------------------------------------------------

    def _log(self, conn: Connection, user: str | None, entity: str, entity_id: int | None, action: str, *,
             meter_id: int | None = None, before: dict | None = None, after: dict | None = None,
             source: str | None = None, anchors: Sequence[tuple[str, int, str | None]] = ()) -> None:
        """Log a change in this transaction: who, when, before, after (personal values kept apart);
        ``anchors``: (evidence kind, item id, its content hash now, None when deleted)."""
        tx = self._tx(conn)
        if before is not None:
            self._check_locked(tx, entity, entity_id, meter_id, after)
        b, a = jsonable(before) if before is not None else None, jsonable(after) if after is not None else None
        apart: dict = {}
        if meter_id is not None:
            b, a, apart = split_personal(b, a)
        tx.events.append(Pending(at=models.utcnow(), user=self.user_name(user), entity=entity, entity_id=entity_id,
                                 meter_id=meter_id, action=action, before=json_text(b), after=json_text(a),
                                 source=source, apart=apart, anchors=list(anchors)))

    def _log_batch(self, conn: Connection, *, user: str | None, entity: str, action: str, after: dict,
                   meter_ids: list[int], data: bytes | None, apart: dict | None = None, source: str | None = None,
                   at=None) -> None:
        """One event about many meters (an import's creations, an export's access): ``meter_ids`` in
        order, ``data`` their values (``eventlog`` batch format) or None, ``apart``: key -> the values kept
        apart, ready to seal (``integrity.keep_apart``)."""
        self._tx(conn).events.append(Pending(
            at=at or models.utcnow(), user=self.user_name(user), entity=entity, entity_id=None, meter_id=None,
            action=action, before=None, after=json_text(after), source=source, apart=None,
            batch=(meter_ids, data, apart or {}), anchors=[]))

    def _check_locked(self, tx: Tx, entity: str, entity_id: int | None, meter_id: int | None, after) -> None:
        locked = tx.locked
        if (entity, entity_id) in locked or ("meters", meter_id) in locked:
            return
        parent = _PARENT.get(entity)
        if parent is not None:
            ptable, key = parent
            pid = (after or {}).get(key) if key else entity_id
            if (ptable, pid) in locked:
                return
        raise UnlockedChange(f"{entity} {entity_id}: a change logged with its 'before' but the row was not locked "
                             "in this transaction (use _lock_rows / _lock_meters before reading it)")

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

