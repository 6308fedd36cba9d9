"""Data protection (MMS 2.2): legal hold, restricted processing, erasure of personal data, the personal data export."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.storage import models, safe_export, tabular
from app.storage.errors import LegalHoldError, NotFound, ValidationError
from app.storage.records import PERSONAL_FIELDS, EraseReport, MeterRecord
from app.storage.register.eventlog import EventLog
from app.storage.register.readouts import Readouts
from app.storage.register.tables import ERASED, EV, M

READING_FIELDS = ("read_at", "quantity", "value", "unit", "storage", "tariff", "function")
PERSONAL_EXPORT_FIELDS = (
    "site", "building", "monitoring_point", "location", "manufacturer", "model", "serial", "secondary_address",
    "occupant_name", "flat", "customer_reference", "install_date", "status",
) + READING_FIELDS


class Privacy(Readouts, EventLog):
    """The data-protection flags and what they allow."""

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
        n = 0
        with safe_export.csv_output(path, chosen, numeric=("value",)) as w:
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
        return {"rows": n, "meters": len(meters), "restricted_left_out": left_out, "fields": chosen}


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

