"""Meters: reading (list, filter, page, find), creating, correcting (optimistic locking), moving and replacing.

A meter's placement history is its installations: ``move_meter`` and
``replace_meter`` close the open one and open a new one; ``update_meter``
corrects the current one. Every change is logged with the fields before and
after and the new version.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from app.storage import manufacturers, models, tabular
from app.storage.errors import ConflictError, NotFound, ValidationError
from app.storage.integrity import PERSONAL_COLUMNS
from app.storage.records import METER_FIELDS, MeterRecord, jsonable
from app.storage.register.places import Places
from app.storage.register.tables import B, EV, INST, M, MP, PCOL, S, manufacturer_key


class Meters(Places):
    """The meters and their installations."""

    def _meter_select(self):
        return (select(*self._m_columns(), S.c.name.label("site_name"), B.c.name.label("building_name"),
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
            battery_expiry=m["battery_expiry"], battery_replaced_on=m["battery_replaced_on"],
            install_date=m["install_date"],
            install_year_only=bool(m["install_year_only"]), status=m["status"], extra=m["extra"] or {},
            notes=m["notes"], occupant_name=m["occupant_name"], flat=m["flat"],
            customer_reference=m["customer_reference"], legal_hold=bool(m["legal_hold"]),
            restrict_processing=bool(m["restrict_processing"]), personal_erased_at=m["personal_erased_at"],
            personal_extra=m["personal_extra"] or {}, created_at=m["created_at"], updated_at=m["updated_at"])


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
            for word in search.split():  # % and _ are letters here, not wildcards
                pat = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                q = q.where(or_(*[c.ilike(pat, escape="\\") for c in (
                    M.c.manufacturer, M.c.model, M.c.serial, M.c.secondary_address, M.c.location, S.c.name, B.c.name,
                    MP.c.label)]))
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


    def meters_by_id(self, ids: Sequence[int]) -> list[MeterRecord]:
        """The meters with these ids, in the order given (ids no longer in the register are left out)."""
        if not ids:
            return []
        out: dict[int, MeterRecord] = {}
        with self._read() as conn:
            for j in range(0, len(ids), 1000):
                for r in conn.execute(self._meter_select().where(M.c.id.in_(list(ids[j:j + 1000])))):
                    rec = self._record(r)
                    out[rec.id] = rec
        return [out[i] for i in ids if i in out]

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
        cells = {k: v for k, v in fields.items() if k not in ("extra", "personal_extra", "install_year_only")}
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
        for k in ("extra", "personal_extra"):
            if k in fields:
                values[k] = dict(fields[k] or {})
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

    def _insert_meter(self, conn: Connection, values: dict[str, Any], *, user: str | None, source: str | None,
                      extra_after: dict[str, Any] | None = None) -> int:
        sid = self._site_id(conn, values["site"])
        bid = self._building_id(conn, sid, values.get("building"))
        mpid = self._mp_id(conn, sid, bid, values.get("monitoring_point"))
        now = models.utcnow()
        row = {k: values.get(k) for k in METER_FIELDS if k in values}
        self._split_extra(conn, row)
        for k in PERSONAL_COLUMNS:  # an empty personal column is not named: a role without it may insert
            if not row.get(k):
                row.pop(k, None)
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
        after.update(extra_after or {})
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
            cur = self._lock_meter(conn, meter_id)
            self._split_extra(conn, values, cur)
            names = self._placement_names(conn, cur)
            cur.update(names)
            if cur["version"] != expected_version:
                raise self._conflict(conn, cur, expected_version, values)
            return self._apply_update(conn, cur, values, user=user, source=source)

    def _marked_personal(self, conn: Connection) -> set[str]:
        """The spreadsheet columns marked personal (their values live in ``personal_extra``)."""
        return {n for (n,) in conn.execute(select(PCOL.c.name))}

    def _split_extra(self, conn: Connection, values: dict[str, Any], cur: dict[str, Any] | None = None) -> None:
        """Move the columns marked personal from ``values["extra"]`` to ``values["personal_extra"]``
        (merged with the meter's current ones when ``cur`` is given)."""
        extra = values.get("extra")
        if not extra:
            return
        marked = self._marked_personal(conn) & set(extra)
        if not marked:
            return
        values["extra"] = {k: v for k, v in extra.items() if k not in marked} or None
        pe = dict((cur or {}).get("personal_extra") or {}) if "personal_extra" not in values else \
            dict(values["personal_extra"] or {})
        pe.update({k: extra[k] for k in marked})
        values["personal_extra"] = pe or None

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
            latest = dict(conn.execute(select(*self._m_columns()).where(M.c.id == cur["id"])).mappings().one())
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
            cur = self._lock_meter(conn, meter_id)
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
            locked = self._lock_meters(conn, [old_meter_id] + ([new_meter] if isinstance(new_meter, int) else []))
            old = locked.get(old_meter_id)
            if old is None:
                raise NotFound(f"no meter with id {old_meter_id}")
            old.update(self._placement_names(conn, old))
            if isinstance(new_meter, int):
                new_id = new_meter
                nm = locked.get(new_id)
                if nm is None:
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


def _show(v: Any) -> str:
    v = jsonable(v)
    if v is None:
        return "(empty)"
    if isinstance(v, str):
        return repr(v)
    return str(v)
