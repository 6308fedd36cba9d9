"""The bulk writing an import does below the ORM: ids reserved beforehand, rows staged (SQLite) or
copied in (PostgreSQL binary COPY), installations copied in the database, and the update of a meter
the file changes. The create events go in batches through ``UnitOfWork._log_batch``."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.engine import Connection

from app.storage import models, tabular
from app.storage.register.meters import Meters
from app.storage.register.tables import INST, M, manufacturer_key

# fields an imported row may carry (placement is resolved to ids separately)
_IMPORT_FIELDS = tuple(c for c in tabular.KNOWN_COLUMNS if c not in ("site", "building", "monitoring_point"))


class BulkSQL(Meters):
    """Driver-level helpers of ``import_file`` (see ``bulk_import``)."""

    def _manufacturer_keys(self, makes: list[str | None]) -> list[str | None]:
        kc = self._key_cache
        keys: dict[str | None, str | None] = {None: None}
        for make in set(makes):
            if make is not None:
                k = kc.get(make)
                if k is None:
                    k = kc[make] = manufacturer_key(make)
                keys[make] = k
        return list(map(keys.__getitem__, makes))

    def _processor(self, table, column: str):
        """The dialect's bind processor of a column, or the identity when the driver takes Python values."""
        return table.c[column].type._cached_bind_processor(self.engine.dialect) or (lambda v: v)

    def _copy_installations(self, conn: Connection, ids: list[int]) -> None:
        """The first installation of each meter ``ids`` just inserted, copied from it in the database."""
        if self.is_sqlite:  # the ids are consecutive (reserved under the write lock)
            where, params = "id BETWEEN ? AND ?", (ids[0], ids[-1])
        elif list(ids) == list(range(ids[0], ids[0] + len(ids))):
            # consecutive values of the sequence: no other row can hold an id in between
            where, params = "id BETWEEN %s AND %s", (ids[0], ids[-1])
        else:
            where, params = "id = ANY(%s)", (ids,)
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute("INSERT INTO installations (meter_id, site_id, building_id, monitoring_point_id, location, "
                        "installed_on, year_only) SELECT id, site_id, building_id, monitoring_point_id, location, "
                        f"install_date, install_year_only FROM meters WHERE {where} ORDER BY id", params)
        finally:
            cur.close()

    _STAGE = "heatmeter_import_stage"

    def _stage(self, conn: Connection, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """SQLite: put rows into a bare temporary table (no index, no constraint)."""
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self._STAGE} ({', '.join(columns)})")
            cur.executemany(f"INSERT INTO temp.{self._STAGE} VALUES ({', '.join('?' * len(columns))})", rows)
        finally:
            cur.close()

    def _insert_staged(self, conn: Connection, table, columns: Sequence[str], constants: dict[str, Any]) -> None:
        """SQLite: move the staged rows into ``table`` (with ``constants``) in one statement; empty the stage."""
        lits = [_sql_literal(self._processor(table, c)(v)) for c, v in constants.items()]
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute(f"INSERT INTO {table.name} ({', '.join([*columns, *constants])}) "
                        f"SELECT {', '.join([*columns, *lits])} FROM temp.{self._STAGE} ORDER BY rowid")
            cur.execute(f"DELETE FROM temp.{self._STAGE}")
        finally:
            cur.close()

    def _drop_stage(self, conn: Connection) -> None:
        conn.connection.driver_connection.execute(f"DROP TABLE IF EXISTS temp.{self._STAGE}")

    def _copy_in(self, conn: Connection, table, columns: Sequence[str], rows: Iterable[tuple],
                 sent: Callable[[], None] | None = None) -> None:
        """PostgreSQL: rows into ``table`` with binary COPY, in the open transaction.

        Values must be in the driver's form (bind processors applied); text and
        JSON columns take text. ``sent`` is called once every row is sent, while
        the server finishes (checks the foreign keys).
        """
        quoted = ", ".join(f'"{c}"' for c in columns)
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN (FORMAT BINARY)') as cp:
                cp.set_types([_pg_type(table.c[c].type) for c in columns])
                write = cp.write_row
                for r in rows:
                    write(r)
                if sent is not None:
                    sent()

    def _import_diff(self, cur, v, columns, extra_columns, sid, bid, mpid, *, marked=frozenset()):
        """(cur, after, moved) when the file's row changes the stored meter, else None. Columns
        ``marked`` personal go to ``personal_extra``, the other extra columns to ``extra``."""
        after: dict[str, Any] = {}
        for f in _IMPORT_FIELDS:
            if f not in columns:
                continue
            nv = v.get(f)
            if f == "status" and nv is None:
                continue
            if cur[f] != nv:
                after[f] = nv
        if "install_date" in columns and bool(cur["install_year_only"]) != bool(v.get("install_year_only")):
            after["install_year_only"] = bool(v.get("install_year_only"))
        if extra_columns:
            for col, names in (("extra", [c for c in extra_columns if c not in marked]),
                               ("personal_extra", [c for c in extra_columns if c in marked])):
                if not names:
                    continue
                merged = dict(cur[col] or {})
                for c in names:
                    if c in v["extra"]:
                        merged[c] = v["extra"][c]
                    else:
                        merged.pop(c, None)
                if merged != (cur[col] or {}):
                    after[col] = merged or None
        ids_changed = (cur["site_id"], cur["building_id"], cur["monitoring_point_id"]) != (sid, bid, mpid)
        if ids_changed:
            after.update(site_id=sid, building_id=bid, monitoring_point_id=mpid)
        if not after:
            return None
        old_d, new_d = cur["install_date"], v.get("install_date")
        moved = bool((ids_changed or "location" in after) and "install_date" in after
                     and old_d and new_d and new_d > old_d)
        return cur, after, moved

    def _reserve_ids(self, conn: Connection, table: str, n: int) -> list[int]:
        """``n`` new ids for ``table``, so that rows and their children go in with executemany.

        SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so max(id)+1...
        is ours. PostgreSQL: taken from the table's sequence, as an INSERT would.
        """
        if n <= 0:
            return []
        if self.is_sqlite:
            start = (conn.execute(text(f"SELECT max(id) FROM {table}")).scalar() or 0) + 1
            return list(range(start, start + n))
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar_one()
        return list(conn.execute(text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
                                 {"s": seq, "n": n}).scalars())

    def _import_update(self, conn: Connection, cur: dict[str, Any], after: dict[str, Any], moved: bool, *,
                       user: str, source: str) -> None:
        before = {k: cur.get(k) for k in after}
        row = dict(after)
        if "manufacturer" in row:
            row["manufacturer_key"] = manufacturer_key(row["manufacturer"])
        row.update(version=cur["version"] + 1, updated_at=models.utcnow())
        conn.execute(update(M).where(M.c.id == cur["id"]).values(**row))
        placement = {k: row[k] for k in ("site_id", "building_id", "monitoring_point_id", "location") if k in row}
        if moved:
            self._close_open_installation(conn, cur["id"], after["install_date"], "moved (import)", None, user)
            conn.execute(insert(INST).values(
                meter_id=cur["id"], site_id=row.get("site_id", cur["site_id"]),
                building_id=row.get("building_id", cur["building_id"]),
                monitoring_point_id=row.get("monitoring_point_id", cur["monitoring_point_id"]),
                location=row.get("location", cur["location"]), installed_on=after["install_date"],
                year_only=bool(row.get("install_year_only", cur["install_year_only"]))))
        else:
            inst = dict(placement)
            if "install_date" in row:
                inst["installed_on"] = row["install_date"]
                inst["year_only"] = bool(row.get("install_year_only", cur["install_year_only"]))
            if inst:
                conn.execute(update(INST).where(INST.c.meter_id == cur["id"], INST.c.removed_on.is_(None)).values(**inst))
        after_log = dict(after)
        after_log["version"] = cur["version"] + 1
        self._log(conn, user, "meters", cur["id"], "move" if moved else "update", meter_id=cur["id"],
                  before=before, after=after_log, source=source)


def _pg_type(t) -> str:
    """The PostgreSQL type name binary COPY sends for a column of SQLAlchemy type ``t``.

    Text and JSON columns are sent as text (the import gives JSON as its text,
    which the server's json input reads as such)."""
    from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, LargeBinary, SmallInteger

    for cls, name in ((SmallInteger, "int2"), (BigInteger, "int8"), (Integer, "int4"), (Float, "float8"),
                      (Boolean, "bool"), (DateTime, "timestamp"), (Date, "date"), (LargeBinary, "bytea")):
        if isinstance(t, cls):
            return name
    return "text"


def _sql_literal(v: Any) -> str:
    """An SQL literal of a constant the import writes (None, bool, number or text)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"

