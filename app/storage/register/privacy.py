"""Data protection (MMS 2.2): legal hold, restricted processing, erasure of personal data, the personal data export,
and the spreadsheet columns marked personal.

Personal data is wherever the register keeps it: the personal columns of a
meter (occupant name, flat, customer reference, notes, and the spreadsheet
columns marked personal, in ``personal_extra``) and the earlier values kept
apart from the event log (``personal_values``). Erasure, export, hold and
restriction cover all of it.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from app.storage import models, safe_export, tabular
from app.storage.errors import LegalHoldError, NotFound, PermissionDenied, ValidationError
from app.storage.integrity import ERASED, PERSONAL_COLUMNS, decode_entries, encode_entries, run_ids
from app.storage.records import PERSONAL_FIELDS, EraseReport, MeterRecord
from app.storage.register.eventlog import EventLog
from app.storage.register.readouts import Readouts
from app.storage.register.tables import EV, M, PCOL, PV
from app.storage.register.unit import retrying

READING_FIELDS = ("read_at", "quantity", "value", "unit", "storage", "tariff", "function")
PERSONAL_EXPORT_FIELDS = (
    "record", "recorded_at", "site", "building", "monitoring_point", "location", "manufacturer", "model", "serial",
    "secondary_address", "occupant_name", "flat", "customer_reference", "notes", "install_date", "status",
) + READING_FIELDS
#: how long an erase on PostgreSQL waits for the tables before it gives up rewriting them (and says so)
PURGE_LOCK_TIMEOUT = "3s"
#: how long it waits for transactions older than the erase (anywhere on the server) to end first
PURGE_WAIT_S = 5.0


class Privacy(Readouts, EventLog):
    """The data-protection flags and what they allow."""

    def _set_flag(self, meter_id: int, flag: str, on: bool, *, user: str | None, reason: str | None) -> MeterRecord:
        try:
            return self._set_flag_once(meter_id, flag, on, user=user, reason=reason)
        except PermissionDenied as exc:  # the database refused the role: that attempt is logged too
            self.log_refused([meter_id], f"{'set' if on else 'clear'} {flag.replace('_', ' ')}", str(exc), user=user)
            raise

    def _set_flag_once(self, meter_id: int, flag: str, on: bool, *, user: str | None, reason: str | None
                       ) -> MeterRecord:
        with self._write() as conn:
            cur = self._lock_meter(conn, meter_id)
            if bool(cur[flag]) != on:
                conn.execute(update(M).where(M.c.id == meter_id).values(
                    **{flag: on}, version=cur["version"] + 1, updated_at=models.utcnow()))
                self._log(conn, user, "meters", meter_id, flag if on else f"clear_{flag}", meter_id=meter_id,
                          before={flag: bool(cur[flag])}, after={flag: on, "version": cur["version"] + 1},
                          source=reason)
            return self.get_meter_in(conn, meter_id)

    @retrying
    def set_legal_hold(self, meter_id: int, on: bool = True, *, user: str | None = None,
                       reason: str | None = None) -> MeterRecord:
        """Set or clear the legal hold: while set, personal data cannot be erased (MMS 2.2.4). An
        erase that already locked the meter finishes first (the returned record says so:
        ``personal_erased_at``)."""
        return self._set_flag(meter_id, "legal_hold", on, user=user, reason=reason)

    @retrying
    def set_restrict_processing(self, meter_id: int, on: bool = True, *, user: str | None = None,
                                reason: str | None = None) -> MeterRecord:
        """Set or clear "restrict processing": the meter is left out of exports,
        default lists and planning (MMS 2.2.5); it stays in the register."""
        return self._set_flag(meter_id, "restrict_processing", on, user=user, reason=reason)

    # ---- erasure -----------------------------------------------------------------------------

    @retrying
    def erase_personal_data(self, meter_ids: int | Sequence[int], *, user: str | None = None,
                            reason: str | None = None, purge: bool = True) -> EraseReport:
        """Erase the personal data of these meters (MMS 2.2.3): the personal columns and every earlier
        value kept apart from the event log (earlier occupants too).

        Each meter's legal hold is checked under the lock that erases it: a hold
        set before the erase reached the meter wins. A single held meter raises
        LegalHoldError; in a batch held meters are listed in ``held``; either way
        the refusal is logged. The event log keeps the commitments of the erased
        values, so the chain still verifies. Then the old values leave the files
        (``purge``): SQLite overwrites freed pages and checkpoints its log;
        PostgreSQL rewrites the tables (``VACUUM FULL``) when the role may,
        else ``remaining`` says what is left and until when.
        """
        single = isinstance(meter_ids, int)
        ids = [meter_ids] if single else list(meter_ids)
        try:
            return self._erase(ids, single, user=user, reason=reason, purge=purge)
        except PermissionDenied as exc:  # the database refused the role: that attempt is logged too
            self.log_refused(ids, "erase personal data", str(exc), user=user)
            raise

    def _erase(self, ids: list[int], single: bool, *, user: str | None, reason: str | None, purge: bool
               ) -> EraseReport:
        report = EraseReport()
        held_label = None
        with self._write() as conn:
            rows = self._lock_meters(conn, ids)
            missing = [i for i in ids if i not in rows]
            if missing:
                raise NotFound(f"no meter with id {missing[0]}")
            now = self._db_now(conn)
            for mid in sorted(rows):
                r = rows[mid]
                if r["legal_hold"]:
                    report.held.append(mid)
                    held_label = f"{r['manufacturer']} {r['serial']}"
                    self._log(conn, user, "meters", mid, "refused", meter_id=mid, source=reason,
                              after={"what": "erase personal data", "reason": "legal hold"})
                    continue
                had = [f for f in PERSONAL_COLUMNS if r[f]]
                conn.execute(update(M).where(M.c.id == mid).values(
                    **{f: None for f in PERSONAL_COLUMNS}, personal_erased_at=now, version=r["version"] + 1,
                    updated_at=now))
                report.erased.append(mid)
                self._log(conn, user, "meters", mid, "erase_personal", meter_id=mid, source=reason,
                          before={f: ERASED for f in had or PERSONAL_FIELDS},
                          after={**{f: None for f in had or PERSONAL_FIELDS}, "version": r["version"] + 1})
            if report.erased:
                report.events_scrubbed = self._erase_kept(conn, report.erased)
            if report.erased and purge:
                xid = None if self.is_sqlite else conn.execute(text("SELECT pg_current_xact_id()::text")).scalar()
                self._tx(conn).after_commit.append(lambda: report.remaining.extend(self._purge(xid)))
        if single and report.held:
            raise LegalHoldError(f"meter {held_label} is under legal hold: personal data not erased "
                                 "(clear the hold first)")
        return report

    def _erase_kept(self, conn: Connection, meter_ids: Sequence[int]) -> int:
        """Delete the kept-apart personal entries (value and salt) of these meters; the commitments stay.
        Returns how many events had some."""
        ids = set(meter_ids)
        lo, hi = min(ids), max(ids)
        events: set[int] = set()
        q = select(PV.c.id, PV.c.event_id, PV.c.meter_ids, PV.c.payload).where(
            PV.c.personal.is_(True), PV.c.first_meter_id <= hi, PV.c.last_meter_id >= lo).order_by(PV.c.id)
        for r in conn.execute(q).all():
            mids = run_ids(r.meter_ids)
            entries = decode_entries(r.payload)
            hit = 0
            for p, mid in enumerate(mids):
                if mid in ids and p < len(entries) and entries[p] is not None:
                    entries[p] = None
                    hit += 1
            if hit:
                conn.execute(update(PV).where(PV.c.id == r.id).values(payload=encode_entries(entries)))
                events.add(r.event_id)
        return len(events)

    def purge_erased(self) -> list[str]:
        """Make erased values leave the files now (``db vacuum``): SQLite ``VACUUM`` and a checkpoint;
        PostgreSQL ``VACUUM FULL`` of the tables holding personal data (their owner only) and a
        checkpoint when allowed. Returns what remains, as sentences."""
        if self.read_only:
            from app.storage.errors import ReadOnlyRegister

            raise ReadOnlyRegister(f"register {self.url} is read-only: nothing can be changed")
        if self.is_sqlite:
            with self._errors(), self.engine.connect() as conn:
                conn.connection.driver_connection.execute("VACUUM")
        return self._purge(None)

    def _purge(self, erase_xid: str | None) -> list[str]:
        """After an erase committed: make the old values leave the files; what remains, as sentences."""
        if self.is_sqlite:
            with self._errors(), self.engine.connect() as conn:
                busy = conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy and busy[0]:
                return ["the SQLite write-ahead log still holds the erased values because another program is "
                        "reading the register: they are overwritten at its next checkpoint, once it closes"]
            return []
        return self._pg_purge(erase_xid)

    def _pg_purge(self, erase_xid: str | None) -> list[str]:
        """PostgreSQL: rewrite the tables holding personal data (``VACUUM FULL``). A snapshot taken before
        the erase (a transaction of any session on the server) makes PostgreSQL keep the old row versions:
        wait a little for such snapshots to end, then say whether any was left."""
        left = []
        older_sql = text(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL "
            "AND age(backend_xmin) >= age(CAST(:x AS xid))) + (SELECT count(*) FROM pg_replication_slots "
            "WHERE xmin IS NOT NULL AND age(xmin) >= age(CAST(:x AS xid))) + (SELECT count(*) FROM pg_prepared_xacts "
            "WHERE age(transaction) >= age(CAST(:x AS xid)))")
        with self._errors(), self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if erase_xid is None:  # db vacuum: every snapshot older than now
                erase_xid = conn.execute(text("SELECT pg_current_xact_id()::text")).scalar()
            xid = str(int(erase_xid) % 2**32)
            owner = conn.execute(text(
                "SELECT bool_and(pg_has_role(current_user, relowner, 'USAGE')) FROM pg_class "
                "WHERE relname IN ('meters', 'personal_values') AND relkind = 'r' "
                "AND relnamespace = current_schema()::regnamespace")).scalar()
            if not owner:
                left.append("old row versions holding the erased values stay in the files of tables meters and "
                            "personal_values until their owner runs 'heatmeter db vacuum' (autovacuum only marks "
                            "the space free; it is overwritten as the tables grow)")
            else:
                deadline = time.monotonic() + PURGE_WAIT_S
                older = conn.execute(older_sql, {"x": xid}).scalar()
                while older and time.monotonic() < deadline:  # other people's transactions: let them end
                    time.sleep(0.1)
                    older = conn.execute(older_sql, {"x": xid}).scalar()
                conn.exec_driver_sql(f"SET lock_timeout = '{PURGE_LOCK_TIMEOUT}'")
                try:  # never queue everyone behind a rewrite waiting for a long import
                    conn.exec_driver_sql("VACUUM FULL meters, personal_values")
                except DBAPIError as exc:
                    if getattr(getattr(exc, "orig", None), "sqlstate", None) != "55P03":
                        raise
                    left.append("tables meters and personal_values were in use by another session, so the old "
                                "row versions holding the erased values are still in their files: run 'heatmeter "
                                "db vacuum' when it is done")
                else:
                    if older:
                        left.append(f"{older} transaction(s) on the server held a snapshot from before the erase, so "
                                    "PostgreSQL kept the old row versions: run 'heatmeter db vacuum' once they end")
                finally:
                    conn.exec_driver_sql("RESET lock_timeout")
            try:
                conn.exec_driver_sql("CHECKPOINT")
                checked = True
            except Exception:
                checked = False
            timeout = conn.execute(text("SHOW checkpoint_timeout")).scalar()
            archive = conn.execute(text("SHOW archive_mode")).scalar()
        left.append(("the write-ahead log segments written before the checkpoint just made" if checked else
                     "the write-ahead log segments written since the last checkpoint")
                    + f" hold the erased values until PostgreSQL recycles them (checkpoints every {timeout})"
                    + ("; archived WAL and base backups keep them until their retention ends" if archive != "off"
                       else "; base backups keep them until their retention ends"))
        return left

    # ---- spreadsheet columns marked personal ------------------------------------------------------

    def personal_columns(self) -> list[str]:
        """The spreadsheet columns marked personal."""
        with self._read() as conn:
            return sorted(self._marked_personal(conn))

    def mark_personal_column(self, name: str, on: bool = True, *, user: str | None = None) -> int:
        """Declare a spreadsheet column personal data (or no longer, ``on=False``): its values move
        between ``extra`` and ``personal_extra`` on every meter, and its values kept apart from the
        event log are flagged, so that export, erase and the grants cover them. Returns how many
        meters hold a value."""
        name = name.strip()
        if not name or name in tabular.KNOWN_COLUMNS:
            raise ValidationError(f"{name!r} is not a spreadsheet column of its own (the personal fields "
                                  f"{', '.join(PERSONAL_FIELDS)} are personal already)")
        src, dst = ("extra", "personal_extra") if on else ("personal_extra", "extra")
        with self._write() as conn:
            known = name in self._marked_personal(conn)
            if known == on:
                return 0
            if on:
                conn.execute(PCOL.insert().values(name=name, marked_by=self.user_name(user), marked_at=models.utcnow()))
            else:
                conn.execute(PCOL.delete().where(PCOL.c.name == name))
            moved = 0
            for r in conn.execute(select(M.c.id, M.c[src], M.c[dst]).where(M.c[src].is_not(None))).all():
                vals = dict(r[1] or {})
                if name not in vals:
                    continue
                other = dict(r[2] or {})
                other[name] = vals.pop(name)
                conn.execute(update(M).where(M.c.id == r.id).values(**{src: vals or None, dst: other}))
                moved += 1
            conn.execute(update(PV).where(PV.c.key == f"extra.{name}").values(personal=on))
            self._log(conn, user, "personal_columns", None, "mark_personal" if on else "unmark_personal",
                      after={"column": name, "meters": moved})
        return moved

    # ---- the personal data export ---------------------------------------------------------------

    def export_personal_data(self, path: str | Path, *, meter_ids: Sequence[int] | None = None, site: str | None = None,
                             date_from: dt.date | None = None, date_to: dt.date | None = None,
                             fields: Sequence[str] | None = None, include_restricted: bool = False,
                             user: str | None = None) -> dict[str, Any]:
        """Write a CSV copy of the data held on these meters (MMS 2.2.1/2.2.2), and log the access.

        Rows (``record``): ``reading`` (one per decoded record of every readout
        taken between ``date_from`` and ``date_to`` inclusive, with the meter's
        fields as stored now), or ``meter`` (those fields alone, for a meter
        without readouts in the range), and ``earlier`` (personal
        values the meter held before, from the event log, with the time they
        were recorded). ``fields``: a choice from ``PERSONAL_EXPORT_FIELDS`` and
        the columns marked personal (default: all). Restricted meters are left
        out unless ``include_restricted`` (asking for one by id is logged as
        refused).
        """
        marked = self.personal_columns()
        allowed = list(PERSONAL_EXPORT_FIELDS) + [c for c in marked if c not in PERSONAL_EXPORT_FIELDS]
        chosen = list(fields or allowed)
        bad = [f for f in chosen if f not in allowed]
        if bad:
            raise ValidationError(f"unknown field{'s' if len(bad) > 1 else ''} {', '.join(bad)} "
                                  f"(choose from {', '.join(allowed)})")
        if meter_ids is None and not site:
            raise ValidationError("name the meters or the site whose data to export")
        self._check_loggable("export personal data")
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
                base["record"] = "meter"
                wrote = False
                if reading_fields:
                    for ro in self.readouts(m.id, since=since, until=until):
                        for tel in ro["decoded"] or []:
                            for rec in tel.get("records", []):
                                row = dict(base, record="reading", recorded_at=ro["read_at"].isoformat(
                                    timespec="seconds"))
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
                for when, vals in self._earlier_values(m, since, until):
                    row = {k: base.get(k) for k in ("site", "building", "monitoring_point", "location",
                                                     "manufacturer", "model", "serial", "secondary_address")}
                    row.update(vals, record="earlier", recorded_at=when.isoformat(timespec="seconds"))
                    if any(k in chosen for k in vals):
                        w.writerow([tabular.format_value(row.get(k)) for k in chosen])
                        n += 1
        personal = [f for f in chosen if f in PERSONAL_FIELDS or f in marked]
        self.log_access([m.id for m in meters], "export-data", fields=personal or chosen, user=user)
        if left_out and meter_ids is not None:
            self.log_refused(left_out, "export-data", "processing restricted", user=user)
        return {"rows": n, "meters": len(meters), "restricted_left_out": left_out, "fields": chosen}

    def _earlier_values(self, m: MeterRecord, since: dt.datetime | None, until: dt.datetime | None
                        ) -> list[tuple[dt.datetime, dict[str, Any]]]:
        """(when recorded, {field: value}) of the personal values this meter held before its current
        ones, from the values kept apart (erased ones are gone)."""
        now = {f: getattr(m, f) for f in PERSONAL_FIELDS}
        now.update({k: v for k, v in (m.personal_extra or {}).items()})
        out, seen = [], set()
        with self._read() as conn:
            kept = self._kept_values(conn, m.id)
            times = {r.id: r.at for r in conn.execute(select(EV.c.id, EV.c.at).where(
                self._ids_in(EV.c.id, list(kept))))} if kept else {}
        for eid in sorted(kept):
            at = times.get(eid)
            if at is None or (since and at < since) or (until and at > until):
                continue
            for side in (0, 1):
                vals = {}
                for key, pair in kept[eid].items():
                    field = key[6:] if key.startswith("extra.") else key
                    v = pair[side]
                    if v is not None and v != ERASED and now.get(field) != v and \
                            (field in PERSONAL_FIELDS or field in (m.personal_extra or {}) or key.startswith("extra.")):
                        vals[field] = v
                sig = tuple(sorted((k, str(v)) for k, v in vals.items()))
                if vals and sig not in seen:
                    seen.add(sig)
                    out.append((at, vals))
        return out

    def _check_loggable(self, what: str) -> None:
        from app.storage.errors import ReadOnlyRegister

        if self.read_only:
            raise ReadOnlyRegister(f"register {self.url} is read-only: cannot {what} (the access could not be "
                                   "logged)")


def _meter_field(m: MeterRecord, k: str) -> Any:
    if k == "install_date":
        return tabular.format_install_date(m.install_date, m.install_year_only)
    if hasattr(m, k):
        return getattr(m, k)
    return (m.personal_extra or {}).get(k)
