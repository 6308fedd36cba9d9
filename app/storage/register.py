"""The register's service API, called by the CLI, the GUI, the planner and ``read --save``.

    from app.storage.register import open_register
    with open_register(url) as reg:          # None: --db / $HEATMETER_DB / default file
        report = reg.import_file("meters.csv", user="ann")
        page = reg.list_meters(site="North", search="riser", limit=200, offset=0)

Every method is one transaction. Every change to a meter's record, its
installations, commissioning, evidence, calibration and the data-protection
flags is written to the event log (who, when, before, after) in the same
transaction. Methods return plain records (``app.storage.records``), never
live ORM objects, so they are safe to pass between threads.

Database problems become one-line ``RegisterError``s (``app.storage.errors``).
"""
from __future__ import annotations

import datetime as dt
import gc
import getpass
import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from app.storage import manufacturers, migrate, models, tabular
from app.storage.db import display_url, make_engine, resolve_url
from app.storage.errors import (
    ConflictError, DatabaseLocked, DatabaseUnavailable, ImportFileError, InvalidRows, LegalHoldError,
    NotFound, RegisterError, SignedRecordError, ValidationError,
)
from app.storage.records import (
    METER_FIELDS, PERSONAL_FIELDS, EraseReport, ImportReport, MeterRecord, ReadoutResult,
    jsonable,
)

M = models.Meter.__table__
S = models.Site.__table__
B = models.Building.__table__
MP = models.MonitoringPoint.__table__
INST = models.Installation.__table__
EV = models.EventLog.__table__
EVB = models.EventBatch.__table__
COM = models.CommissioningRecord.__table__
RO = models.Readout.__table__
RF = models.ReadoutFrame.__table__
CAL = models.CalibrationResult.__table__
CALP = models.CalibrationPoint.__table__
LOT = models.Lot.__table__
LOTM = models.LotMember.__table__
LOTD = models.LotDraw.__table__
LOTR = models.LotResult.__table__
LOTV = models.LotVerdict.__table__

CHUNK = 5000
ERASED = "[erased]"
CHECKLIST_ANSWERS = ("yes", "no", "na")


def default_user() -> str:
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no user name in the environment (containers)
        return "unknown"


def manufacturer_key(make: str) -> str:
    return " ".join(make.split()).casefold()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    msg = str(orig).strip().splitlines()
    return msg[0].strip() if msg else type(orig).__name__


def _is_locked(exc: BaseException) -> bool:
    m = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in m or "database table is locked" in m or "database is busy" in m


def load_monitoring_point_table() -> dict[str, dict[str, Any]]:
    """MMS Annex A ids -> {description, element, read_interval_min} (resources/mms_monitoring_points.csv)."""
    import csv

    import resources

    out: dict[str, dict[str, Any]] = {}
    with resources.path("mms_monitoring_points.csv").open(newline="", encoding="utf-8") as f:
        lines = (ln for ln in f if ln.strip() and not ln.lstrip().startswith("#"))
        for row in csv.DictReader(lines):
            out[row["id"].strip().upper()] = {
                "element": row["element"].strip(), "description": row["description"].strip(),
                "read_interval_min": int(row["min_read_interval_min"]),
            }
    return out


_ANNEX_A: dict[str, dict[str, Any]] | None = None


def annex_a() -> dict[str, dict[str, Any]]:
    global _ANNEX_A
    if _ANNEX_A is None:
        _ANNEX_A = load_monitoring_point_table()
    return _ANNEX_A


def open_register(url: str | None = None, *, migrate_schema: bool = True) -> Register:
    """Open (and create or migrate) the register at ``url``; see ``app.storage.db.resolve_url``."""
    resolved = resolve_url(url)
    engine = make_engine(resolved)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            conn.rollback()
        if migrate_schema:
            migrate.ensure_schema(engine)
    except RegisterError:
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        if _is_locked(exc):
            raise DatabaseLocked(f"database {display_url(resolved)} is locked by another program; try again when it is free") from None
        raise DatabaseUnavailable(f"cannot open database {display_url(resolved)}: {_first_line(exc)}") from None
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {display_url(resolved)}: {_first_line(exc)}") from None
    return Register(engine)


class Register:
    """One register database. Thread-safe: every call takes its own connection."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._key_cache: dict[str, str] = {}  # make as written -> manufacturer_key
        self.url = display_url(engine.url)
        self.is_sqlite = engine.dialect.name == "sqlite"

    # ---- life cycle -----------------------------------------------------------

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def schema_status(self) -> dict:
        return migrate.schema_status(self.engine)

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

    def _log(self, conn: Connection, user: str | None, entity: str, entity_id: int | None, action: str, *,
             meter_id: int | None = None, before: dict | None = None, after: dict | None = None,
             source: str | None = None) -> None:
        conn.execute(insert(EV), {
            "at": models.utcnow(), "user": user or default_user(), "entity": entity, "entity_id": entity_id,
            "meter_id": meter_id, "action": action, "before": jsonable(before) if before is not None else None,
            "after": jsonable(after) if after is not None else None, "source": source,
        })

    # ---- sites, buildings, monitoring points ------------------------------------

    def _site_id(self, conn: Connection, name: str, create: bool = True) -> int | None:
        name = " ".join(name.split())
        sid = conn.execute(select(S.c.id).where(S.c.name == name)).scalar()
        if sid is None and create:
            sid = conn.execute(insert(S).values(name=name).returning(S.c.id)).scalar_one()
        return sid

    def _building_id(self, conn: Connection, site_id: int, name: str | None) -> int | None:
        if not name:
            return None
        bid = conn.execute(select(B.c.id).where(B.c.site_id == site_id, B.c.name == name)).scalar()
        if bid is None:
            bid = conn.execute(insert(B).values(site_id=site_id, name=name).returning(B.c.id)).scalar_one()
        return bid

    @staticmethod
    def _mp_values(site_id: int, building_id: int | None, label: str) -> dict[str, Any]:
        info = annex_a().get(label.strip().upper())
        return {"site_id": site_id, "building_id": building_id, "label": label,
                "mms_id": label.strip().upper() if info else None,
                "description": info["description"] if info else None,
                "read_interval_min": info["read_interval_min"] if info else None}

    def _mp_id(self, conn: Connection, site_id: int, building_id: int | None, label: str | None) -> int | None:
        if not label:
            return None
        mid = conn.execute(select(MP.c.id).where(MP.c.site_id == site_id, MP.c.label == label)).scalar()
        if mid is None:
            mid = conn.execute(insert(MP).values(**self._mp_values(site_id, building_id, label))
                               .returning(MP.c.id)).scalar_one()
        return mid

    def list_sites(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            q = (select(S.c.id, S.c.name, func.count(M.c.id).label("meters"))
                 .select_from(S.outerjoin(M, M.c.site_id == S.c.id)).group_by(S.c.id, S.c.name).order_by(S.c.name))
            return [dict(r._mapping) for r in conn.execute(q)]

    def list_monitoring_points(self, site: str | None = None) -> list[dict[str, Any]]:
        with self._read() as conn:
            q = (select(MP, S.c.name.label("site"), B.c.name.label("building"))
                 .select_from(MP.join(S, S.c.id == MP.c.site_id).outerjoin(B, B.c.id == MP.c.building_id))
                 .order_by(S.c.name, MP.c.label))
            if site:
                q = q.where(S.c.name == site)
            return [dict(r._mapping) for r in conn.execute(q)]

    def set_monitoring_point(self, site: str, label: str, *, user: str | None = None, building: str | None = None,
                             description: str | None = None, read_interval_min: int | None = None) -> int:
        """Create or update a monitoring point (an Annex A id gets its description and read interval)."""
        with self._write() as conn:
            sid = self._site_id(conn, site)
            bid = self._building_id(conn, sid, building)
            row = conn.execute(select(MP).where(MP.c.site_id == sid, MP.c.label == label)).mappings().first()
            values = self._mp_values(sid, bid, label)
            if description is not None:
                values["description"] = description
            if read_interval_min is not None:
                values["read_interval_min"] = read_interval_min
            if row is None:
                mid = conn.execute(insert(MP).values(**values).returning(MP.c.id)).scalar_one()
                self._log(conn, user, "monitoring_points", mid, "create", after=values)
            else:
                mid = row["id"]
                before = {k: row[k] for k in values if row[k] != values[k]}
                if before:
                    conn.execute(update(MP).where(MP.c.id == mid).values(**values))
                    self._log(conn, user, "monitoring_points", mid, "update", before=before,
                              after={k: values[k] for k in before})
            return mid

    # ---- reading meters -----------------------------------------------------------

    def _meter_select(self):
        return (select(M, S.c.name.label("site_name"), B.c.name.label("building_name"),
                       MP.c.label.label("mp_label"))
                .select_from(M.join(S, S.c.id == M.c.site_id).outerjoin(B, B.c.id == M.c.building_id)
                             .outerjoin(MP, MP.c.id == M.c.monitoring_point_id)))

    @staticmethod
    def _record(r) -> MeterRecord:
        m = r._mapping
        return MeterRecord(
            id=m["id"], version=m["version"], site=m["site_name"], building=m["building_name"],
            monitoring_point=m["mp_label"], location=m["location"], manufacturer=m["manufacturer"],
            mbus_manufacturer=m["mbus_manufacturer"], model=m["model"], serial=m["serial"],
            mid_class=m["mid_class"], qp_m3h=m["qp_m3h"], qi_m3h=m["qi_m3h"], qp_qi_ratio=m["qp_qi_ratio"],
            qs_m3h=m["qs_m3h"], dn=m["dn"], dtheta_min_k=m["dtheta_min_k"], dtheta_max_k=m["dtheta_max_k"],
            temp_min_c=m["temp_min_c"], temp_max_c=m["temp_max_c"], flow_sensor_position=m["flow_sensor_position"],
            primary_address=m["primary_address"], secondary_address=m["secondary_address"], baud=m["baud"],
            battery_expiry=m["battery_expiry"], install_date=m["install_date"],
            install_year_only=bool(m["install_year_only"]), status=m["status"], extra=m["extra"] or {},
            notes=m["notes"], occupant_name=m["occupant_name"], flat=m["flat"],
            customer_reference=m["customer_reference"], legal_hold=bool(m["legal_hold"]),
            restrict_processing=bool(m["restrict_processing"]), personal_erased_at=m["personal_erased_at"],
            created_at=m["created_at"], updated_at=m["updated_at"])

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

    def _filtered(self, q, *, site=None, make=None, model=None, status=None, search=None,
                  include_restricted=False, meter_ids=None):
        if site:
            q = q.where(S.c.name == site)
        if make:
            flag = make.strip().upper()
            q = q.where(or_(M.c.manufacturer_key == manufacturer_key(make), M.c.mbus_manufacturer == flag))
        if model:
            q = q.where(func.lower(M.c.model) == model.strip().lower())
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            q = q.where(M.c.status.in_(statuses))
        if search:
            for word in search.split():
                pat = f"%{word}%"
                q = q.where(or_(M.c.manufacturer.ilike(pat), M.c.model.ilike(pat), M.c.serial.ilike(pat),
                                M.c.secondary_address.ilike(pat), M.c.location.ilike(pat),
                                S.c.name.ilike(pat), B.c.name.ilike(pat), MP.c.label.ilike(pat)))
        if not include_restricted:
            q = q.where(M.c.restrict_processing == False)  # noqa: E712
        if meter_ids is not None:
            q = q.where(self._ids_in(M.c.id, meter_ids))
        return q

    def list_meters(self, *, site: str | None = None, make: str | None = None, model: str | None = None,
                    status: str | Sequence[str] | None = None, search: str | None = None,
                    include_restricted: bool = False, limit: int | None = None, offset: int = 0,
                    after: tuple[str, str] | None = None) -> list[MeterRecord]:
        """Meters sorted by manufacturer, serial; filtered; one page.

        ``make`` matches the make as written (case-insensitive) or the FLAG code.
        ``search`` matches every word in make, model, serial, secondary address,
        location, site, building or monitoring point. Restricted meters (MMS
        2.2.5) are left out unless ``include_restricted``. Page with
        ``limit``/``offset``, or faster for deep pages with ``after`` = the
        ``(manufacturer, serial)`` of the previous page's last meter.
        """
        q = self._filtered(self._meter_select(), site=site, make=make, model=model, status=status,
                           search=search, include_restricted=include_restricted)
        if after is not None:
            k, s = manufacturer_key(after[0]), after[1]
            q = q.where(or_(M.c.manufacturer_key > k, and_(M.c.manufacturer_key == k, M.c.serial > s)))
        q = q.order_by(M.c.manufacturer_key, M.c.serial)
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)
        with self._read() as conn:
            return [self._record(r) for r in conn.execute(q)]

    def count_meters(self, **filters) -> int:
        q = self._filtered(select(func.count()).select_from(
            M.join(S, S.c.id == M.c.site_id).outerjoin(B, B.c.id == M.c.building_id)
            .outerjoin(MP, MP.c.id == M.c.monitoring_point_id)), **filters)
        with self._read() as conn:
            return conn.execute(q).scalar_one()

    def get_meter(self, meter_id: int) -> MeterRecord:
        with self._read() as conn:
            r = conn.execute(self._meter_select().where(M.c.id == meter_id)).first()
        if r is None:
            raise NotFound(f"no meter with id {meter_id}")
        return self._record(r)

    def find_meter(self, manufacturer: str, serial: str) -> MeterRecord:
        """The meter with this make (as written, any case, or its FLAG code) and serial."""
        key, serial = manufacturer_key(manufacturer), serial.strip()
        with self._read() as conn:
            r = conn.execute(self._meter_select().where(M.c.manufacturer_key == key, M.c.serial == serial)).first()
            if r is None and len(manufacturer.strip()) == 3:
                rows = conn.execute(self._meter_select().where(
                    M.c.mbus_manufacturer == manufacturer.strip().upper(), M.c.serial == serial)).all()
                r = rows[0] if len(rows) == 1 else None
        if r is None:
            raise NotFound(f"no meter {manufacturer} {serial} in the register")
        return self._record(r)

    def installations(self, meter_id: int) -> list[dict[str, Any]]:
        q = (select(INST, S.c.name.label("site"), B.c.name.label("building"), MP.c.label.label("monitoring_point"))
             .select_from(INST.join(S, S.c.id == INST.c.site_id).outerjoin(B, B.c.id == INST.c.building_id)
                          .outerjoin(MP, MP.c.id == INST.c.monitoring_point_id))
             .where(INST.c.meter_id == meter_id).order_by(INST.c.id))
        with self._read() as conn:
            return [jsonable(dict(r._mapping)) for r in conn.execute(q)]

    def meters_at(self, site: str, monitoring_point: str) -> list[dict[str, Any]]:
        """Every installation at a monitoring point, oldest first (which meter sat there when)."""
        q = (select(INST.c.meter_id, M.c.manufacturer, M.c.serial, INST.c.installed_on, INST.c.removed_on,
                    INST.c.removal_reason, INST.c.replaced_by_meter_id)
             .select_from(INST.join(M, M.c.id == INST.c.meter_id).join(S, S.c.id == INST.c.site_id)
                          .join(MP, MP.c.id == INST.c.monitoring_point_id))
             .where(S.c.name == site, MP.c.label == monitoring_point).order_by(INST.c.id))
        with self._read() as conn:
            return [jsonable(dict(r._mapping)) for r in conn.execute(q)]

    def history(self, meter_id: int) -> list[dict[str, Any]]:
        """The meter's event log, oldest first: at, user, action, entity, entity_id, before, after, source.

        A meter an import created has its ``create`` entry here like any other:
        who, when, the file, and its values at creation (kept in the import's
        event batch, see ``models.EventBatch``)."""
        q = select(EV).where(EV.c.meter_id == meter_id).order_by(EV.c.id)
        with self._read() as conn:
            entries = [(r.id, r.at, r.user, r.action, r.entity, r.entity_id, r.before, r.after, r.source)
                       for r in conn.execute(q)]
            for ev, after in self._batched_creates(conn, {meter_id}):
                entries.append((ev.id, ev.at, ev.user, ev.action, ev.entity, meter_id, None, after, ev.source))
        entries.sort(key=lambda e: e[0])
        return [{"at": at.isoformat(timespec="seconds") + "Z", "user": user, "action": action, "entity": entity,
                 "entity_id": entity_id, "before": before, "after": after, "source": source}
                for _id, at, user, action, entity, entity_id, before, after, source in entries]

    def events(self, *, entity: str | None = None, since: dt.datetime | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        """The latest events, newest first, as stored. An import's create events are one row per
        batch of meters (``meter_id`` empty, ``after`` {"meters": how many}); ``history`` gives
        each meter its own."""
        q = select(EV).order_by(EV.c.id.desc()).limit(limit)
        if entity:
            q = q.where(EV.c.entity == entity)
        if since:
            q = q.where(EV.c.at >= since)
        with self._read() as conn:
            return [jsonable(dict(r._mapping)) for r in conn.execute(q)]

    def _batches_of(self, conn: Connection, meter_ids: set[int]):
        """The ``event_batches`` rows (with their event) whose range of meter ids overlaps ``meter_ids``."""
        lo, hi = min(meter_ids), max(meter_ids)
        return conn.execute(
            select(EVB.c.id.label("batch_id"), EVB.c.meter_ids, EVB.c.data, EV.c.id, EV.c.at, EV.c.user,
                   EV.c.action, EV.c.entity, EV.c.source)
            .select_from(EVB.join(EV, EV.c.id == EVB.c.event_id))
            .where(EVB.c.first_meter_id <= hi, EVB.c.last_meter_id >= lo).order_by(EVB.c.id))

    def _batched_creates(self, conn: Connection, meter_ids: set[int]):
        """(event row, values at creation) of each of these meters whose create event is in a batch."""
        out = []
        if meter_ids:
            for r in self._batches_of(conn, meter_ids):
                for mid, after in batch_after_values(decode_batch(r.meter_ids, r.data), meter_ids).items():
                    out.append((r, after))
        return out

    def _scrub_batches(self, conn: Connection, meter_ids: Iterable[int]) -> int:
        """Replace these meters' personal values in event batches by ERASED; returns how many meters had some."""
        ids = set(meter_ids)
        scrubbed = 0
        if not ids:
            return 0
        for r in self._batches_of(conn, ids):
            bid, data = r.batch_id, decode_batch(r.meter_ids, r.data)
            personal = [j for j, c in enumerate(data["columns"]) if c in PERSONAL_FIELDS]
            if not personal:
                continue
            changed = 0
            for p, mid in enumerate(data["meter_ids"]):
                if mid in ids:
                    hit = False
                    for j in personal:
                        if data["values"][j][p] is not None:
                            data["values"][j][p] = ERASED
                            hit = True
                    changed += hit
            if changed:
                kept = json.dumps({"columns": data["columns"], "values": data["values"]})
                conn.execute(update(EVB).where(EVB.c.id == bid).values(data=encode_batch_values(kept)))
                scrubbed += changed
        return scrubbed

    def planning_meters(self, *, site: str | None = None, statuses: Sequence[str] = ("in_service",)
                        ) -> Iterator[dict[str, Any]]:
        """Meters the planner considers: restricted ones are left out (MMS 2.2.5).

        Yields dicts with id, manufacturer, mbus_manufacturer, model, serial, site,
        qp_m3h, qi_m3h, qp_qi_ratio, mid_class, install_date, install_year_only,
        battery_expiry, status, and the id of the meter's open lot memberships
        is not included (see ``lots_of_meter``).
        """
        cols = [M.c.id, M.c.manufacturer, M.c.mbus_manufacturer, M.c.model, M.c.serial, S.c.name.label("site"),
                M.c.qp_m3h, M.c.qi_m3h, M.c.qp_qi_ratio, M.c.mid_class, M.c.install_date, M.c.install_year_only,
                M.c.battery_expiry, M.c.status]
        q = (select(*cols).select_from(M.join(S, S.c.id == M.c.site_id))
             .where(M.c.restrict_processing == False)  # noqa: E712
             .order_by(M.c.manufacturer_key, M.c.serial))
        if statuses:
            q = q.where(M.c.status.in_(list(statuses)))
        if site:
            q = q.where(S.c.name == site)
        with self._read() as conn:
            for r in conn.execute(q):
                d = dict(r._mapping)
                d["install_year_only"] = bool(d["install_year_only"])
                yield d

    # ---- writing meters ---------------------------------------------------------

    def _check_fields(self, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        unknown = set(fields) - set(METER_FIELDS) - {"site", "building", "monitoring_point"}
        if unknown:
            raise ValidationError(f"unknown meter field{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}")
        cells = {k: v for k, v in fields.items() if k not in ("extra", "install_year_only")}
        if "install_date" in cells and isinstance(cells["install_date"], dt.date) and fields.get("install_year_only"):
            cells["install_date"] = str(cells["install_date"].year)
        values, errors = tabular.check_row(cells)
        values.pop("extra")
        errors = [e for e in errors if e != "empty install_date"]  # the API allows an unknown install date
        if creating:
            for col in tabular.REQUIRED_COLUMNS:
                if col != "install_date" and not values.get(col):
                    errors.append(f"empty {col}")
        if errors:
            raise ValidationError("; ".join(errors))
        if "extra" in fields:
            values["extra"] = dict(fields["extra"] or {})
        return values

    def create_meter(self, fields: dict[str, Any], *, user: str | None = None, source: str | None = None) -> MeterRecord:
        """Create one meter (and its first installation). ``fields``: site (required),
        building, monitoring_point, location and any of ``METER_FIELDS``."""
        values = self._check_fields(fields, creating=True)
        with self._write() as conn:
            key = manufacturer_key(values["manufacturer"])
            if conn.execute(select(M.c.id).where(M.c.manufacturer_key == key, M.c.serial == values["serial"])).first():
                raise ValidationError(f"meter {values['manufacturer']} {values['serial']} is already in the register")
            mid = self._insert_meter(conn, values, user=user, source=source)
        return self.get_meter(mid)

    def _insert_meter(self, conn: Connection, values: dict[str, Any], *, user: str | None, source: str | None) -> int:
        sid = self._site_id(conn, values["site"])
        bid = self._building_id(conn, sid, values.get("building"))
        mpid = self._mp_id(conn, sid, bid, values.get("monitoring_point"))
        now = models.utcnow()
        row = {k: values.get(k) for k in METER_FIELDS if k in values}
        row.update(manufacturer_key=manufacturer_key(values["manufacturer"]), site_id=sid, building_id=bid,
                   monitoring_point_id=mpid, created_at=now, updated_at=now, version=1,
                   install_year_only=bool(values.get("install_year_only")),
                   status=values.get("status") or "in_service")
        if not row.get("mbus_manufacturer"):
            row["mbus_manufacturer"] = manufacturers.flag_for_make(values["manufacturer"])
        mid = conn.execute(insert(M).values(**row).returning(M.c.id)).scalar_one()
        iid = conn.execute(insert(INST).values(
            meter_id=mid, site_id=sid, building_id=bid, monitoring_point_id=mpid, location=row.get("location"),
            installed_on=row.get("install_date"), year_only=row["install_year_only"]).returning(INST.c.id)).scalar_one()
        after = {k: v for k, v in row.items() if v is not None and k not in ("manufacturer_key", "created_at", "updated_at")}
        after.update(site=values["site"], building=values.get("building"), monitoring_point=values.get("monitoring_point"),
                     installation_id=iid)
        self._log(conn, user, "meters", mid, "create", meter_id=mid, after=after, source=source)
        return mid

    def _conflict(self, conn: Connection, cur: dict[str, Any], expected_version: int,
                  yours: dict[str, Any]) -> ConflictError:
        evs = conn.execute(select(EV.c.user, EV.c.at, EV.c.after, EV.c.action).where(
            EV.c.meter_id == cur["id"], EV.c.entity == "meters").order_by(EV.c.id)).all()
        theirs_fields: list[str] = []
        who = set()
        last_at = None
        for e in evs:
            after = e.after or {}
            if after.get("version", 0) > expected_version:
                who.add(e.user)
                last_at = e.at
                for k in after:
                    if k != "version" and k not in theirs_fields:
                        theirs_fields.append(k)
        if not theirs_fields:  # no log entry (e.g. edited outside heatmeter): compare the values themselves
            theirs_fields = [k for k, v in yours.items() if k in cur and cur[k] != v]
        changes = []
        parts = []
        for k in theirs_fields:
            theirs = cur.get(k)
            if k in yours:
                mine = yours[k]
                parts.append(f"{k}: theirs {_show(theirs)} vs yours {_show(mine)}")
            else:
                mine = None
                parts.append(f"{k}: theirs {_show(theirs)} (you did not change it)")
            changes.append((k, jsonable(theirs), jsonable(mine)))
        by = f" by {', '.join(sorted(who))}" if who else ""
        when = f" at {last_at.isoformat(timespec='seconds')}Z" if last_at else ""
        msg = (f"meter {cur['manufacturer']} {cur['serial']} was changed{by}{when} after you loaded it "
               f"(your version {expected_version}, now {cur['version']}); nothing saved. Changed: "
               + ("; ".join(parts) if parts else "no field differs") + ". Reload and apply your edit again")
        return ConflictError(msg, changes, cur["version"])

    def update_meter(self, meter_id: int, changes: dict[str, Any], *, expected_version: int,
                     user: str | None = None, source: str | None = None) -> MeterRecord:
        """Change fields of a meter loaded at ``expected_version`` (optimistic locking).

        A stale version raises ConflictError naming each field the other writer
        changed (theirs vs yours); nothing is saved. Placement fields (site,
        building, monitoring_point, location) correct the current installation;
        use ``move_meter`` or ``replace_meter`` when the meter really moved.
        """
        values = self._check_fields(changes, creating=False)
        for k in ("site", "manufacturer", "model", "serial"):
            if k in values and not values[k]:
                raise ValidationError(f"empty {k}")
        with self._write() as conn:
            q = select(M).where(M.c.id == meter_id)
            if not self.is_sqlite:
                q = q.with_for_update()
            row = conn.execute(q).mappings().first()
            if row is None:
                raise NotFound(f"no meter with id {meter_id}")
            cur = dict(row)
            names = self._placement_names(conn, cur)
            cur.update(names)
            if cur["version"] != expected_version:
                raise self._conflict(conn, cur, expected_version, values)
            return self._apply_update(conn, cur, values, user=user, source=source)

    def _placement_names(self, conn: Connection, cur: dict[str, Any]) -> dict[str, Any]:
        site = conn.execute(select(S.c.name).where(S.c.id == cur["site_id"])).scalar()
        building = conn.execute(select(B.c.name).where(B.c.id == cur["building_id"])).scalar() if cur["building_id"] else None
        mp = conn.execute(select(MP.c.label).where(MP.c.id == cur["monitoring_point_id"])).scalar() \
            if cur["monitoring_point_id"] else None
        return {"site": site, "building": building, "monitoring_point": mp}

    def _apply_update(self, conn: Connection, cur: dict[str, Any], values: dict[str, Any], *,
                      user: str | None, source: str | None, action: str = "update") -> MeterRecord:
        before, after = {}, {}
        for k, v in values.items():
            if k == "install_year_only" and "install_date" not in values:
                continue
            if cur.get(k) != v:
                before[k], after[k] = cur.get(k), v
        if not after:
            return self.get_meter_in(conn, cur["id"])
        row: dict[str, Any] = {k: v for k, v in after.items() if k in METER_FIELDS}
        if "manufacturer" in after:
            row["manufacturer_key"] = manufacturer_key(after["manufacturer"])
        if any(k in after for k in ("site", "building", "monitoring_point")):
            sid = self._site_id(conn, values.get("site") or cur["site"])
            bid = self._building_id(conn, sid, values.get("building", cur["building"]))
            mpid = self._mp_id(conn, sid, bid, values.get("monitoring_point", cur["monitoring_point"]))
            row.update(site_id=sid, building_id=bid, monitoring_point_id=mpid)
        new_version = cur["version"] + 1
        row.update(updated_at=models.utcnow(), version=new_version)
        res = conn.execute(update(M).where(M.c.id == cur["id"], M.c.version == cur["version"]).values(**row))
        if res.rowcount != 1:
            latest = dict(conn.execute(select(M).where(M.c.id == cur["id"])).mappings().one())
            latest.update(self._placement_names(conn, latest))
            raise self._conflict(conn, latest, cur["version"], values)
        inst_changes = {}
        for k, col in (("site_id", "site_id"), ("building_id", "building_id"), ("monitoring_point_id", "monitoring_point_id")):
            if k in row:
                inst_changes[col] = row[k]
        if "location" in after:
            inst_changes["location"] = after["location"]
        if "install_date" in after:
            inst_changes["installed_on"] = after["install_date"]
            inst_changes["year_only"] = bool(values.get("install_year_only"))
        if inst_changes:
            conn.execute(update(INST).where(INST.c.meter_id == cur["id"], INST.c.removed_on.is_(None))
                         .values(**inst_changes))
        after["version"] = new_version
        self._log(conn, user, "meters", cur["id"], action, meter_id=cur["id"], before=before, after=after, source=source)
        return self.get_meter_in(conn, cur["id"])

    def get_meter_in(self, conn: Connection, meter_id: int) -> MeterRecord:
        return self._record(conn.execute(self._meter_select().where(M.c.id == meter_id)).one())

    def move_meter(self, meter_id: int, *, on: dt.date, site: str | None = None, building: str | None = None,
                   monitoring_point: str | None = None, location: str | None = None, expected_version: int,
                   user: str | None = None, reason: str | None = None) -> MeterRecord:
        """The meter moved: close its open installation on ``on`` and open a new one there."""
        with self._write() as conn:
            cur = dict(conn.execute(select(M).where(M.c.id == meter_id)).mappings().first() or {})
            if not cur:
                raise NotFound(f"no meter with id {meter_id}")
            cur.update(self._placement_names(conn, cur))
            if cur["version"] != expected_version:
                raise self._conflict(conn, cur, expected_version, {})
            self._close_open_installation(conn, meter_id, on, reason or "moved", None, user)
            site = site or cur["site"]
            sid = self._site_id(conn, site)
            bid = self._building_id(conn, sid, building)
            mpid = self._mp_id(conn, sid, bid, monitoring_point)
            iid = conn.execute(insert(INST).values(meter_id=meter_id, site_id=sid, building_id=bid,
                                                   monitoring_point_id=mpid, location=location, installed_on=on,
                                                   year_only=False).returning(INST.c.id)).scalar_one()
            conn.execute(update(M).where(M.c.id == meter_id).values(
                site_id=sid, building_id=bid, monitoring_point_id=mpid, location=location, install_date=on,
                install_year_only=False, version=cur["version"] + 1, updated_at=models.utcnow()))
            before = {k: cur[k] for k in ("site", "building", "monitoring_point", "location", "install_date")}
            after = {"site": site, "building": building, "monitoring_point": monitoring_point, "location": location,
                     "install_date": on, "installation_id": iid, "version": cur["version"] + 1}
            self._log(conn, user, "meters", meter_id, "move", meter_id=meter_id, before=before, after=after,
                      source=reason)
            return self.get_meter_in(conn, meter_id)

    def _close_open_installation(self, conn, meter_id, on, reason, replaced_by, user):
        open_rows = conn.execute(select(INST).where(INST.c.meter_id == meter_id, INST.c.removed_on.is_(None))).mappings().all()
        for r in open_rows:
            if r["installed_on"] and on < r["installed_on"]:
                raise ValidationError(f"removal date {on} is before the installation date {r['installed_on']}")
            conn.execute(update(INST).where(INST.c.id == r["id"]).values(
                removed_on=on, removal_reason=reason, replaced_by_meter_id=replaced_by))
            self._log(conn, user, "installations", r["id"], "close", meter_id=meter_id,
                      before={"removed_on": None}, after={"removed_on": on, "removal_reason": reason,
                                                           "replaced_by_meter_id": replaced_by})

    def replace_meter(self, old_meter_id: int, new_meter: dict[str, Any] | int, *, on: dt.date,
                      user: str | None = None, reason: str = "replaced", old_status: str = "removed") -> MeterRecord:
        """Replace a meter at its place: the old installation closes on ``on`` (the old meter
        keeps its history, status ``old_status``); the new meter (fields of a new meter, or
        the id of a spare) is installed at the same site/building/monitoring point/location."""
        with self._write() as conn:
            old = dict(conn.execute(select(M).where(M.c.id == old_meter_id)).mappings().first() or {})
            if not old:
                raise NotFound(f"no meter with id {old_meter_id}")
            old.update(self._placement_names(conn, old))
            if isinstance(new_meter, int):
                new_id = new_meter
                nm = dict(conn.execute(select(M).where(M.c.id == new_id)).mappings().first() or {})
                if not nm:
                    raise NotFound(f"no meter with id {new_id}")
                self._close_open_installation(conn, new_id, on, "installed elsewhere", None, user)
                conn.execute(insert(INST).values(meter_id=new_id, site_id=old["site_id"], building_id=old["building_id"],
                                                 monitoring_point_id=old["monitoring_point_id"], location=old["location"],
                                                 installed_on=on, year_only=False))
                conn.execute(update(M).where(M.c.id == new_id).values(
                    site_id=old["site_id"], building_id=old["building_id"], monitoring_point_id=old["monitoring_point_id"],
                    location=old["location"], install_date=on, install_year_only=False, status="in_service",
                    version=nm["version"] + 1, updated_at=models.utcnow()))
                self._log(conn, user, "meters", new_id, "install", meter_id=new_id,
                          before={"status": nm["status"]}, after={"site": old["site"], "monitoring_point": old["monitoring_point"],
                                                                 "location": old["location"], "install_date": on,
                                                                 "status": "in_service", "replaces_meter_id": old_meter_id,
                                                                 "version": nm["version"] + 1})
            else:
                fields = dict(new_meter)
                for k in ("site", "building", "monitoring_point", "location"):
                    fields.setdefault(k, old[k])
                fields["install_date"] = fields.get("install_date") or on.isoformat()
                values = self._check_fields(fields, creating=True)
                if conn.execute(select(M.c.id).where(M.c.manufacturer_key == manufacturer_key(values["manufacturer"]),
                                                     M.c.serial == values["serial"])).first():
                    raise ValidationError(f"meter {values['manufacturer']} {values['serial']} is already in the register")
                new_id = self._insert_meter(conn, values, user=user, source=f"replaces meter {old_meter_id}")
            self._close_open_installation(conn, old_meter_id, on, reason, new_id, user)
            conn.execute(update(M).where(M.c.id == old_meter_id).values(status=old_status, version=old["version"] + 1,
                                                                         updated_at=models.utcnow()))
            self._log(conn, user, "meters", old_meter_id, "replaced", meter_id=old_meter_id,
                      before={"status": old["status"]},
                      after={"status": old_status, "replaced_by_meter_id": new_id, "removed_on": on,
                             "version": old["version"] + 1})
            return self.get_meter_in(conn, new_id)

    # ---- import / export -----------------------------------------------------------

    def import_file(self, path: str | Path, *, skip_invalid: bool = False, user: str | None = None,
                    progress: Callable[[int, int], None] | None = None) -> ImportReport:
        """Import a CSV/XLSX file per register-csv.md in ONE transaction.

        Invalid rows: with ``skip_invalid`` they are listed in the report and the
        valid rows stored; without it InvalidRows is raised (its ``report`` lists
        every bad line) and nothing is stored. Re-importing the same file changes
        nothing and logs nothing. ``progress(done, total)`` is called while the
        rows are written, inside the open transaction.
        """
        t0 = time.perf_counter()
        p = Path(path)
        with _gc_paused():
            # PostgreSQL works in its own process: let it start on the first chunk while the helper
            # thread splits the next ones (on SQLite the helper has enough to do)
            table = tabular.read_table(p, split_late=not self.is_sqlite)
            report = ImportReport(file=p.name, kind=table.kind, rows=len(table.rows),
                                  extra_columns=table.extra_columns)
            job = _ImportJob(self, table, report, skip_invalid=skip_invalid, user=user or default_user(),
                             source=p.name, progress=progress)
            del table
            try:
                job.run()
            except InvalidRows:
                report.seconds = time.perf_counter() - t0
                raise
        report.stored = True
        report.seconds = time.perf_counter() - t0
        return report

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

    def _insert_batches(self, conn: Connection, batches: list[tuple[list[int], bytes]], *, user: str, source: str,
                        at: dt.datetime) -> None:
        """The create events of meters just inserted: per batch (meter ids, their values already
        encoded), one ``events`` row (who, when, the file) and one ``event_batches`` row."""
        if not batches:
            return
        event_ids = self._reserve_ids(conn, "events", len(batches))
        at_db = self._processor(EV, "at")(at)
        events = [(eid, at_db, user, "meters", "create", json.dumps({"meters": len(ids)}), source)
                  for eid, (ids, _data) in zip(event_ids, batches)]
        rows = [(eid, min(ids), max(ids), len(ids), json.dumps(id_runs(ids)), data)
                for eid, (ids, data) in zip(event_ids, batches)]
        mark = "?" if self.is_sqlite else "%s"
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.executemany(f'INSERT INTO events (id, at, "user", entity, action, after, source) '
                            f"VALUES ({', '.join([mark] * 7)})", events)
            cur.executemany("INSERT INTO event_batches (event_id, first_meter_id, last_meter_id, meter_count, "
                            f"meter_ids, data) VALUES ({', '.join([mark] * 6)})", rows)
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

    def _import_diff(self, cur, v, columns, extra_columns, sid, bid, mpid):
        """(cur, after, moved) when the file's row changes the stored meter, else None."""
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
            merged = dict(cur["extra"] or {})
            for c in extra_columns:
                if c in v["extra"]:
                    merged[c] = v["extra"][c]
                else:
                    merged.pop(c, None)
            if merged != (cur["extra"] or {}):
                after["extra"] = merged or None
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

    def export_rows(self, *, site: str | None = None, include_personal: bool = False,
                    meter_ids: Iterable[int] | None = None) -> tuple[list[str], Iterator[list[str]]]:
        """Header and rows of the register export (restricted meters left out), ordered by
        manufacturer, serial. The contract's columns first, then extended columns that
        some meter fills, then the spreadsheet's own extra columns."""
        ext = list(tabular.EXTENDED_COLUMNS) + (list(tabular.PERSONAL_COLUMNS) if include_personal else [])
        base = self._filtered(select(M.c.id).select_from(M.join(S, S.c.id == M.c.site_id)), site=site,
                              meter_ids=meter_ids)
        with self._read() as conn:
            counts = conn.execute(select(*[func.count(M.c[c]) for c in ext]).where(M.c.id.in_(base))).one()
            extra_keys: set[str] = set()
            for (e,) in conn.execute(select(M.c.extra).where(M.c.id.in_(base), M.c.extra.is_not(None))):
                extra_keys.update(e or {})
        used = {c for c, n in zip(ext, counts) if n}
        with self._read() as conn:
            if "status" in used and conn.execute(select(M.c.id).where(
                    M.c.id.in_(base), M.c.status != "in_service").limit(1)).first() is None:
                used.discard("status")  # every meter in service: the default, not worth a column
            if "mbus_manufacturer" in used:
                pairs = conn.execute(select(M.c.manufacturer, M.c.mbus_manufacturer).where(M.c.id.in_(base))
                                     .group_by(M.c.manufacturer, M.c.mbus_manufacturer)).all()
                if all(flag == manufacturers.flag_for_make(make) for make, flag in pairs):
                    used.discard("mbus_manufacturer")  # all derived from the make: nothing to add
        used_ext = [c for c in ext if c in used]
        header = list(tabular.CONTRACT_COLUMNS) + used_ext + sorted(extra_keys - set(tabular.KNOWN_COLUMNS))
        q = self._filtered(self._meter_select(), site=site, meter_ids=meter_ids).order_by(M.c.manufacturer_key, M.c.serial)

        def gen() -> Iterator[list[str]]:
            fmt = tabular.format_value
            with self._read() as conn:
                for r in conn.execution_options(yield_per=2000).execute(q):
                    m = r._mapping
                    extra = m["extra"] or {}
                    out = []
                    for c in header:
                        if c == "site":
                            out.append(m["site_name"])
                        elif c == "building":
                            out.append(m["building_name"] or "")
                        elif c == "monitoring_point":
                            out.append(m["mp_label"] or "")
                        elif c == "install_date":
                            out.append(tabular.format_install_date(m["install_date"], m["install_year_only"]))
                        elif c in M.c:
                            out.append(fmt(m[c]))
                        else:
                            out.append(extra.get(c, ""))
                    yield out
        return header, gen()

    def export_csv(self, path: str | Path, **kw) -> int:
        import csv

        header, rows = self.export_rows(**kw)
        n = 0
        try:
            with _output(path) as f:
                w = csv.writer(f)
                w.writerow(header)
                for row in rows:
                    w.writerow(row)
                    n += 1
        except OSError as exc:
            raise ImportFileError(f"cannot write {path}: {exc.strerror}") from None
        return n

    def export_xlsx(self, path: str | Path, **kw) -> int:
        import openpyxl

        header, rows = self.export_rows(**kw)
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("meters")
        ws.append(header)
        n = 0
        for row in rows:
            ws.append(row)  # text cells: serials and addresses keep their leading zeros
            n += 1
        try:
            wb.save(path)
        except OSError as exc:
            raise ImportFileError(f"cannot write {path}: {exc.strerror}") from None
        return n

    # ---- evidence: readouts -------------------------------------------------------

    def match_meter(self, manufacturer: str | None, identification: str | None) -> tuple[MeterRecord | None, str | None, list[MeterRecord]]:
        """Find the meter a telegram belongs to: (meter, how, candidates)."""
        ident = (identification or "").strip()
        flag = (manufacturer or "").strip().upper() or None
        if not ident:
            return None, None, []
        with self._read() as conn:
            base = self._meter_select()
            if flag:
                rows = conn.execute(base.where(M.c.mbus_manufacturer == flag, M.c.secondary_address == ident)).all()
                if len(rows) == 1:
                    return self._record(rows[0]), "manufacturer+secondary_address", []
                if not rows:
                    rows = conn.execute(base.where(M.c.mbus_manufacturer == flag, M.c.serial == ident)).all()
                    if len(rows) == 1:
                        return self._record(rows[0]), "manufacturer+serial", []
            same = conn.execute(base.where(or_(M.c.secondary_address == ident, M.c.serial == ident))).all()
        recs = [self._record(r) for r in same]
        unflagged = [r for r in recs if r.mbus_manufacturer is None and r.secondary_address == ident]
        if len(unflagged) == 1:
            return unflagged[0], "secondary_address (meter has no FLAG code)", []
        return None, None, recs

    def save_readout(self, raw_frames: Sequence[bytes], decoded: Sequence[dict[str, Any]], *,
                     meter_id: int | None = None, manufacturer: str | None = None, identification: str | None = None,
                     user: str | None = None, read_at: dt.datetime | None = None, transport: str | None = None,
                     port: str | None = None, baud: int | None = None, primary_address: int | None = None,
                     commissioning_id: int | None = None, notes: str | None = None,
                     tx_frames: Sequence[bytes] = ()) -> ReadoutResult:
        """Store a readout as evidence against its meter.

        ``raw_frames``: the frames received, byte for byte, in order.
        ``decoded``: their decode-json ``telegram`` objects. The meter is
        ``meter_id``, else the one whose FLAG code and secondary address (or
        serial) match ``manufacturer``/``identification`` (default: from the
        first decoded telegram). Without a match nothing is stored and the result
        (status "no_match") carries a ``proposal`` for creating the meter; create
        it with ``create_meter`` and call again with its id.
        """
        frames = [bytes(f) for f in raw_frames]
        if not frames:
            raise ValidationError("a readout needs at least one raw frame")
        first = decoded[0] if decoded else {}
        flag = (manufacturer or first.get("manufacturer") or "").upper() or None
        ident = identification or first.get("identification")
        if meter_id is not None:
            meter = self.get_meter(meter_id)
            how = "meter_id"
        else:
            meter, how, candidates = self.match_meter(flag, ident)
            if meter is None:
                proposal = {"mbus_manufacturer": flag, "secondary_address": ident, "serial": ident,
                            "primary_address": primary_address if primary_address is not None else first.get("address"),
                            "baud": baud, "medium": first.get("medium")}
                return ReadoutResult(status="no_match", manufacturer=flag, identification=ident,
                                     proposal=proposal, candidates=candidates)
        with self._write() as conn:
            if commissioning_id is not None:
                com = conn.execute(select(COM.c.meter_id).where(COM.c.id == commissioning_id)).first()
                if com is None or com.meter_id != meter.id:
                    raise ValidationError(f"commissioning record {commissioning_id} is not for meter {meter.label}")
            rid = conn.execute(insert(RO).values(
                meter_id=meter.id, commissioning_id=commissioning_id, read_at=read_at or models.utcnow(),
                read_by=user or default_user(), mbus_manufacturer=flag, identification=ident, transport=transport,
                port=port, baud=baud, primary_address=primary_address, decoded=jsonable(list(decoded)), notes=notes,
            ).returning(RO.c.id)).scalar_one()
            rows = [{"readout_id": rid, "seq": i, "direction": "rx", "raw": f} for i, f in enumerate(frames)]
            rows += [{"readout_id": rid, "seq": len(frames) + i, "direction": "tx", "raw": bytes(f)}
                     for i, f in enumerate(tx_frames)]
            conn.execute(insert(RF), rows)
            self._log(conn, user, "readouts", rid, "create", meter_id=meter.id,
                      after={"frames": len(frames), "telegrams": len(decoded), "port": port,
                             "commissioning_id": commissioning_id, "matched_by": how})
        return ReadoutResult(status="saved", meter=meter, readout_id=rid, manufacturer=flag, identification=ident,
                             matched_by=how)

    def readouts(self, meter_id: int, *, since: dt.datetime | None = None,
                 until: dt.datetime | None = None) -> list[dict[str, Any]]:
        """The meter's readouts, oldest first, each with ``frames`` (bytes, in order) and ``decoded``."""
        q = select(RO).where(RO.c.meter_id == meter_id).order_by(RO.c.read_at, RO.c.id)
        if since:
            q = q.where(RO.c.read_at >= since)
        if until:
            q = q.where(RO.c.read_at <= until)
        with self._read() as conn:
            out = [dict(r._mapping) for r in conn.execute(q)]
            for d in out:
                fr = conn.execute(select(RF.c.raw, RF.c.direction).where(RF.c.readout_id == d["id"]).order_by(RF.c.seq)).all()
                d["frames"] = [bytes(f.raw) for f in fr if f.direction == "rx"]
                d["tx_frames"] = [bytes(f.raw) for f in fr if f.direction == "tx"]
        return out

    # ---- commissioning -------------------------------------------------------------

    def create_commissioning(self, meter_id: int, *, user: str | None = None, technician: str | None = None,
                             commissioned_on: dt.date | None = None) -> dict[str, Any]:
        """Start a commissioning record (a draft at step 0) for the meter's open installation."""
        with self._write() as conn:
            if conn.execute(select(M.c.id).where(M.c.id == meter_id)).first() is None:
                raise NotFound(f"no meter with id {meter_id}")
            iid = conn.execute(select(INST.c.id).where(INST.c.meter_id == meter_id, INST.c.removed_on.is_(None))
                               .order_by(INST.c.id.desc())).scalar()
            now = models.utcnow()
            cid = conn.execute(insert(COM).values(
                meter_id=meter_id, installation_id=iid, technician=technician or user, commissioned_on=commissioned_on,
                checklist={}, status="draft", current_step=0, created_by=user or default_user(), created_at=now,
                updated_at=now, version=1).returning(COM.c.id)).scalar_one()
            self._log(conn, user, "commissioning_records", cid, "create", meter_id=meter_id,
                      after={"technician": technician or user, "commissioned_on": commissioned_on})
        return self.get_commissioning(cid)

    def get_commissioning(self, record_id: int) -> dict[str, Any]:
        with self._read() as conn:
            r = conn.execute(select(COM).where(COM.c.id == record_id)).mappings().first()
            if r is None:
                raise NotFound(f"no commissioning record {record_id}")
            d = dict(r)
            d["readout_ids"] = [x for (x,) in conn.execute(select(RO.c.id).where(RO.c.commissioning_id == record_id)
                                                          .order_by(RO.c.id))]
        return d

    def list_commissioning(self, *, meter_id: int | None = None, status: str | None = None,
                           created_by: str | None = None) -> list[dict[str, Any]]:
        """Records, newest first; ``status="draft"`` finds wizards to resume after a crash."""
        q = select(COM).order_by(COM.c.updated_at.desc(), COM.c.id.desc())
        if meter_id is not None:
            q = q.where(COM.c.meter_id == meter_id)
        if status:
            q = q.where(COM.c.status == status)
        if created_by:
            q = q.where(COM.c.created_by == created_by)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def save_commissioning_step(self, record_id: int, *, step: int, answers: dict[str, Any] | None = None,
                                notes: str | None = None, plausibility: dict[str, Any] | None = None,
                                technician: str | None = None, commissioned_on: dt.date | None = None,
                                expected_version: int | None = None, user: str | None = None) -> dict[str, Any]:
        """Save the wizard's draft at ``step``. ``answers``: item -> "yes"|"no"|"na" or
        {"answer": ..., "note": ...}; merged into the checklist. Signed records refuse."""
        norm: dict[str, Any] = {}
        for item, a in (answers or {}).items():
            ans, note = (a.get("answer"), a.get("note")) if isinstance(a, dict) else (a, None)
            if ans is not None and str(ans).lower() not in CHECKLIST_ANSWERS:
                raise ValidationError(f"checklist item {item!r}: answer {ans!r} must be yes, no or na")
            norm[str(item)] = {"answer": None if ans is None else str(ans).lower(), "note": note}
        with self._write() as conn:
            r = conn.execute(select(COM).where(COM.c.id == record_id)).mappings().first()
            if r is None:
                raise NotFound(f"no commissioning record {record_id}")
            if r["status"] == "signed":
                raise SignedRecordError(f"commissioning record {record_id} is signed and cannot be changed")
            if expected_version is not None and r["version"] != expected_version:
                raise ConflictError(f"commissioning record {record_id} was saved elsewhere after you loaded it "
                                    f"(your version {expected_version}, now {r['version']}); nothing saved",
                                    [], r["version"])
            checklist = dict(r["checklist"] or {})
            checklist.update(norm)
            values: dict[str, Any] = {"current_step": step, "checklist": checklist, "updated_at": models.utcnow(),
                                      "version": r["version"] + 1}
            if notes is not None:
                values["notes"] = notes
            if plausibility is not None:
                values["plausibility"] = jsonable(plausibility)
            if technician is not None:
                values["technician"] = technician
            if commissioned_on is not None:
                values["commissioned_on"] = commissioned_on
            conn.execute(update(COM).where(COM.c.id == record_id).values(**values))
            changed = {k: values[k] for k in values if k not in ("updated_at", "checklist")}
            if norm:
                changed["answers"] = norm
            self._log(conn, user, "commissioning_records", record_id, "save_step", meter_id=r["meter_id"],
                      before={"current_step": r["current_step"]}, after=changed)
        return self.get_commissioning(record_id)

    def sign_commissioning(self, record_id: int, *, user: str | None = None, signed_by: str | None = None
                           ) -> dict[str, Any]:
        """Sign a draft: it becomes read-only. Needs a technician and a date."""
        with self._write() as conn:
            r = conn.execute(select(COM).where(COM.c.id == record_id)).mappings().first()
            if r is None:
                raise NotFound(f"no commissioning record {record_id}")
            if r["status"] == "signed":
                raise SignedRecordError(f"commissioning record {record_id} is already signed")
            missing = [k for k in ("technician", "commissioned_on") if not r[k]]
            if missing:
                raise ValidationError(f"cannot sign commissioning record {record_id}: no {' or '.join(missing)}")
            unanswered = [k for k, a in (r["checklist"] or {}).items() if not (a or {}).get("answer")]
            if unanswered:
                raise ValidationError(f"cannot sign: checklist items without an answer: {', '.join(unanswered)}")
            who = signed_by or user or default_user()
            now = models.utcnow()
            conn.execute(update(COM).where(COM.c.id == record_id).values(
                status="signed", signed_by=who, signed_at=now, updated_at=now, version=r["version"] + 1))
            self._log(conn, user, "commissioning_records", record_id, "sign", meter_id=r["meter_id"],
                      before={"status": "draft"}, after={"status": "signed", "signed_by": who})
        return self.get_commissioning(record_id)

    # ---- calibration ------------------------------------------------------------------

    def add_calibration_result(self, meter_id: int, *, tested_on: dt.date, subassembly: str,
                               points: Sequence[dict[str, Any]], result: dict[str, Any] | None = None,
                               inputs: dict[str, Any] | None = None, lab: str | None = None,
                               certificate: str | None = None, lot_id: int | None = None, notes: str | None = None,
                               user: str | None = None) -> int:
        """Store a calibration: ``points`` as in the calc-json ``calibration`` input
        ({error_pct, q_m3h?, dtheta_k?, interval?}); ``result`` the calculator's output
        (per-point MPEs and verdicts, initial/in-service verdict, coverage)."""
        if subassembly not in ("flow_sensor", "temperature_pair", "calculator", "complete_meter"):
            raise ValidationError(f"subassembly {subassembly!r} must be flow_sensor, temperature_pair, calculator or complete_meter")
        res = result or {}
        out_points = res.get("points") or []
        if out_points and len(out_points) != len(points):
            raise ValidationError(f"result has {len(out_points)} points for {len(points)} measured points")
        with self._write() as conn:
            if conn.execute(select(M.c.id).where(M.c.id == meter_id)).first() is None:
                raise NotFound(f"no meter with id {meter_id}")
            rid = conn.execute(insert(CAL).values(
                meter_id=meter_id, lot_id=lot_id, tested_on=tested_on, lab=lab, certificate=certificate,
                subassembly=subassembly, initial_verdict=res.get("initial_verdict"),
                in_service_verdict=res.get("in_service_verdict"), coverage=res.get("coverage"),
                missing_intervals=res.get("missing_intervals"), inputs=jsonable(inputs) if inputs else None,
                notes=notes, recorded_by=user or default_user(), recorded_at=models.utcnow(),
            ).returning(CAL.c.id)).scalar_one()
            rows = []
            for i, pnt in enumerate(points):
                if "error_pct" not in pnt:
                    raise ValidationError(f"calibration point {i + 1}: no error_pct")
                o = out_points[i] if out_points else {}
                rows.append({"result_id": rid, "seq": i, "error_pct": float(pnt["error_pct"]),
                             "q_m3h": pnt.get("q_m3h"), "dtheta_k": pnt.get("dtheta_k"), "interval": pnt.get("interval"),
                             **{k: o.get(k) for k in ("mpe_initial_pct", "mpe_in_service_pct", "acceptance_initial_pct",
                                                      "acceptance_in_service_pct", "pass_initial", "pass_in_service",
                                                      "in_interval")}})
            if rows:
                conn.execute(insert(CALP), rows)
            self._log(conn, user, "calibration_results", rid, "create", meter_id=meter_id,
                      after={"tested_on": tested_on, "subassembly": subassembly, "lab": lab, "points": len(rows),
                             "initial_verdict": res.get("initial_verdict"),
                             "in_service_verdict": res.get("in_service_verdict")})
        return rid

    def calibration_results(self, meter_id: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            out = [dict(r) for r in conn.execute(select(CAL).where(CAL.c.meter_id == meter_id)
                                                 .order_by(CAL.c.tested_on, CAL.c.id)).mappings()]
            for d in out:
                d["points"] = [dict(p) for p in conn.execute(select(CALP).where(CALP.c.result_id == d["id"])
                                                             .order_by(CALP.c.seq)).mappings()]
                for p in d["points"]:
                    p.pop("result_id")
                    p.pop("seq")
        return out

    # ---- lots (tables and simple repository functions; the logic lives in app.core) ----

    def create_lot(self, *, key: dict[str, Any], member_ids: Sequence[int], plan: dict[str, Any] | None = None,
                   seed: str | int | None = None, rule: dict[str, Any] | None = None, purpose: str | None = None,
                   name: str | None = None, snapshots: Sequence[dict[str, Any]] | None = None,
                   user: str | None = None) -> int:
        """Record a lot as formed: its key, members (in frame order), plan (the
        sample-plan JSON object) and seed."""
        plan = plan or {}
        if snapshots is not None and len(snapshots) != len(member_ids):
            raise ValidationError("snapshots must match member_ids one for one")
        with self._write() as conn:
            lid = conn.execute(insert(LOT).values(
                name=name, key=jsonable(key), rule=jsonable(rule) if rule else None, purpose=purpose,
                formed_at=models.utcnow(), formed_by=user or default_user(), lot_size=len(member_ids),
                level=plan.get("level"), aql=plan.get("aql"), inspection=plan.get("inspection"),
                code_letter=plan.get("code_letter"), plan_letter=plan.get("plan_letter"),
                sample_size=plan.get("sample_size"), acceptance_number=plan.get("acceptance_number"),
                rejection_number=plan.get("rejection_number"), seed=None if seed is None else str(seed),
                plan=jsonable(plan) or None, status="formed").returning(LOT.c.id)).scalar_one()
            rows = [{"lot_id": lid, "meter_id": m, "position": i,
                     "snapshot": jsonable(snapshots[i]) if snapshots is not None else None}
                    for i, m in enumerate(member_ids)]
            for i in range(0, len(rows), CHUNK):
                conn.execute(insert(LOTM), rows[i:i + CHUNK])
            self._log(conn, user, "lots", lid, "create", after={"key": key, "lot_size": len(member_ids),
                                                                 "seed": seed, "plan": plan})
        return lid

    def record_draw(self, lot_id: int, draws: Sequence[tuple[int, bool]], *, user: str | None = None) -> None:
        """Append drawn meters in draw order: (meter_id, spare)."""
        with self._write() as conn:
            members = {m for (m,) in conn.execute(select(LOTM.c.meter_id).where(LOTM.c.lot_id == lot_id))}
            start = conn.execute(select(func.coalesce(func.max(LOTD.c.draw_order), -1)).where(LOTD.c.lot_id == lot_id)).scalar_one() + 1
            rows = []
            for i, (mid, spare) in enumerate(draws):
                if mid not in members:
                    raise ValidationError(f"meter {mid} is not a member of lot {lot_id}")
                rows.append({"lot_id": lot_id, "draw_order": start + i, "meter_id": mid, "spare": bool(spare),
                             "drawn_at": models.utcnow(), "status": "drawn"})
            if rows:
                conn.execute(insert(LOTD), rows)
            conn.execute(update(LOT).where(LOT.c.id == lot_id).values(status="drawn"))
            self._log(conn, user, "lots", lot_id, "draw", after={"drawn": [r["meter_id"] for r in rows if not r["spare"]],
                                                                  "spares": [r["meter_id"] for r in rows if r["spare"]]})

    def set_draw_status(self, lot_id: int, meter_id: int, status: str, *, user: str | None = None) -> None:
        with self._write() as conn:
            old = conn.execute(select(LOTD.c.status).where(LOTD.c.lot_id == lot_id, LOTD.c.meter_id == meter_id)).scalar()
            if old is None:
                raise NotFound(f"meter {meter_id} was not drawn in lot {lot_id}")
            conn.execute(update(LOTD).where(LOTD.c.lot_id == lot_id, LOTD.c.meter_id == meter_id).values(status=status))
            self._log(conn, user, "lot_draws", lot_id, "status", meter_id=meter_id, before={"status": old},
                      after={"status": status})

    def record_lot_result(self, lot_id: int, meter_id: int, *, error_pct: float | None = None,
                          limit_pct: float | None = None, defective: bool | None = None, inaccessible: bool = False,
                          calibration_result_id: int | None = None, tested_on: dt.date | None = None,
                          notes: str | None = None, user: str | None = None) -> int:
        with self._write() as conn:
            rid = conn.execute(insert(LOTR).values(
                lot_id=lot_id, meter_id=meter_id, calibration_result_id=calibration_result_id, error_pct=error_pct,
                limit_pct=limit_pct, defective=defective, inaccessible=inaccessible, tested_on=tested_on, notes=notes,
            ).returning(LOTR.c.id)).scalar_one()
            self._log(conn, user, "lot_results", rid, "create", meter_id=meter_id,
                      after={"lot_id": lot_id, "error_pct": error_pct, "defective": defective,
                             "inaccessible": inaccessible})
        return rid

    def record_lot_verdict(self, lot_id: int, *, decided_on: dt.date, verdict: str, sample_tested: int | None = None,
                           defectives: int | None = None, acceptance_number: int | None = None,
                           rejection_number: int | None = None, retain_until: dt.date | None = None,
                           notes: str | None = None, user: str | None = None) -> int:
        if verdict not in ("pass", "fail"):
            raise ValidationError(f"verdict {verdict!r} must be pass or fail")
        with self._write() as conn:
            vid = conn.execute(insert(LOTV).values(
                lot_id=lot_id, decided_on=decided_on, verdict=verdict, sample_tested=sample_tested,
                defectives=defectives, acceptance_number=acceptance_number, rejection_number=rejection_number,
                retain_until=retain_until, decided_by=user or default_user(), notes=notes).returning(LOTV.c.id)).scalar_one()
            conn.execute(update(LOT).where(LOT.c.id == lot_id).values(status=f"verdict_{verdict}"))
            self._log(conn, user, "lots", lot_id, "verdict", after={"verdict": verdict, "defectives": defectives,
                                                                     "decided_on": decided_on, "retain_until": retain_until})
        return vid

    def get_lot(self, lot_id: int) -> dict[str, Any]:
        with self._read() as conn:
            lot = conn.execute(select(LOT).where(LOT.c.id == lot_id)).mappings().first()
            if lot is None:
                raise NotFound(f"no lot {lot_id}")
            d = dict(lot)
            d["members"] = [dict(r) for r in conn.execute(select(LOTM).where(LOTM.c.lot_id == lot_id)
                                                          .order_by(LOTM.c.position)).mappings()]
            d["draws"] = [dict(r) for r in conn.execute(select(LOTD).where(LOTD.c.lot_id == lot_id)
                                                        .order_by(LOTD.c.draw_order)).mappings()]
            d["results"] = [dict(r) for r in conn.execute(select(LOTR).where(LOTR.c.lot_id == lot_id)
                                                          .order_by(LOTR.c.id)).mappings()]
            d["verdicts"] = [dict(r) for r in conn.execute(select(LOTV).where(LOTV.c.lot_id == lot_id)
                                                           .order_by(LOTV.c.id)).mappings()]
        return d

    def list_lots(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(LOT).order_by(LOT.c.id)).mappings()]

    def lots_of_meter(self, meter_id: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            q = (select(LOT).select_from(LOT.join(LOTM, LOTM.c.lot_id == LOT.c.id))
                 .where(LOTM.c.meter_id == meter_id).order_by(LOT.c.id))
            return [dict(r) for r in conn.execute(q).mappings()]

    # ---- data protection (MMS 2.2) ---------------------------------------------------------

    def _set_flag(self, meter_id: int, flag: str, on: bool, *, user: str | None, reason: str | None) -> MeterRecord:
        with self._write() as conn:
            cur = conn.execute(select(M.c.id, M.c.version, M.c[flag]).where(M.c.id == meter_id)).first()
            if cur is None:
                raise NotFound(f"no meter with id {meter_id}")
            if bool(cur[2]) != on:
                conn.execute(update(M).where(M.c.id == meter_id).values(
                    **{flag: on}, version=cur.version + 1, updated_at=models.utcnow()))
                self._log(conn, user, "meters", meter_id, flag if on else f"clear_{flag}", meter_id=meter_id,
                          before={flag: bool(cur[2])}, after={flag: on, "version": cur.version + 1}, source=reason)
            return self.get_meter_in(conn, meter_id)

    def set_legal_hold(self, meter_id: int, on: bool = True, *, user: str | None = None,
                       reason: str | None = None) -> MeterRecord:
        """Set or clear the legal hold: while set, personal data cannot be erased (MMS 2.2.4)."""
        return self._set_flag(meter_id, "legal_hold", on, user=user, reason=reason)

    def set_restrict_processing(self, meter_id: int, on: bool = True, *, user: str | None = None,
                                reason: str | None = None) -> MeterRecord:
        """Set or clear "restrict processing": the meter is left out of exports,
        default lists and planning (MMS 2.2.5); it stays in the register."""
        return self._set_flag(meter_id, "restrict_processing", on, user=user, reason=reason)

    def erase_personal_data(self, meter_ids: int | Sequence[int], *, user: str | None = None,
                            reason: str | None = None) -> EraseReport:
        """Erase occupant name, flat and customer reference (MMS 2.2.3), also from the
        event log's before/after values. Meters under legal hold are not touched: a
        single held meter raises LegalHoldError; in a batch they are listed in
        ``held``. On SQLite the freed pages are overwritten (secure_delete) and the
        WAL is checkpointed so the old values leave the files."""
        single = isinstance(meter_ids, int)
        ids = [meter_ids] if single else list(meter_ids)
        report = EraseReport()
        with self._write() as conn:
            rows = conn.execute(select(M.c.id, M.c.version, M.c.legal_hold, M.c.manufacturer, M.c.serial,
                                       *[M.c[f] for f in PERSONAL_FIELDS]).where(self._ids_in(M.c.id, ids))).all()
            found = {r.id for r in rows}
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"no meter with id {missing[0]}")
            for r in rows:
                if r.legal_hold:
                    if single:
                        raise LegalHoldError(f"meter {r.manufacturer} {r.serial} is under legal hold: "
                                             "personal data not erased (clear the hold first)")
                    report.held.append(r.id)
                    continue
                now = models.utcnow()
                conn.execute(update(M).where(M.c.id == r.id).values(
                    **{f: None for f in PERSONAL_FIELDS}, personal_erased_at=now, version=r.version + 1, updated_at=now))
                report.erased.append(r.id)
            if report.erased:
                for e in conn.execute(select(EV.c.id, EV.c.before, EV.c.after).where(EV.c.meter_id.in_(report.erased))).all():
                    b, a = _scrub(e.before), _scrub(e.after)
                    if (b, a) != (e.before, e.after):
                        conn.execute(update(EV).where(EV.c.id == e.id).values(before=b, after=a))
                        report.events_scrubbed += 1
                report.events_scrubbed += self._scrub_batches(conn, report.erased)
                for mid in report.erased:
                    self._log(conn, user, "meters", mid, "erase_personal", meter_id=mid,
                              before={f: ERASED for f in PERSONAL_FIELDS}, after={f: None for f in PERSONAL_FIELDS},
                              source=reason)
        if self.is_sqlite and report.erased:
            with self._errors(), self.engine.connect() as conn:
                conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return report

    def export_personal_data(self, path: str | Path, *, meter_ids: Sequence[int] | None = None, site: str | None = None,
                             date_from: dt.date | None = None, date_to: dt.date | None = None,
                             fields: Sequence[str] | None = None, include_restricted: bool = False) -> dict[str, Any]:
        """Write a CSV copy of the data held on these meters (MMS 2.2.1/2.2.2).

        Rows: one per decoded record of every readout taken between ``date_from``
        and ``date_to`` (inclusive), with the chosen meter fields repeated; a
        meter without readouts in the range gets one row of its fields. ``fields``
        is a choice from ``PERSONAL_EXPORT_FIELDS`` (default: all).
        """
        chosen = list(fields or PERSONAL_EXPORT_FIELDS)
        bad = [f for f in chosen if f not in PERSONAL_EXPORT_FIELDS]
        if bad:
            raise ValidationError(f"unknown field{'s' if len(bad) > 1 else ''} {', '.join(bad)} "
                                  f"(choose from {', '.join(PERSONAL_EXPORT_FIELDS)})")
        if meter_ids is None and not site:
            raise ValidationError("name the meters or the site whose data to export")
        reading_fields = [f for f in chosen if f in READING_FIELDS]
        meters = self.list_meters(site=site, include_restricted=True) if meter_ids is None else \
            [self.get_meter(i) for i in meter_ids]
        if site and meter_ids is not None:
            meters = [m for m in meters if m.site == site]
        left_out = [m.id for m in meters if m.restrict_processing and not include_restricted]
        meters = [m for m in meters if include_restricted or not m.restrict_processing]
        since = dt.datetime.combine(date_from, dt.time.min) if date_from else None
        until = dt.datetime.combine(date_to, dt.time.max) if date_to else None
        import csv

        n = 0
        try:
            with _output(path) as f:
                w = csv.writer(f)
                w.writerow(chosen)
                for m in meters:
                    base = {k: _meter_field(m, k) for k in chosen if k not in READING_FIELDS}
                    wrote = False
                    if reading_fields:
                        for ro in self.readouts(m.id, since=since, until=until):
                            for tel in ro["decoded"] or []:
                                for rec in tel.get("records", []):
                                    row = dict(base)
                                    row.update({"read_at": ro["read_at"].isoformat(timespec="seconds"),
                                                "quantity": rec.get("quantity"), "value": rec.get("value"),
                                                "unit": rec.get("unit"), "storage": rec.get("storage"),
                                                "tariff": rec.get("tariff"), "function": rec.get("function")})
                                    w.writerow([tabular.format_value(row.get(k)) for k in chosen])
                                    n += 1
                                    wrote = True
                    if not wrote:
                        w.writerow([tabular.format_value(base.get(k)) for k in chosen])
                        n += 1
        except OSError as exc:
            raise ImportFileError(f"cannot write {path}: {exc.strerror}") from None
        return {"rows": n, "meters": len(meters), "restricted_left_out": left_out, "fields": chosen}


READING_FIELDS = ("read_at", "quantity", "value", "unit", "storage", "tariff", "function")
PERSONAL_EXPORT_FIELDS = (
    "site", "building", "monitoring_point", "location", "manufacturer", "model", "serial", "secondary_address",
    "occupant_name", "flat", "customer_reference", "install_date", "status",
) + READING_FIELDS

# fields an imported row may carry (placement is resolved to ids separately)
_IMPORT_FIELDS = tuple(c for c in tabular.KNOWN_COLUMNS if c not in ("site", "building", "monitoring_point"))
# meter columns a new meter takes straight from the file's column of the same name
_BULK_FILE_COLUMNS = (
    "model", "serial", "mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "flow_sensor_position",
    "primary_address", "secondary_address", "battery_expiry", "install_date", "location", "status",
    "qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c", "baud", "notes",
    "occupant_name", "flat", "customer_reference")
BATCH = 1000  # create events per event_batches row
# event_batches: the values of a text column joined into one string (an empty value is "")
BATCH_SEP = "\u241f"
# meter columns holding numbers or flags (the others hold text or dates)
_NUMBER_COLUMNS = {"mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "qs_m3h", "dn", "dtheta_min_k", "dtheta_max_k",
                   "temp_min_c", "temp_max_c", "primary_address", "baud"}


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


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector for a bulk job.

    An import makes millions of lists and tuples, none of them in a cycle, and
    every automatic collection would walk all of them again; reference counting
    still frees everything. The collector runs again afterwards as before.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def id_runs(ids: Sequence[int]) -> list[list[int]]:
    """``[[first, count], ...]``: the runs of consecutive ids in ``ids``, in order."""
    if ids and list(ids) == list(range(ids[0], ids[0] + len(ids))):  # the usual case: one run
        return [[ids[0], len(ids)]]
    runs: list[list[int]] = []
    for i in ids:
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1][1] += 1
        else:
            runs.append([i, 1])
    return runs


def decode_batch(meter_ids: str, data: bytes) -> dict[str, Any]:
    """An ``event_batches`` row as ``{"meter_ids": [...], "columns": [...], "values": [[...], ...]}``.

    A column's values are stored as a JSON list, or (text, dates) as one string
    joined by BATCH_SEP in which an empty value stands for null.
    """
    out = json.loads(zlib.decompress(data))
    out["values"] = [[x or None for x in v.split(BATCH_SEP)] if isinstance(v, str) else v for v in out["values"]]
    out["meter_ids"] = [first + k for first, count in json.loads(meter_ids) for k in range(count)]
    return out


def encode_batch_values(columns_and_values_json: str) -> bytes:
    return zlib.compress(columns_and_values_json.encode("utf-8"), 1)


def batch_after_values(data: dict[str, Any], meter_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """meter id -> its values at creation (a create event's ``after``) from a decoded batch."""
    columns, values = data["columns"], data["values"]
    want = None if meter_ids is None else set(meter_ids)
    out = {}
    for p, mid in enumerate(data["meter_ids"]):
        if want is None or mid in want:
            out[mid] = {c: vals[p] for c, vals in zip(columns, values) if vals[p] is not None}
    return out


class _Prepared:
    """One checked chunk, ready to write: the good rows' values in the driver's form."""

    __slots__ = ("res", "start", "good", "mkeys", "new", "existing", "cols", "batches", "placement")

    def __init__(self, res, start: int, good: list[int], mkeys: list[str | None]):
        self.res = res
        self.start = start                       # index of the chunk's first row in the file
        self.good = good                         # chunk rows without errors
        self.mkeys = mkeys
        self.new: list[int] = []                 # good rows of meters not yet in the register
        self.existing: list[tuple[int, int]] = []  # (row, meter id) of meters already there
        self.cols: dict[str, list[Any]] = {}     # meter column -> values of the new rows (driver form)
        self.batches: list[tuple[int, int, bytes]] = []  # (from, to, encoded values) of each event batch
        self.placement = None                    # (site, building, point ids) per row, when all are known


class _ImportJob:
    """One ``Register.import_file`` run, in chunks of CHUNK rows.

    A helper thread checks and prepares chunk k+1 (cells, duplicates, values in
    the driver's form, the create events' values compressed) while this thread
    writes chunk k; the drivers leave the interpreter lock while the database
    works, so on two cores both go on at once (on SQLite, during the set-based
    statements: see ``_write``). Everything is written in the one open
    transaction; a bad row (without ``skip_invalid``) stops the writing, the
    remaining chunks are still checked so that every bad row is reported, and
    the transaction is rolled back.
    """

    def __init__(self, reg: Register, table: tabular.Table, report: ImportReport, *, skip_invalid: bool,
                 user: str, source: str, progress: Callable[[int, int], None] | None):
        self.reg = reg
        self.columns = list(table.columns)
        self.colset = set(table.columns)
        self.rows = table.rows
        self.lines = table.lines
        self.all_str = table.kind == "csv"
        self.checker = tabular.BulkChecker(self.columns)
        self.report = report
        self.skip_invalid = skip_invalid
        self.user = user
        self.source = source
        self.progress = progress
        self.now = models.utcnow()
        self.writing = True                                    # False once a bad row means nothing is stored
        self.seen: dict[tuple[str, str], int] = {}             # (manufacturer_key, serial) -> line first seen
        self.existing: dict[tuple[str, str], int] = {}         # keys of meters already in the register -> id
        self.spare_ids: list[int] = []                         # meter ids taken from the sequence beforehand
        self.spare_taken = 0
        self.register_empty = False
        self.batches: list[tuple[list[int], bytes]] = []       # (meter ids, encoded values): the create events
        self.sites: dict[str, int] = {}
        self.buildings: dict[tuple[int, str], int] = {}
        self.mps: dict[tuple[int, str], int] = {}
        self.done = 0
        has_extra = bool(report.extra_columns)
        # the columns of the create events' values, in the order the event log showed them
        names = [c for c in self.columns if c in tabular.KNOWN_COLUMNS]
        if "install_date" in names:
            names.insert(names.index("install_date") + 1, "install_year_only")
        if has_extra:
            names.append("extra")
        if "mbus_manufacturer" not in names:
            names.append("mbus_manufacturer")
        self.batch_names = names
        self.batch_head = '{"columns": ' + json.dumps(names) + ', "values": ['
        # the meter columns written per row (after id), and those the same for every new meter
        cols = ["manufacturer", "manufacturer_key", "mbus_manufacturer", "install_year_only"]
        cols += [c for c in _BULK_FILE_COLUMNS if c in self.colset]
        if has_extra:
            cols.append("extra")
        self.meter_cols = cols
        self.constants: dict[str, Any] = {"legal_hold": False, "restrict_processing": False,
                                          "created_at": self.now, "updated_at": self.now, "version": 1}
        if "status" not in self.colset:
            self.constants["status"] = "in_service"
        self._conv: dict[str, Callable[[Any], Any]] = {
            c: reg._processor(M, c) for c in ("battery_expiry", "install_date", "install_year_only")}
        self._conv_cache: dict[str, dict[Any, Any]] = {c: {None: None} for c in self._conv}
        self._frag: dict[str, dict[Any, str]] = {}  # column -> value -> its JSON text
        self._flags: dict[str | None, str | None] = {None: None}

    # ---- the run ---------------------------------------------------------------------

    def run(self) -> None:
        reg = self.reg
        n = len(self.rows)
        starts = list(range(0, n, CHUNK))
        pool = ThreadPoolExecutor(1, thread_name_prefix="heatmeter-import") if len(starts) > 1 else None
        try:
            with reg._write() as conn:
                self._load(conn)
                # the next chunk's preparation, in the helper thread; the first one starts while the
                # ids of the new meters are taken from the sequence (PostgreSQL, empty register)
                pending = pool.submit(self._prepare, starts[0]) if pool is not None else None
                self._reserve_upfront(conn)
                for k, start in enumerate(starts):
                    prepared = pending.result() if pending is not None else self._prepare(start)
                    pending = None
                    following = starts[k + 1] if k + 1 < len(starts) else None

                    def prepare_next(following=following):
                        nonlocal pending
                        if pool is not None and following is not None and pending is None:
                            pending = pool.submit(self._prepare, following)

                    if prepared is None or not prepared.new:
                        prepare_next()  # nothing to copy in: no reason to wait
                    if prepared is not None and self.writing:
                        self._write(conn, prepared, prepare_next)
                    prepare_next()
                report = self.report
                if report.invalid and not self.skip_invalid:
                    m = len(report.invalid)
                    first = report.invalid[0]
                    raise InvalidRows(f"{report.file}: {m} invalid row{'s' if m > 1 else ''} (first: line "
                                      f"{first[0]}: {first[1]}); nothing stored", report)
                # the create events of every new meter, in one go
                reg._insert_batches(conn, self.batches, user=self.user, source=self.source, at=self.now)
                if reg.is_sqlite:
                    reg._drop_stage(conn)
                if self.progress:
                    self.progress(n, n)
                if pool is not None:  # the commit follows: meanwhile the helper frees the file's rows
                    pool.submit(self._release)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _reserve_upfront(self, conn: Connection) -> None:
        """PostgreSQL, empty register: every valid row is a new meter; take their ids in one trip."""
        if self.register_empty and not self.reg.is_sqlite:
            self.spare_ids = self.reg._reserve_ids(conn, "meters", len(self.rows))

    def _release(self) -> None:
        self.rows = self.lines = []
        self.checker = None
        self.seen = {}
        self.existing = {}

    def _load(self, conn: Connection) -> None:
        """Sites, buildings, monitoring points, and the keys of the meters this file may already hold."""
        self.sites = {r.name: r.id for r in conn.execute(select(S.c.id, S.c.name))}
        self.buildings = {(r.site_id, r.name): r.id for r in conn.execute(select(B.c.id, B.c.site_id, B.c.name))}
        self.mps = {(r.site_id, r.label): r.id for r in conn.execute(select(MP.c.id, MP.c.site_id, MP.c.label))}
        n_existing = conn.execute(select(func.count()).select_from(M)).scalar_one()
        self.register_empty = not n_existing
        if not n_existing:
            return
        q = select(M.c.manufacturer_key, M.c.serial, M.c.id)
        if n_existing > 4 * len(self.rows) and len(self.rows) < 20000 and "serial" in self.colset:
            idx = self.columns.index("serial")
            serials = sorted({tabular._text(r[idx]) for r in self.rows if idx < len(r)} - {""})
            for j in range(0, len(serials), 500):
                for r in conn.execute(q.where(M.c.serial.in_(serials[j:j + 500]))):
                    self.existing[(r.manufacturer_key, r.serial)] = r.id
        else:
            self.existing = {(r.manufacturer_key, r.serial): r.id for r in conn.execute(q)}

    # ---- the helper thread's part ---------------------------------------------------------

    def _prepare(self, start: int) -> _Prepared | None:
        """Check rows start.. of the file; None when nothing will be written."""
        stop = start + CHUNK
        res = self.checker.check_all(self.rows[start:stop], self.lines[start:stop], all_str=self.all_str)
        mkeys = self.reg._manufacturer_keys(res.col("manufacturer"))
        self._duplicates(res, mkeys)
        if res.errors:
            self.report.invalid.extend((res.lines[i], "; ".join(e)) for i, e in sorted(res.errors.items()))
            if not self.skip_invalid:
                self.writing = False
        if not self.writing:
            return None
        good = [i for i in range(res.n) if i not in res.errors] if res.errors else list(range(res.n))
        prep = _Prepared(res, start, good, mkeys)
        if self.existing:
            serials = res.col("serial")
            for i in good:
                mid = self.existing.get((mkeys[i], serials[i]))
                if mid is None:
                    prep.new.append(i)
                else:
                    prep.existing.append((i, mid))
        else:
            prep.new = good
        if prep.new:
            self._new_values(prep)
        prep.placement = self._known_placement(res)
        return prep

    def _known_placement(self, res):
        """Site, building and monitoring point ids of the rows, when the register has them all
        already (else None: ``_placement`` creates the new ones)."""
        site_col, b_col, mp_col = res.col("site"), res.col("building"), res.col("monitoring_point")
        sites, buildings, mps = self.sites, self.buildings, self.mps
        if set(site_col) - sites.keys() - {None}:
            return None
        site_ids = list(map(sites.get, site_col))
        b_keys = list(zip(site_ids, b_col))
        mp_keys = list(zip(site_ids, mp_col))
        if {k for k in set(b_keys) if k[1]} - buildings.keys() or {k for k in set(mp_keys) if k[1]} - mps.keys():
            return None
        return site_ids, list(map(buildings.get, b_keys)), list(map(mps.get, mp_keys))

    def _duplicates(self, res, mkeys: list[str | None]) -> None:
        """"duplicate meter" for every row whose manufacturer + serial an earlier row (of any chunk) has."""
        seen = self.seen
        pairs = list(zip(mkeys, res.col("serial")))
        fresh = dict(zip(pairs, res.lines))
        if len(fresh) == len(pairs) and seen.keys().isdisjoint(fresh):
            seen.update(fresh)  # no key repeats: the common case
            return
        for i, (p, ln) in enumerate(zip(pairs, res.lines)):
            if not (p[0] and p[1]):
                continue
            first = seen.setdefault(p, ln)
            if first != ln:
                res.errors.setdefault(i, []).append(
                    f"duplicate meter {res.values['manufacturer'][i]} {p[1]} (also on line {first})")

    def _new_values(self, prep: _Prepared) -> None:
        """The new rows' meter values (driver form) and their create events' values (JSON text)."""
        res, new = prep.res, prep.new
        if len(new) == res.n:
            def sel(values):
                return values
        else:
            def sel(values):
                return [values[i] for i in new]

        def conv(c, values):
            cache, proc = self._conv_cache[c], self._conv[c]
            for v in set(values).difference(cache):
                cache[v] = proc(v)
            return list(map(cache.__getitem__, values))

        col = res.col
        makes = sel(col("manufacturer"))
        flags_cache = self._flags
        for m in set(makes).difference(flags_cache):
            flags_cache[m] = manufacturers.flag_for_make(m)
        derived = list(map(flags_cache.__getitem__, makes))
        flags = derived if not res.has("mbus_manufacturer") else \
            [g or f for g, f in zip(sel(col("mbus_manufacturer")), derived)]
        install_dates = sel(col("install_date"))
        year_only = sel(col("install_year_only"))
        extras = [e or None for e in sel(res.extra)] if "extra" in self.meter_cols else None
        out = prep.cols
        for c in self.meter_cols:
            if c == "manufacturer":
                v = makes
            elif c == "manufacturer_key":
                v = sel(prep.mkeys)
            elif c == "mbus_manufacturer":
                v = flags
            elif c == "install_year_only":
                v = conv(c, year_only)
            elif c == "install_date":
                v = conv(c, install_dates)
            elif c == "battery_expiry":
                v = conv(c, sel(col(c)))
            elif c == "extra":
                v = [None if e is None else json.dumps(e, ensure_ascii=False) for e in extras]
            elif c == "status":
                v = [s or "in_service" for s in sel(col(c))]
            else:
                v = sel(col(c))
            out[c] = v
        # the create events' values: the file's columns as checked. Text and dates (ISO) go as one
        # string per column and batch, the values joined by BATCH_SEP (see decode_batch); numbers
        # and flags as JSON lists, written from the JSON text of each distinct value, made once.
        parts: list[tuple[str, list[Any]]] = []  # ("text" | "json" | "list", values) per column
        dumps = json.dumps
        for c in self.batch_names:
            if c == "extra":
                parts.append(("list", extras))
                continue
            if c == "install_year_only":
                parts.append(("json", ["null" if d is None else ("true" if y else "false")
                                       for d, y in zip(install_dates, year_only)]))
                continue
            v = install_dates if c == "install_date" else flags if c == "mbus_manufacturer" else sel(col(c))
            if c in _NUMBER_COLUMNS:
                frag = self._frag.setdefault(c, {None: "null"})
                for x in set(v).difference(frag):
                    frag[x] = dumps(x)
                parts.append(("json", list(map(frag.__getitem__, v))))
            else:
                if c in ("install_date", "battery_expiry"):
                    iso = self._frag.setdefault(c, {None: None})
                    for d in set(v).difference(iso):
                        iso[d] = d.isoformat()
                    v = list(map(iso.__getitem__, v))
                parts.append(("text", v))
        head = self.batch_head
        for b in range(0, len(new), BATCH):
            e = min(b + BATCH, len(new))
            body = []
            for kind, v in parts:
                seg = v[b:e]
                if kind == "json":
                    body.append("[" + ", ".join(seg) + "]")
                elif kind == "text":
                    joined = BATCH_SEP.join([x or "" for x in seg] if None in seg else seg)
                    if joined.count(BATCH_SEP) != len(seg) - 1:  # a value holds the separator: a list
                        body.append(dumps(seg, ensure_ascii=False))
                    elif joined.isprintable() and '"' not in joined and "\\" not in joined:
                        body.append('"' + joined + '"')  # nothing to escape
                    else:
                        body.append(dumps(joined, ensure_ascii=False))
                else:
                    body.append(dumps(seg, ensure_ascii=False))
            prep.batches.append((b, e, encode_batch_values(head + ", ".join(body) + "]}")))

    # ---- this thread's part: the database ------------------------------------------------------

    def _placement(self, conn: Connection, prep: _Prepared):
        """Site, building and monitoring point ids of the chunk's rows, creating the new ones."""
        res, good = prep.res, prep.good
        site_col, b_col, mp_col = res.col("site"), res.col("building"), res.col("monitoring_point")
        everyone = len(good) == res.n
        sites = self.sites
        new_sites = sorted((set(site_col) if everyone else {site_col[i] for i in good}) - sites.keys())
        if new_sites:
            conn.execute(insert(S), [{"name": n} for n in new_sites])
            sites.update((r.name, r.id) for r in conn.execute(select(S.c.id, S.c.name).where(S.c.name.in_(new_sites))))
        site_ids = list(map(sites.get, site_col))
        b_keys = list(zip(site_ids, b_col))
        new_b = sorted({k for k in (set(b_keys) if everyone else {b_keys[i] for i in good}) if k[1]}
                       - self.buildings.keys())
        if new_b:
            conn.execute(insert(B), [{"site_id": s, "name": n} for s, n in new_b])
            self.buildings = {(r.site_id, r.name): r.id for r in conn.execute(select(B.c.id, B.c.site_id, B.c.name))}
        b_ids = list(map(self.buildings.get, b_keys))  # (site, None) is no building
        mp_keys = list(zip(site_ids, mp_col))
        want_mp: dict[tuple[int, str], int | None] = {}
        if {k for k in set(mp_keys) if k[1]} - self.mps.keys():
            for i in good:  # a new point takes the building of the first row naming it
                if mp_col[i] and mp_keys[i] not in self.mps:
                    want_mp.setdefault(mp_keys[i], b_ids[i])
        if want_mp:
            conn.execute(insert(MP), [self.reg._mp_values(s, bid, lab) for (s, lab), bid in want_mp.items()])
            self.mps = {(r.site_id, r.label): r.id for r in conn.execute(select(MP.c.id, MP.c.site_id, MP.c.label))}
        mp_ids = list(map(self.mps.get, mp_keys))
        return site_ids, b_ids, mp_ids

    def _write(self, conn: Connection, prep: _Prepared, prepare_next: Callable[[], None]) -> None:
        """Write one chunk. ``prepare_next`` starts the helper thread on the next chunk once the rows
        have gone to the database (each row needs the interpreter lock, so a busy helper would only
        make them wait), while it works: on SQLite before the set-based statements, on PostgreSQL
        while the server finishes the COPY."""
        reg = self.reg
        site_ids, b_ids, mp_ids = prep.placement or self._placement(conn, prep)
        if prep.existing:
            self._write_existing(conn, prep, site_ids, b_ids, mp_ids)
        new = prep.new
        if new:
            taken = self.spare_taken
            if len(self.spare_ids) - taken >= len(new):
                ids = self.spare_ids[taken:taken + len(new)]
                self.spare_taken += len(new)
            else:
                ids = reg._reserve_ids(conn, "meters", len(new))
            if len(new) == prep.res.n:
                place = (site_ids, b_ids, mp_ids)
            else:
                place = tuple([v[i] for i in new] for v in (site_ids, b_ids, mp_ids))
            columns = ["id", *prep.cols, "site_id", "building_id", "monitoring_point_id"]
            if reg.is_sqlite:
                rows = zip(ids, *prep.cols.values(), *place)
                # rows go to a bare temporary table first (binding takes the interpreter lock row by
                # row); the meters' own insert, with its indexes and foreign keys, is then one
                # statement that leaves the lock to the helper preparing the next chunk
                reg._stage(conn, columns, rows)
                prepare_next()
                reg._insert_staged(conn, M, columns, self.constants)
            else:  # the constants go in every row
                rows = zip(ids, *prep.cols.values(), *place, *map(repeat, self.constants.values()))
                reg._copy_in(conn, M, [*columns, *self.constants], rows, sent=prepare_next)
            reg._copy_installations(conn, ids)
            self.batches.extend((ids[b:e], data) for b, e, data in prep.batches)
            self.report.created += len(new)
        self.done = prep.start + prep.res.n
        if self.progress:
            self.progress(self.done, len(self.rows))

    def _write_existing(self, conn: Connection, prep: _Prepared, site_ids, b_ids, mp_ids) -> None:
        """Rows of meters already in the register: update those that changed (each logged)."""
        reg, res = self.reg, prep.res
        current = {}
        mids = [mid for _i, mid in prep.existing]
        for j in range(0, len(mids), 500):
            for r in conn.execute(select(M).where(M.c.id.in_(mids[j:j + 500]))).mappings():
                current[r["id"]] = dict(r)
        for i, mid in prep.existing:
            cur = current[mid]
            bid, mpid = b_ids[i], mp_ids[i]
            if cur["site_id"] == site_ids[i]:  # placement columns the file lacks stay as they are
                if "building" not in self.colset:
                    bid = cur["building_id"]
                if "monitoring_point" not in self.colset:
                    mpid = cur["monitoring_point_id"]
            change = reg._import_diff(cur, res.row(i), self.colset, self.report.extra_columns, site_ids[i],
                                      bid, mpid)
            if change is None:
                self.report.unchanged += 1
            else:
                reg._import_update(conn, *change, user=self.user, source=self.source)
                self.report.updated += 1
                self.report.moved += int(change[2])


@contextmanager
def _output(path_or_file):
    """A text file to write CSV to: a path (created), or an open text stream (left open)."""
    if hasattr(path_or_file, "write"):
        yield path_or_file
        return
    with open(path_or_file, "w", newline="", encoding="utf-8") as f:
        yield f


def _meter_field(m: MeterRecord, k: str) -> Any:
    if k == "install_date":
        return tabular.format_install_date(m.install_date, m.install_year_only)
    return getattr(m, k)


def _scrub(d: Any) -> Any:
    if not isinstance(d, dict):
        return d
    out = dict(d)
    for f in PERSONAL_FIELDS:
        if out.get(f) is not None:
            out[f] = ERASED
    if isinstance(out.get("answers"), dict):
        pass
    return out


def _show(v: Any) -> str:
    v = jsonable(v)
    if v is None:
        return "(empty)"
    if isinstance(v, str):
        return repr(v)
    return str(v)
