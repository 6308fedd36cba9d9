"""Job lists for technicians, and their results read back (maintenance-cycle issue, "Job lists for technicians").

From the schedule (every meter with a deadline before the horizon, or
overdue) or from a lot (its drawn sample), a list per site: address
(site, building), location, meter, what to do, and empty columns for the
result. The technician (or the contractor) fills them in; the same file read
back records every result in one transaction, all or nothing, each error
naming its line.

Result columns (``RESULT_COLUMNS``): ``done_on`` (YYYY-MM-DD), ``result``
(``recalibrated``, ``replaced``, ``battery_changed``, ``no_access``, and for a
lot's meters ``sent_to_lab`` or ``tested``), ``verdict`` (pass/fail, for a
recalibration), ``error_pct`` (a recalibration's or a lot test's figure),
``new_serial``, ``new_manufacturer``, ``new_model`` (a replacement),
``battery_expiry`` (a battery change; else worked out as for ``meters
battery``), ``lab``, ``certificate``, ``notes``. Rows whose ``result`` is
empty are jobs not done yet and are left alone.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.storage.files import MAX_IMPORT_BYTES, TooLarge, read_limited
from app.core.schedule_rules import FLAG_WORDS
from app.storage.errors import NotFound, ValidationError
from app.storage.register import Register, WorkItem

JOB_COLUMNS = ("site", "building", "location", "monitoring_point", "manufacturer", "model", "serial", "meter_id",
               "job", "due_date", "what_to_do", "lot_id", "flags")
RESULT_COLUMNS = ("done_on", "result", "verdict", "error_pct", "new_serial", "new_manufacturer", "new_model",
                  "battery_expiry", "lab", "certificate", "notes")
COLUMNS = JOB_COLUMNS + RESULT_COLUMNS
RESULTS = ("recalibrated", "replaced", "battery_changed", "no_access", "sent_to_lab", "tested")

_WHAT = {
    "replace": "Recalibrate or replace the meter (10-year deadline)",
    "sampling_9y": "Lot sampling at 9 years: the lot is formed by the planner",
    "sampling_13y": "Lot sampling at 13 years: the lot is formed by the planner",
    "battery": "Replace the battery (a year before its end of life)",
    "failed_recalibration": "Replace the meter: its recalibration failed",
    "defective_in_passed_lot": "Replace the meter: found defective in its lot's test",
    "install_date_unknown": "Read the install year off the meter and recalibrate or replace it",
    "lot": "Sampled for lot {lot}: take the meter to the test lab (fit a spare) or test it on site",
}


@dataclass
class Job:
    values: dict[str, Any]

    def row(self) -> list[Any]:
        return [self.values.get(c) for c in COLUMNS]


def _what(kind: str, reason: str) -> str:
    if reason in _WHAT:
        return _WHAT[reason]
    return _WHAT.get(kind, kind.replace("_", " "))


def jobs_from_schedule(reg: Register, sched, *, site: str | None = None) -> list[Job]:
    """One job per meter that is due within the horizon or overdue (``sched``: a ``PlanningSchedule``)."""
    rows = [r for r in sched.meter_rows() if r["state"] != "in_service" and (site is None or r["site"] == site)]
    recs = {m.id: m for m in reg.meters_by_id([r["meter_id"] for r in rows])}
    out = []
    for r in rows:
        m = recs.get(r["meter_id"])
        if m is None:
            continue
        restricted = "restricted" in r["flags"]
        kind = next((d["kind"] for d in r["deadlines"] if d["date"] == r["due_date"]), r["reason"])
        out.append(Job({"site": m.site, "building": m.building,
                        "location": None if restricted else m.location, "monitoring_point": m.monitoring_point,
                        "manufacturer": None if restricted else m.manufacturer, "model": None if restricted else m.model,
                        "serial": None if restricted else m.serial, "meter_id": m.id, "job": kind,
                        "due_date": r["due_date"], "what_to_do": _what(kind, r["reason"]), "lot_id": r["lot_id"],
                        "flags": "; ".join(FLAG_WORDS.get(f, f) for f in r["flags"])}))
    out.sort(key=lambda j: (j.values["site"] or "", j.values["building"] or "", j.values["location"] or "",
                            j.values["meter_id"]))
    return out


def jobs_from_lot(reg: Register, lot_id: int) -> list[Job]:
    """One job per meter drawn for the lot (sample first, then the spares)."""
    from app.storage import planning

    shown = planning.show_lot(reg, lot_id)
    if shown["draw"] is None:
        raise ValidationError(f"lot {lot_id} has not been drawn yet: draw it first")
    drawn = shown["draw"]["meters"]
    recs = {m.id: m for m in reg.meters_by_id([d["meter_id"] for d in drawn])}
    out = []
    for d in drawn:
        m = recs.get(d["meter_id"])
        if m is None:
            continue
        what = _WHAT["lot"].format(lot=lot_id) + (" (spare: only if a sampled meter cannot be reached)"
                                                   if d["spare"] else "")
        out.append(Job({"site": m.site, "building": m.building, "location": m.location,
                        "monitoring_point": m.monitoring_point, "manufacturer": m.manufacturer, "model": m.model,
                        "serial": m.serial, "meter_id": m.id, "job": "spare" if d["spare"] else "sample",
                        "due_date": None, "what_to_do": what, "lot_id": lot_id, "flags": d["status"]}))
    return out


def job_list(reg: Register, *, as_of: dt.date, horizon_months: int = 3, site: str | None = None,
             lot_id: int | None = None, plan_sampling: bool = True) -> list[Job]:
    """The jobs of the drawn lot ``lot_id``, else of the schedule on ``as_of`` (every meter due within
    ``horizon_months`` or overdue); only ``site``'s when given. What ``heatmeter jobs export`` and the
    planner's job list dialog write."""
    from app.storage import planning

    if horizon_months < 0:
        raise ValidationError("horizon-months: must not be negative")
    if lot_id is not None:
        jobs = jobs_from_lot(reg, lot_id)
        return [j for j in jobs if j.values["site"] == site] if site else jobs
    s = planning.schedule(reg, as_of, horizon_months=horizon_months, site=site, plan_sampling=plan_sampling)
    return jobs_from_schedule(reg, s, site=site)


def pdf_data(jobs: list[Job], *, as_of: dt.date, lot_id: int | None = None) -> dict[str, Any]:
    """What the printable job list is drawn from (``app.ui.reports.render.jobs_pdf``)."""
    title = f"Job list — lot {lot_id}" if lot_id is not None else f"Job list — due before the horizon from {as_of}"
    return {"title": title, "as_of": as_of, "jobs": [j.values for j in jobs]}


def by_site(jobs: list[Job]) -> dict[str, list[Job]]:
    out: dict[str, list[Job]] = {}
    for j in jobs:
        out.setdefault(j.values["site"] or "", []).append(j)
    return dict(sorted(out.items()))


def write_jobs(jobs: list[Job], *, csv_path: str | None = None, xlsx_path: str | None = None) -> int:
    """The job list as CSV (every site, sorted by site) and/or XLSX (one sheet per site), through the safe writer."""
    from app.storage.exports import write_csv, write_xlsx

    if csv_path:
        write_csv(csv_path, COLUMNS, (j.row() for j in jobs))
    if xlsx_path:
        write_xlsx(xlsx_path, [(site or "no site", COLUMNS, [j.row() for j in js])
                               for site, js in by_site(jobs).items()] or [("jobs", COLUMNS, [])])
    return len(jobs)


# ---- reading the results back -------------------------------------------------------------

@dataclass
class ResultRow:
    line: int
    cells: dict[str, str] = field(default_factory=dict)


def read_results(path: str | Path) -> tuple[str, list[ResultRow]]:
    """The rows of a filled-in job list (CSV, or XLSX: every sheet) that carry a result."""
    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"{p}: not a file" if p.exists() else f"{p}: no such file")
    rows: list[ResultRow] = []
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(p, read_only=True, data_only=True)
        except Exception as exc:  # a damaged or not-an-XLSX file
            raise ValidationError(f"{p.name}: not a readable XLSX file ({type(exc).__name__})") from None
        try:
            for ws in wb.worksheets:
                it = ws.iter_rows(values_only=True)
                header = [str(h or "").strip().lower() for h in next(it, ())]
                for n, vals in enumerate(it, start=2):
                    cells = {h: ("" if v is None else v.isoformat()[:10] if isinstance(v, (dt.date, dt.datetime))
                                 else str(v)).strip() for h, v in zip(header, vals) if h}
                    rows.append(ResultRow(n, cells))
                    rows[-1].cells["_sheet"] = ws.title
        finally:
            wb.close()
    else:
        try:
            raw = read_limited(p, MAX_IMPORT_BYTES)
        except TooLarge as exc:
            raise ValidationError(str(exc)) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        first = text.split("\n", 1)[0]
        delim = max((",", ";", "\t"), key=first.count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        header = [h.strip().lower() for h in next(reader, [])]
        for vals in reader:
            cells = {h: (vals[i].strip() if i < len(vals) else "") for i, h in enumerate(header) if h}
            rows.append(ResultRow(reader.line_num, cells))
    missing = [c for c in ("meter_id", "result", "done_on") if rows and c not in rows[0].cells]
    if missing or not rows:
        raise ValidationError(f"{p.name}: not a job list: {'no rows' if not rows else 'missing column ' + ', '.join(missing)}")
    for r in rows:  # a neutralised cell ('=x) reads back as written
        for k, v in r.cells.items():
            if v.startswith("'") and len(v) > 1 and v[1] in "=+-@\t\r":
                r.cells[k] = v[1:]
    return p.name, [r for r in rows if r.cells.get("result")]


def _date(name: str, r: ResultRow, col: str, required: bool = False) -> dt.date | None:
    t = r.cells.get(col, "")
    if not t:
        if required:
            raise ValidationError(f"{name}: line {r.line}: {col}: missing (YYYY-MM-DD)")
        return None
    try:
        return dt.date.fromisoformat(t[:10])
    except ValueError:
        raise ValidationError(f"{name}: line {r.line}: {col}: bad date {t!r} (expected YYYY-MM-DD)") from None


def _num(name: str, r: ResultRow, col: str) -> float | None:
    t = r.cells.get(col, "").replace(",", ".") if r.cells.get(col, "").count(",") == 1 else r.cells.get(col, "")
    if not t:
        return None
    try:
        v = float(t)
    except ValueError:
        raise ValidationError(f"{name}: line {r.line}: {col}: not a number: {t!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ValidationError(f"{name}: line {r.line}: {col}: not a finite number: {t!r}")
    return v


def import_results(reg: Register, path: str | Path, *, user: str | None = None,
                   today: dt.date | None = None) -> dict[str, Any]:
    """Record every result of a filled-in job list: all or nothing, errors naming the line.

    Recalibrations, replacements, battery changes and visits without access go
    in through ``Register.record_work`` in one transaction; for a lot's meters
    ``sent_to_lab`` marks them at the lab and ``tested`` (with ``error_pct``)
    or ``no_access`` records the lot result, after the work (each lot in its
    own transaction, checked before anything is stored).
    """
    from app.services import maintenance as mt
    from app.storage import planning

    name, rows = read_results(path)
    if not rows:
        raise ValidationError(f"{name}: no result filled in (the result column is empty on every line)")
    items: list[WorkItem] = []
    lab: dict[int, list[tuple[int, int]]] = {}
    lot_entries: dict[int, list] = {}
    counts: dict[str, int] = {}
    for r in rows:
        c = r.cells
        where = f"{name}: line {r.line}"
        result = c["result"].strip().lower().replace(" ", "_")
        if result not in RESULTS:
            raise ValidationError(f"{where}: result: {c['result']!r} is not one of {', '.join(RESULTS)}")
        try:
            mid = int(c.get("meter_id", ""))
            rec = reg.get_meter(mid)
        except ValueError:
            raise ValidationError(f"{where}: meter_id: {c.get('meter_id')!r} is not a meter id") from None
        except NotFound:
            raise ValidationError(f"{where}: meter_id: no meter {c.get('meter_id')} in the register") from None
        if c.get("serial") and c["serial"] != rec.serial:
            raise ValidationError(f"{where}: serial {c['serial']!r} is not the serial of meter {mid} ({rec.serial})")
        on = _date(name, r, "done_on", required=True)
        lot_id = None
        if c.get("lot_id"):
            try:
                lot_id = int(float(c["lot_id"]))
            except ValueError:
                raise ValidationError(f"{where}: lot_id: {c['lot_id']!r} is not a lot number") from None
        if result == "recalibrated":
            verdict = c.get("verdict", "").strip().lower()
            if verdict not in ("pass", "fail"):
                raise ValidationError(f"{where}: verdict: give pass or fail for a recalibration")
            items.append(mt.recalibration_item(reg, rec, on=on, verdict=verdict, error_pct=_num(name, r, "error_pct"),
                                               lab=c.get("lab") or None, certificate=c.get("certificate") or None,
                                               notes=c.get("notes") or None, where=where))
        elif result == "replaced":
            if not c.get("new_serial"):
                raise ValidationError(f"{where}: new_serial: missing for a replacement")
            items.append(WorkItem("replace", rec.id, on, new_serial=c["new_serial"],
                                  new_manufacturer=c.get("new_manufacturer") or None,
                                  new_model=c.get("new_model") or None, reason=c.get("notes") or None, where=where))
        elif result == "battery_changed":
            item, _est = mt.battery_item(reg, rec, replaced_on=on, expiry=_date(name, r, "battery_expiry"),
                                         notes=c.get("notes") or None, where=where)
            items.append(item)
        elif result == "no_access":
            items.append(WorkItem("no_access", rec.id, on, notes=c.get("notes") or None, where=where))
            if lot_id is not None and c.get("job") in ("sample", "spare"):  # a lot's job list: a spare stands in
                lot_entries.setdefault(lot_id, []).append(planning.ResultEntry(
                    rec.manufacturer, rec.serial, inaccessible=True, lines=[r.line], source=name))
        elif result in ("sent_to_lab", "tested"):
            if lot_id is None or c.get("job") not in ("sample", "spare"):
                raise ValidationError(f"{where}: {result}: only for a meter of a lot's job list (heatmeter jobs "
                                      "export --lot)")
            if result == "sent_to_lab":
                lab.setdefault(lot_id, []).append((rec.id, r.line))
            else:
                err = _num(name, r, "error_pct")
                if err is None:
                    raise ValidationError(f"{where}: error_pct: missing for a tested meter")
                lot_entries.setdefault(lot_id, []).append(planning.ResultEntry(
                    rec.manufacturer, rec.serial, error_pct=err, tested_on=on, lab=c.get("lab") or None,
                    certificate=c.get("certificate") or None, notes=c.get("notes") or None, lines=[r.line],
                    source=name))
        counts[result] = counts.get(result, 0) + 1
    # Check the lot parts before anything is stored: a lot result that would be refused stops the whole file.
    for lot_id, entries in lot_entries.items():
        planning.check_results(reg, lot_id, entries)
    done = reg.record_work(items, user=user, source=name, today=today) if items else []
    for lot_id, pairs in lab.items():
        reg.send_to_lab(lot_id, [m for m, _ in pairs], on=today or dt.date.today(), user=user)
    lot_done = {lot_id: planning.record_results(reg, lot_id, entries, user=user)
                for lot_id, entries in lot_entries.items()}
    return {"file": name, "results": len(rows), "counts": counts, "work": done,
            "lots": {str(k): {"recorded": len(v["recorded"])} for k, v in lot_done.items()}}
