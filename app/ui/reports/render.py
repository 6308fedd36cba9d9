"""PDF documents of the register: HNTAS evidence pack, personal data export, commissioning record.

Each takes the plain data of :mod:`app.storage.reports` and writes an A4 PDF
with :func:`app.ui.pdf.write_pdf` (text stays text). Safe to call from a
worker thread (QTextDocument and QPdfWriter, no widgets).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from app import __version__
from app.storage.reports import EvidencePack, PersonalData
from app.ui.pdf import esc, table, write_pdf

_DUE = {"in_service": "in service", "sampling_due": "sampling due", "recalibrate_or_replace_due":
        "recalibrate/replace due", "battery_due": "battery due", "overdue": "OVERDUE"}


def _d(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ", timespec="minutes")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _footer(what: str) -> str:
    return (f'<p class="muted">{esc(what)} Made with heatmeter {esc(__version__)} on '
            f'{esc(dt.datetime.now().strftime("%Y-%m-%d %H:%M"))} from the meter register.</p>')


def evidence_pdf(path: str, pack: EvidencePack) -> None:
    """HNTAS evidence pack of one site: E28 meter records, then E27 sizing calculations."""
    c = pack.counts
    html = [f"<h1>HNTAS evidence pack — {esc(pack.site)}</h1>",
            f"<p>Evidence items SS-M4-E28 (thermal energy meter records) and SS-M4-E27 (meter sizing calculations). "
            f"Schedule state as of {esc(pack.as_of.isoformat())} (MMS 1.3.3: recalibrate or replace at 10 years, "
            f"or keep to 14/18 years after a passed sampling lot at 9/13 years).</p>",
            table(["meters", "recalibrated", "in a sampling lot", "lot passed", "no evidence recorded", "overdue",
                   "sized (E27)", "no design load"],
                  [[c["meters"], c["recalibrated"], c["in_lots"], c["lots_passed"], c["no_evidence"], c["overdue"],
                    c["sized"], c["no_design_load"]]])]
    if pack.restricted_left_out:
        html.append(f"<p class='muted'>{pack.restricted_left_out} meter(s) under restricted processing (MMS 2.2.5) "
                    "are left out of this pack.</p>")
    html.append("<h2>E28 — Thermal energy meter records</h2>")
    html.append("<p>Make, type, serial number and year of install of every meter (MMS 1.2.8), with the recalibration "
                "date or the evidence of sampling and testing (MMS 1.3.3–1.3.5).</p>")
    rows = []
    for r in pack.e28:
        due = _DUE.get(r.due_state or "", "not scheduled") + (f" {r.due_date.isoformat()}" if r.due_date else "")
        rows.append([r.make, r.type, r.serial, r.install_year or "", r.monitoring_point or "",
                     r.location or "", r.status.replace("_", " "), r.evidence, due])
    html.append(table(["Make", "Type", "Serial", "Year of install", "Point", "Location", "Status",
                       "Recalibration / sampling evidence", "Schedule"], rows))
    html.append("<h2>E27 — Meter sizing calculations</h2>")
    html.append("<p>Method (MMS 1.1.7): flow at the meter q = P·3600/(k·Δθ), k from IAPWS-IF97 at 1.6 MPa for the "
                "design and minimum loads; the smallest catalogue meter whose qp covers q_max and whose qi = qp/ratio "
                "is at most q_min is chosen (heatmeter calc sizing); the installed meter is checked against the same "
                "flows. Inputs are the design data stored with each meter in the register.</p>")
    sized = pack.sized
    if sized:
        rows = []
        for r in sized:
            i, res = r.inputs, r.result
            rows.append([f"{r.make} {r.serial}", r.monitoring_point or "",
                         f"{_d(i.get('design_power_kw'))} / {_d(i.get('min_power_kw'))}",
                         f"{_d(i.get('flow_temp_c'))}/{_d(i.get('return_temp_c'))} °C, {i.get('meter_position')}",
                         f"{res['q_max_m3h']:.3f} / {res['q_min_m3h']:.4f}", f"{res['turndown_needed']:.1f}",
                         r.chosen, _installed(r)])
        html.append(table(["Meter", "Point", "Design / min load kW", "Temperatures, sensor in",
                           "q_max / q_min m³/h", "Turndown", "Catalogue choice", "Installed meter"], rows))
    else:
        html.append("<p><b>No meter of this site has a design load stored: no sizing calculation can be shown.</b></p>")
    n_no = pack.counts["no_design_load"]
    bad = [r for r in pack.e27 if r.status == "invalid_design_data"]
    if n_no:
        html.append(f"<p>{n_no} meter(s) have no design load stored in the register and are not sized here (no load "
                    "is assumed). Add the columns design_power_kw, min_power_kw, flow_temp_c and return_temp_c "
                    "(optionally pipe_dn, max_dp_bar, application, meter_position) to the register import to include "
                    "them; the CSV of E27 lists each meter.</p>")
    if bad:
        html.append("<p>Design data that could not be used:</p>")
        html.append(table(["Meter", "Why"], [[f"{r.make} {r.serial}", r.note] for r in bad]))
    html.append(_integrity(pack))
    html.append(_footer(f"Site {pack.site}."))
    write_pdf(path, "".join(html), title=f"HNTAS evidence pack {pack.site}", landscape=True)


def _integrity(pack: EvidencePack) -> str:
    """The hashes that let this pack be checked against the register later (``heatmeter db verify``)."""
    out = ["<h2>Integrity</h2>"]
    if pack.chain_end:
        out.append(f"<p>The register's event chain ended at event {pack.chain_end[0]} with SHA-256 "
                   f"<span class='mono'>{esc(pack.chain_end[1])}</span> when this pack was made. Every record cited "
                   "below is stored with the SHA-256 of its content, anchored in that chain; "
                   "<i>heatmeter db verify</i> recomputes them.</p>")
    rows = [[f"{r.make} {r.serial}", r.evidence, r.evidence_hash] for r in pack.e28 if r.evidence_hash]
    if rows:
        out.append(table(["Meter", "Evidence", "SHA-256 of the stored record"], rows, widths=["20%", "35%", "45%"]))
    return "".join(out)


def _installed(r) -> str:
    ins = r.installed or {}
    entry = ins.get("chosen") or (ins.get("rejected_smaller") or [{}])[0]
    words = {"covers_range": "covers q_min..q_max", "q_max_above_qp": "too small: q_max above qp",
             "q_min_below_qi": "oversized: q_min below qi", "q_max_above_qp+q_min_below_qi":
             "q_max above qp and q_min below qi", "no_size_recorded": "no qp/qi recorded"}
    head = f"qp {entry['qp_m3h']:g}, qi {entry['qp_m3h'] / entry['ratio']:.3g}: " if entry.get("qp_m3h") else ""
    return head + words.get(r.installed_verdict, r.installed_verdict.replace("_", " "))


def personal_pdf(path: str, data: PersonalData) -> None:
    """The data-protection export (MMS 2.2.1/2.2.2) as a readable document."""
    who = (f"meter id(s) {', '.join(map(str, data.meter_ids))}" if data.meter_ids else f"site {data.site}")
    span = f"{_d(data.date_from) or 'the first readout'} to {_d(data.date_to) or 'today'}"
    html = [f"<h1>Personal data held — {esc(who)}</h1>",
            f"<p>Copy of the data held (MMS 2.2.1) for {esc(who)}, readouts from {esc(span)}; fields chosen: "
            f"{esc(', '.join(data.header))} (MMS 2.2.2). {data.info['rows']} row(s), {data.info['meters']} meter(s).</p>"]
    if data.info.get("restricted_left_out"):
        html.append(f"<p class='muted'>{len(data.info['restricted_left_out'])} meter(s) under restricted processing "
                    "left out.</p>")
    html.append(table(data.header, data.rows))
    html.append(_footer("Data-protection export."))
    write_pdf(path, "".join(html), title="Personal data export", landscape=len(data.header) > 7)


def commissioning_pdf(path: str, meter, record: dict[str, Any]) -> None:
    """A commissioning record re-rendered from the register, with its evidence (raw telegrams, decode)."""
    m = meter
    html = [f"<h1>Commissioning record #{record['id']}</h1>",
            f"<p>Meter {esc(m.manufacturer)} {esc(m.model)}, serial <b>{esc(m.serial)}</b>, at {esc(m.site)}"
            f"{', ' + esc(m.location) if m.location else ''} (monitoring point {esc(m.monitoring_point or '—')}). "
            f"MID class {esc(_d(m.mid_class))}, qp {esc(_d(m.qp_m3h))} m³/h, DN {esc(_d(m.dn))}, "
            f"secondary address {esc(m.secondary_address or '—')}.</p>",
            table(["Commissioned on", "Technician", "Status", "Signed by", "Signed at (UTC)"],
                  [[_d(record.get("commissioned_on")), record.get("technician") or "", record["status"],
                    record.get("signed_by") or "", _d(record.get("signed_at"))]]),
            (f"<p>SHA-256 of the signed record: <span class='mono'>{esc(record['content_hash'])}</span> "
             "(<i>heatmeter db verify</i> checks it).</p>" if record.get("content_hash") else ""),
            "<h2>Checklist</h2>",
            table(["Item", "Answer", "Note"], [[k.replace("_", " "), (a or {}).get("answer") or "",
                                                (a or {}).get("note") or ""]
                                               for k, a in (record.get("checklist") or {}).items()])]
    plaus = record.get("plausibility") or {}
    if plaus:
        html.append("<h2>Plausibility</h2>")
        html.append(table(["Check", "Value"], [[k.replace("_", " "), _d(v)] for k, v in plaus.items()]))
    if record.get("notes"):
        html.append(f"<p>Notes: {esc(record['notes'])}</p>")
    html.append("<h2>Evidence: readouts</h2>")
    if not record.get("readouts"):
        html.append("<p>No readout was kept with this record.</p>")
    for r in record.get("readouts", []):
        html.append(f"<p>Readout {r['id']} at {esc(_d(r.get('read_at')))} UTC by {esc(r.get('read_by') or '')} "
                    f"({esc(r.get('transport') or '')} {esc(r.get('port') or '')}, {esc(_d(r.get('baud')))} Bd, "
                    f"primary address {esc(_d(r.get('primary_address')))})"
                    + (f"; SHA-256 <span class='mono'>{esc(r['content_hash'])}</span>" if r.get("content_hash")
                       else "") + ".</p>")
        for n, f in enumerate(r.get("frames") or []):
            hexes = " ".join(f"{b:02X}" for b in f)
            html.append(f'<p class="mono">Telegram {n + 1}, {len(f)} bytes: {esc(hexes)}</p>')
        recs = [[x.get("quantity"), _d(x.get("value")), x.get("unit"), x.get("storage"), x.get("tariff"),
                 x.get("function")] for tel in r.get("decoded") or [] for x in tel.get("records", [])]
        html.append(table(["Quantity", "Value", "Unit", "Storage", "Tariff", "Function"], recs))
    html.append(_footer("Re-rendered from the register; the raw telegrams are the stored bytes."))
    write_pdf(path, "".join(html), title=f"Commissioning record {m.manufacturer} {m.serial}")


__all__ = ["evidence_pdf", "personal_pdf", "commissioning_pdf"]
