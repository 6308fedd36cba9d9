"""What the reports say, gathered from the register (plain data; the PDFs are drawn in ``app.ui.reports``).

- :func:`meter_dossier`: one meter's whole record (the meter page, the
  commissioning record).
- :func:`evidence_pack`: the HNTAS evidence of a site (seed 003):
  **E28** thermal energy meter records — make, type, serial, year of install,
  and the recalibration date or the evidence of successful sampling (lot,
  verdict, date), with the meter's state in the maintenance schedule; and
  **E27** meter sizing calculations — for every meter whose design load is
  stored, the ``heatmeter calc sizing`` JSON of the metrology core run on it, and the
  installed meter checked against the same flows.
- :func:`personal_data_rows`: the data-protection export (MMS 2.2.1/2.2.2),
  the register's own CSV, read back for display.

Design data for E27 live with the meter as spreadsheet columns (kept by the
import as the meter's ``extra``) named like the ``heatmeter calc sizing`` JSON inputs:
``design_power_kw``, ``min_power_kw``, ``flow_temp_c``, ``return_temp_c``
(required), ``min_load_flow_temp_c``, ``min_load_return_temp_c``,
``pipe_dn``, ``max_dp_bar``, ``application`` (heating/cooling, default
heating) and ``meter_position`` (default: the meter's
``flow_sensor_position``). A meter without a design load is not sized: the
report lists it as such and never invents a load.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.storage import safe_export
from app.storage.records import MeterRecord, jsonable
from app.storage.register import CAL, COM, INST, LOT, LOTM, LOTR, LOTV, M, Register

#: Spreadsheet columns holding a meter's design data (``heatmeter calc sizing`` JSON input names).
DESIGN_REQUIRED = ("design_power_kw", "min_power_kw", "flow_temp_c", "return_temp_c")
DESIGN_OPTIONAL = ("min_load_flow_temp_c", "min_load_return_temp_c", "pipe_dn", "max_dp_bar")
DESIGN_TEXT = ("application", "meter_position")


# ---- one meter ---------------------------------------------------------------------------

def meter_dossier(reg: Register, meter_id: int) -> dict[str, Any]:
    """Everything the register holds on one meter, for its page.

    ``meter`` (MeterRecord), ``installations``, ``commissioning`` (each record
    with its ``readouts``: raw frames and decoded telegrams), ``readouts``
    (all, oldest first), ``calibrations`` (with points), ``lots`` (with their
    verdicts and this meter's result), ``writes`` (writes to the meter: address,
    baud, clock, with before, after and frames), ``history`` (the event log, its
    access entries included). Showing the meter's personal data is logged as an
    access; on a read-only register it is hidden instead (``personal_hidden``).
    """
    from app.storage.errors import ReadOnlyRegister
    from app.storage.records import PERSONAL_FIELDS

    meter = reg.get_meter(meter_id)
    personal_hidden = False
    if meter.has_personal_data:  # shown on the page: who saw it is logged (MMS 2.2.7.2)
        try:
            reg.log_access([meter_id], "meter page", fields=[f for f in PERSONAL_FIELDS if getattr(meter, f)]
                           + sorted(meter.personal_extra or {}))
        except ReadOnlyRegister:  # the access cannot be logged: the page does not show the data
            for f in PERSONAL_FIELDS:
                setattr(meter, f, None)
            meter.personal_extra = {}
            personal_hidden = True
    readouts = reg.readouts(meter_id)
    by_com: dict[int, list[dict]] = {}
    for r in readouts:
        if r.get("commissioning_id"):
            by_com.setdefault(r["commissioning_id"], []).append(r)
    coms = reg.list_commissioning(meter_id=meter_id)
    coms.sort(key=lambda c: (c.get("commissioned_on") or dt.date.min, c["id"]))
    for c in coms:
        c["readouts"] = by_com.get(c["id"], [])
    lots = []
    for lot in reg.lots_of_meter(meter_id):
        full = reg.get_lot(lot["id"])
        mine = [r for r in full["results"] if r["meter_id"] == meter_id]
        drawn = [d for d in full["draws"] if d["meter_id"] == meter_id]
        lots.append({**lot, "verdicts": full["verdicts"], "result": mine[0] if mine else None,
                     "drawn": drawn[0] if drawn else None})
    history = reg.history(meter_id)
    if personal_hidden:
        history = [{**e, "before": _hide_personal(e["before"]), "after": _hide_personal(e["after"])} for e in history]
    return {"meter": meter, "installations": reg.installations(meter_id), "commissioning": coms,
            "readouts": readouts, "calibrations": reg.calibration_results(meter_id), "lots": lots,
            "writes": reg.meter_writes(meter_id), "history": history, "personal_hidden": personal_hidden}


def _hide_personal(d):
    from app.storage.integrity import PERSONAL, PERSONAL_COLUMNS

    if not isinstance(d, dict):
        return d
    return {k: (PERSONAL if k in PERSONAL_COLUMNS and v is not None else v) for k, v in d.items()}


# ---- E28: meter records --------------------------------------------------------------------

@dataclass
class E28Row:
    meter_id: int
    site: str
    building: str | None
    location: str | None
    monitoring_point: str | None
    make: str
    type: str
    serial: str
    install_year: int | None
    install_date: str           # as the register writes it (YYYY-MM-DD, or YYYY when only the year is known)
    status: str
    mid_class: int | None
    qp_m3h: float | None
    recalibrated_on: dt.date | None = None   # the latest PASSED recalibration (MMS 1.3.3 evidence)
    recalibration: str = ""     # lab, certificate, verdict of the latest passed recalibration
    failed_recalibration_on: dt.date | None = None  # a failed recalibration since (never evidence)
    failed_recalibration: str = ""
    lot_id: int | None = None
    lot_name: str | None = None
    lot_verdict: str | None = None
    lot_decided_on: dt.date | None = None
    sampled: str = ""           # this meter's own result in the lot (tested, defective, inaccessible)
    due_state: str | None = None
    due_date: dt.date | None = None
    due_reason: str | None = None
    #: SHA-256 of the stored record the evidence column cites (the recalibration, else the lot's verdict):
    #: ``heatmeter db verify`` checks that it still holds
    evidence_hash: str = ""
    flags: tuple[str, ...] = ()
    commissioned_on: dt.date | None = None   # the latest signed commissioning record (MMS 1.2.8, E28)
    commissioned_by: str | None = None
    commissioning_verdict: str | None = None
    battery_replaced_on: dt.date | None = None
    replaced_by: str | None = None

    @property
    def commissioning(self) -> str:
        if self.commissioned_on is None and not self.commissioned_by:
            return "none recorded"
        parts = [self.commissioned_on.isoformat() if self.commissioned_on else "date not recorded",
                 self.commissioned_by or "technician not recorded"]
        if self.commissioning_verdict:
            parts.append(self.commissioning_verdict.replace("_", " "))
        return ", ".join(parts)

    @property
    def evidence(self) -> str:
        """One line: what shows the meter may stay in service (MMS 1.3.3); a failed recalibration is shown as
        failed and is never evidence."""
        parts = []
        if self.failed_recalibration_on:
            parts.append(f"recalibration FAILED {self.failed_recalibration_on.isoformat()}"
                         + (f" ({self.failed_recalibration})" if self.failed_recalibration else "")
                         + ": to be replaced")
        if self.recalibrated_on:
            parts.append(f"recalibrated {self.recalibrated_on.isoformat()}"
                         + (f" ({self.recalibration})" if self.recalibration else ""))
        if self.lot_id is not None:
            if self.lot_verdict:
                parts.append(f"lot {self.lot_id} {self.lot_verdict} {self.lot_decided_on.isoformat()}"
                             if self.lot_decided_on else f"lot {self.lot_id} {self.lot_verdict}")
                if self.lot_verdict == "pass" and self.sampled.endswith("defective"):
                    parts[-1] += " but this meter was found defective: to be replaced (MMS 1.3.5)"
            else:
                parts.append(f"lot {self.lot_id} awaiting verdict")
        if not parts:
            return "none recorded"
        return "; ".join(parts)


E28_COLUMNS = ("site", "building", "location", "monitoring_point", "make", "type", "serial", "install_year",
               "install_date", "status", "mid_class", "qp_m3h", "commissioned_on", "commissioned_by",
               "commissioning_verdict", "recalibrated_on", "recalibration", "failed_recalibration_on",
               "failed_recalibration", "lot_id", "lot_name", "lot_verdict", "lot_decided_on", "sampled",
               "battery_replaced_on", "replaced_by", "due_state", "due_date", "due_reason", "flags", "evidence",
               "evidence_hash")


# ---- E27: sizing ---------------------------------------------------------------------------

@dataclass
class E27Row:
    meter_id: int
    make: str
    type: str
    serial: str
    monitoring_point: str | None
    location: str | None
    status: str                   # sized | no_design_load | invalid_design_data
    inputs: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)      # ``heatmeter calc sizing`` JSON, built-in catalogue
    installed: dict[str, Any] = field(default_factory=dict)   # ``heatmeter calc sizing`` JSON, the installed meter only
    installed_verdict: str = ""   # covers_range | q_max_above_qp | q_min_below_qi | ... | no_size_recorded
    note: str = ""

    @property
    def chosen(self) -> str:
        c = (self.result or {}).get("chosen")
        if not c:
            fb = (self.result or {}).get("fallback_qp_m3h")
            return "none" + (f" (smallest qp ≥ q_max: {fb:g})" if fb else "")
        return f"qp {c['qp_m3h']:g} m³/h, qp/qi {c['ratio']:g}, DN {c['dn']}"


E27_COLUMNS = ("make", "type", "serial", "monitoring_point", "location", "status", "design_power_kw",
               "min_power_kw", "flow_temp_c", "return_temp_c", "meter_position", "application", "q_max_m3h",
               "q_min_m3h", "turndown_needed", "chosen_qp_m3h", "chosen_ratio", "chosen_dn", "installed_qp_m3h",
               "installed_qi_m3h", "installed_verdict", "note")
#: Columns of the E27/E28 tables that hold numbers (written as numbers, never neutralised as text).
NUMERIC_REPORT_COLUMNS = ("mid_class", "qp_m3h", "install_year", "lot_id", "design_power_kw", "min_power_kw",
                          "flow_temp_c", "return_temp_c", "q_max_m3h", "q_min_m3h", "turndown_needed",
                          "chosen_qp_m3h", "chosen_ratio", "chosen_dn", "installed_qp_m3h", "installed_qi_m3h")


def design_inputs(m: MeterRecord) -> tuple[dict[str, Any] | None, str]:
    """The ``heatmeter calc sizing`` JSON input from a meter's stored design data, or (None, why not)."""
    extra = {k.strip().lower(): v for k, v in (m.extra or {}).items()}
    if not any(k in extra for k in DESIGN_REQUIRED):
        return None, "no design load stored"
    missing = [k for k in DESIGN_REQUIRED if str(extra.get(k, "")).strip() == ""]
    if missing:
        return None, f"design data incomplete: no {', '.join(missing)}"
    d: dict[str, Any] = {}
    for k in DESIGN_REQUIRED + DESIGN_OPTIONAL:
        v = str(extra.get(k, "")).strip().replace(",", ".")
        if v == "":
            continue
        try:
            d[k] = float(v)
        except ValueError:
            return None, f"design data: {k} {extra[k]!r} is not a number"
    if "pipe_dn" in d:
        d["pipe_dn"] = int(d["pipe_dn"])
    d["application"] = str(extra.get("application") or "heating").strip().lower()
    pos = str(extra.get("meter_position") or m.flow_sensor_position or "").strip().lower()
    if not pos:
        return None, "design data: the flow sensor position (flow/return) is not recorded"
    d["meter_position"] = pos
    return d, ""


def size_meter_row(m: MeterRecord) -> E27Row:
    """E27 for one meter: the catalogue's choice for its design flows, and the installed meter checked."""
    from app.core import calcjson
    from app.core.errors import InputError

    row = E27Row(m.id, m.manufacturer, m.model, m.serial, m.monitoring_point, m.location, "no_design_load")
    inputs, why = design_inputs(m)
    if inputs is None:
        row.note = why
        if why != "no design load stored":
            row.status = "invalid_design_data"
        return row
    row.inputs = inputs
    try:
        row.result = calcjson.run("sizing", inputs)
    except InputError as exc:
        row.status, row.note = "invalid_design_data", f"{exc}"
        return row
    row.status = "sized"
    qi = m.qi_effective_m3h
    if m.qp_m3h and qi:
        ratio = m.qp_m3h / qi
        entry = {"qp_m3h": m.qp_m3h, "ratio": ratio, "dn": m.dn or 1}
        try:
            row.installed = calcjson.run("sizing", {**inputs, "catalogue": [entry]})
        except InputError as exc:
            row.installed_verdict, row.note = "not_checked", f"installed meter not checked: {exc}"
            return row
        if row.installed.get("chosen"):
            row.installed_verdict = "covers_range"
        else:
            rej = row.installed.get("rejected_smaller") or [{}]
            row.installed_verdict = "+".join(rej[0].get("reasons") or ["does_not_cover"])
    else:
        row.installed_verdict = "no_size_recorded"
        row.note = "the register has no qp/qi of the installed meter"
    return row


# ---- the pack ----------------------------------------------------------------------------

@dataclass
class EvidencePack:
    site: str                      # what the pack covers: a site, "a, b" or "estate (N sites)"
    as_of: dt.date
    created_at: dt.datetime
    e28: list[E28Row]
    e27: list[E27Row]
    restricted_left_out: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    #: (event id, SHA-256) of the end of the register's event chain when the pack was made
    chain_end: tuple[int, str] | None = None
    sites: list[str] = field(default_factory=list)

    @property
    def sized(self) -> list[E27Row]:
        return [r for r in self.e27 if r.status == "sized"]

    @property
    def not_sized(self) -> list[E27Row]:
        return [r for r in self.e27 if r.status != "sized"]


def evidence_pack(reg: Register, site: str | Sequence[str] | None, *, as_of: dt.date | None = None,
                  include_restricted: bool = False, due_map: dict | None = None) -> EvidencePack:
    """The HNTAS E27/E28 evidence of every meter at ``site``: one site, several (a list), or the whole estate
    (None). Restricted meters (MMS 2.2.5) are left out unless asked; removed meters are listed with their
    replacement (their records are kept for the meter's lifetime, MMS 1.3.2)."""
    from app.storage.browse import due_states
    from app.storage.errors import ValidationError

    as_of = as_of or dt.date.today()
    known = [s["name"] for s in reg.list_sites()]
    if site is None:
        sites = known
        label = f"estate ({len(sites)} site{'' if len(sites) == 1 else 's'})"
    else:
        sites = [site] if isinstance(site, str) else list(dict.fromkeys(site))
        missing = [s for s in sites if s not in known]
        if missing:
            raise ValidationError(f"no site {missing[0]!r} in the register")
        label = ", ".join(sites)
    wanted = set(sites)
    meters = [m for m in reg.list_meters(include_restricted=True) if m.site in wanted] if site is None or \
        len(sites) > 1 else reg.list_meters(site=sites[0], include_restricted=True)
    meters.sort(key=lambda m: (m.site, m.manufacturer.casefold(), m.serial))
    left_out = sum(1 for m in meters if m.restrict_processing) if not include_restricted else 0
    if not include_restricted:
        meters = [m for m in meters if not m.restrict_processing]
    ids = {m.id for m in meters}
    recal = _latest_recalibrations(reg, ids)
    lots = _latest_lots(reg, ids)
    coms = _latest_commissioning(reg, ids)
    if due_map is None:
        due_map = due_states(reg, as_of)
    e28: list[E28Row] = []
    for m in meters:
        r = E28Row(m.id, m.site, m.building, m.location, m.monitoring_point, m.manufacturer, m.model, m.serial,
                   m.install_date.year if m.install_date else None,
                   m.install_date.isoformat()[:4] if m.install_year_only and m.install_date else
                   (m.install_date.isoformat() if m.install_date else ""), m.status, m.mid_class, m.qp_m3h)
        c = recal.get(m.id) or {}
        ok, bad = c.get("pass"), c.get("fail")
        if ok:
            r.evidence_hash = ok["content_hash"] or ""
            r.recalibrated_on = ok["tested_on"]
            r.recalibration = ", ".join(x for x in (ok["lab"], ok["certificate"], "verdict pass") if x)
        if bad and (ok is None or (bad["tested_on"], bad["id"]) > (ok["tested_on"], ok["id"])):
            r.failed_recalibration_on = bad["tested_on"]
            r.failed_recalibration = ", ".join(x for x in (bad["lab"], bad["certificate"], "verdict fail") if x)
        lot = lots.get(m.id)
        if lot:
            r.lot_id, r.lot_name = lot["lot_id"], lot["name"]
            r.lot_verdict, r.lot_decided_on = lot["verdict"], lot["decided_on"]
            r.sampled = lot["sampled"]
            r.evidence_hash = r.evidence_hash or lot["verdict_hash"] or ""
        com = coms.get(m.id)
        if com:
            r.commissioned_on, r.commissioned_by, r.commissioning_verdict = com
        r.battery_replaced_on = m.battery_replaced_on
        info = due_map.get(m.id)
        if info:
            r.due_state, r.due_date, r.due_reason = info.state, info.due_date, info.reason
            r.flags = tuple(getattr(info, "flags", ()) or ())
        elif m.mid_class is not None and m.mid_class > 2:
            r.flags = ("class_below_2",)
        e28.append(r)
    _replacements(reg, e28)
    e27 = [size_meter_row(m) for m in meters]
    counts = {"meters": len(meters), "recalibrated": sum(1 for r in e28 if r.recalibrated_on and not
                                                         r.failed_recalibration_on),
              "failed_recalibration": sum(1 for r in e28 if r.failed_recalibration_on),
              "in_lots": sum(1 for r in e28 if r.lot_id is not None),
              "lots_passed": sum(1 for r in e28 if r.lot_verdict == "pass" and not r.sampled.endswith("defective")),
              "no_evidence": sum(1 for r in e28 if r.evidence == "none recorded"),
              "commissioned": sum(1 for r in e28 if r.commissioned_on or r.commissioned_by),
              "class_below_2": sum(1 for r in e28 if "class_below_2" in r.flags),
              "overdue": sum(1 for r in e28 if r.due_state == "overdue"),
              "sized": sum(1 for r in e27 if r.status == "sized"),
              "no_design_load": sum(1 for r in e27 if r.status == "no_design_load"),
              "invalid_design_data": sum(1 for r in e27 if r.status == "invalid_design_data")}
    return EvidencePack(site=label, as_of=as_of, created_at=dt.datetime.now().replace(microsecond=0), e28=e28,
                        e27=e27, restricted_left_out=left_out, counts=counts, sites=sites,
                        chain_end=reg.chain_end())


def _chunks(ids: set[int], n: int = 5000):
    lst = sorted(ids)
    for i in range(0, len(lst), n):
        yield lst[i:i + n]


def _latest_recalibrations(reg: Register, ids: set[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """Per meter: its latest passed and its latest failed calibration outside a sampling lot (recalibrations)."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    with reg.reading() as conn:
        for chunk in _chunks(ids):
            q = (select(CAL.c.id, CAL.c.meter_id, CAL.c.tested_on, CAL.c.lab, CAL.c.certificate,
                        CAL.c.initial_verdict, CAL.c.in_service_verdict, CAL.c.content_hash)
                 .where(CAL.c.meter_id.in_(chunk), CAL.c.lot_id.is_(None)).order_by(CAL.c.tested_on, CAL.c.id))
            for r in conn.execute(q):
                verdict = r.initial_verdict or r.in_service_verdict
                if verdict in ("pass", "fail"):
                    out.setdefault(r.meter_id, {})[verdict] = {
                        "id": r.id, "tested_on": r.tested_on, "lab": r.lab, "certificate": r.certificate,
                        "content_hash": r.content_hash}
    return out


def _latest_commissioning(reg: Register, ids: set[int]) -> dict[int, tuple]:
    """Per meter: (date, technician, verdict) of its latest signed commissioning record (else its latest draft)."""
    from app.core.commissioning.verdict import overall_verdict

    out: dict[int, tuple] = {}
    with reg.reading() as conn:
        for chunk in _chunks(ids):
            q = (select(COM.c.meter_id, COM.c.commissioned_on, COM.c.technician, COM.c.signed_by, COM.c.status,
                        COM.c.checklist, COM.c.plausibility)
                 .where(COM.c.meter_id.in_(chunk)).order_by(COM.c.status.desc(), COM.c.id))
            for r in conn.execute(q):
                if r.meter_id in out and out[r.meter_id][3] == "signed" and r.status != "signed":
                    continue
                plaus = r.plausibility or {}
                checks = plaus.get("checks") if isinstance(plaus, dict) else None
                verdict = plaus.get("verdict") if isinstance(plaus, dict) else None
                if verdict is None and isinstance(checks, list):
                    verdict = overall_verdict(r.checklist or {}, checks)
                if r.status != "signed":
                    verdict = f"draft{', ' + verdict if verdict else ''}"
                out[r.meter_id] = (r.commissioned_on, r.technician or r.signed_by, verdict, r.status)
    return {k: v[:3] for k, v in out.items()}


def _replacements(reg: Register, rows: list[E28Row]) -> None:
    """Name the meter that replaced each removed meter of the pack."""
    removed = {r.meter_id: r for r in rows if r.status != "in_service"}
    if not removed:
        return
    with reg.reading() as conn:
        for chunk in _chunks(set(removed)):
            q = (select(INST.c.meter_id, M.c.manufacturer, M.c.serial, INST.c.removed_on)
                 .select_from(INST.join(M, M.c.id == INST.c.replaced_by_meter_id))
                 .where(INST.c.meter_id.in_(chunk)).order_by(INST.c.id))
            for r in conn.execute(q):
                removed[r.meter_id].replaced_by = f"{r.manufacturer} {r.serial} on {r.removed_on.isoformat()}" \
                    if r.removed_on else f"{r.manufacturer} {r.serial}"


def _latest_lots(reg: Register, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Per meter: its newest sampling lot, that lot's latest verdict, and its own result."""
    with reg.reading() as conn:
        members = []
        for chunk in _chunks(ids):
            members += conn.execute(
                select(LOTM.c.meter_id, LOT.c.id, LOT.c.name, LOT.c.status)
                .select_from(LOTM.join(LOT, LOT.c.id == LOTM.c.lot_id))
                .where(LOTM.c.meter_id.in_(chunk)).order_by(LOT.c.id)).all()
        members.sort(key=lambda r: r.id)
        lot_ids = sorted({r.id for r in members})
        verdicts: dict[int, tuple] = {}
        results: dict[tuple[int, int], tuple] = {}
        if lot_ids:
            for v in conn.execute(select(LOTV.c.lot_id, LOTV.c.verdict, LOTV.c.decided_on, LOTV.c.content_hash)
                                  .where(LOTV.c.lot_id.in_(lot_ids)).order_by(LOTV.c.id)):
                verdicts[v.lot_id] = (v.verdict, v.decided_on, v.content_hash)
            for r in conn.execute(select(LOTR.c.lot_id, LOTR.c.meter_id, LOTR.c.defective, LOTR.c.inaccessible,
                                         LOTR.c.error_pct, LOTR.c.tested_on).where(LOTR.c.lot_id.in_(lot_ids))):
                results[(r.lot_id, r.meter_id)] = (r.defective, r.inaccessible, r.error_pct, r.tested_on)
    out: dict[int, dict[str, Any]] = {}
    for r in members:
        verdict, on, vhash = verdicts.get(r.id, (None, None, None))
        res = results.get((r.id, r.meter_id))
        sampled = ""
        if res is not None:
            defective, inaccessible, err, tested = res
            sampled = ("inaccessible" if inaccessible else
                       f"tested{' ' + tested.isoformat() if tested else ''}: "
                       + (f"{err:+.2f} % " if err is not None else "") + ("defective" if defective else "good"))
        out[r.meter_id] = {"lot_id": r.id, "name": r.name, "verdict": verdict, "decided_on": on, "sampled": sampled,
                           "verdict_hash": vhash}
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    v = jsonable(v)
    return str(v)


def e28_table(pack: EvidencePack) -> tuple[list[str], list[list[str]]]:
    rows = []
    for r in pack.e28:
        rows.append([_cell(r.evidence if c == "evidence" else "; ".join(r.flags) if c == "flags" else
                           getattr(r, c)) for c in E28_COLUMNS])
    return list(E28_COLUMNS), rows


def e27_table(pack: EvidencePack) -> tuple[list[str], list[list[str]]]:
    rows = []
    for r in pack.e27:
        i, res, ins = r.inputs, r.result, r.installed
        chosen = res.get("chosen") or {}
        inst = (ins.get("chosen") or (ins.get("rejected_smaller") or [{}])[0]) if ins else {}
        vals = {"make": r.make, "type": r.type, "serial": r.serial, "monitoring_point": r.monitoring_point,
                "location": r.location, "status": r.status, "installed_verdict": r.installed_verdict,
                "note": r.note, "q_max_m3h": res.get("q_max_m3h"), "q_min_m3h": res.get("q_min_m3h"),
                "turndown_needed": res.get("turndown_needed"), "chosen_qp_m3h": chosen.get("qp_m3h"),
                "chosen_ratio": chosen.get("ratio"), "chosen_dn": chosen.get("dn"),
                "installed_qp_m3h": inst.get("qp_m3h"),
                "installed_qi_m3h": (inst["qp_m3h"] / inst["ratio"]) if inst.get("qp_m3h") and inst.get("ratio")
                else None}
        for k in ("design_power_kw", "min_power_kw", "flow_temp_c", "return_temp_c", "meter_position", "application"):
            vals[k] = i.get(k)
        rows.append([_cell(vals.get(c)) for c in E27_COLUMNS])
    return list(E27_COLUMNS), rows


def write_csv(path_or_stream, header: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """A CSV file (UTF-8 with BOM, for spreadsheets; written atomically) or an open text stream,
    with no live formula in any cell (``safe_export``)."""
    return safe_export.write_csv(path_or_stream, header, rows, bom=not hasattr(path_or_stream, "write"),
                                 numeric=NUMERIC_REPORT_COLUMNS)


# ---- data protection ---------------------------------------------------------------------

@dataclass
class PersonalData:
    header: list[str]
    rows: list[list[str]]
    info: dict[str, Any]
    meter_ids: list[int] | None
    site: str | None
    date_from: dt.date | None
    date_to: dt.date | None


def personal_data_rows(reg: Register, *, meter_ids: Sequence[int] | None = None, site: str | None = None,
                       date_from: dt.date | None = None, date_to: dt.date | None = None,
                       fields: Sequence[str] | None = None, include_restricted: bool = False) -> PersonalData:
    """The register's data-protection CSV (``Register.export_personal_data``), as rows."""
    buf = io.StringIO()
    info = reg.export_personal_data(buf, meter_ids=list(meter_ids) if meter_ids is not None else None, site=site,
                                    date_from=date_from, date_to=date_to, fields=fields,
                                    include_restricted=include_restricted)
    buf.seek(0)
    rows = [[safe_export.restore(c) for c in r] for r in csv.reader(buf)]  # shown as the texts they are
    return PersonalData(header=rows[0] if rows else [], rows=rows[1:], info=info,
                        meter_ids=list(meter_ids) if meter_ids is not None else None, site=site,
                        date_from=date_from, date_to=date_to)
