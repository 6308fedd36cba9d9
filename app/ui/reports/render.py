"""PDF documents of the register: HNTAS evidence pack, personal data export, commissioning record.

Each takes the plain data of :mod:`app.storage.reports` and writes an A4 PDF
with :func:`app.ui.pdf.write_pdf` (text stays text). Safe to call from a
worker thread (QTextDocument and QPdfWriter, no widgets).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from app import __version__
from app.core.schedule_rules import FLAG_WORDS
from app.core.sizing import turndown_text
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


_FLAG_WORDS = {**FLAG_WORDS, "class_below_2": "class 3 (below MID class 2, MMS 1.1.2)"}


def _schedule_cell(r) -> str:
    due = _DUE.get(r.due_state or "", "not scheduled") + (f" {r.due_date.isoformat()}" if r.due_date else "")
    flags = "; ".join(_FLAG_WORDS.get(f, f) for f in r.flags)
    return due + (f" — {flags}" if flags else "")


def evidence_pdf(path: str, pack: EvidencePack) -> None:
    """HNTAS evidence pack of one site, several or the estate: E28 meter records (per site), then E27 sizing.

    Tables are laid out row by row (``app.ui.pdf_tables``): a row never splits across pages, cells never run
    together in the PDF's text."""
    from app.ui.pdf_tables import Heading, Paragraph, Table, write_document

    c = pack.counts
    blocks: list = [
        Heading(f"HNTAS evidence pack — {pack.site}"),
        Paragraph("Evidence items SS-M4-E28 (thermal energy meter records) and SS-M4-E27 (meter sizing "
                  f"calculations). Schedule state as of {pack.as_of.isoformat()} (MMS 1.3.3: recalibrate or replace at "
                  "10 years, or keep to 14/18 years after a passed sampling lot at 9/13 years). A failed "
                  "recalibration is shown as failed and never counts as a recalibration."),
        Table(["meters", "commissioning recorded", "recalibrated (passed)", "recalibration failed",
               "in a sampling lot", "lot passed", "no evidence recorded", "class 3", "overdue", "sized (E27)",
               "no design load"],
              [[c["meters"], c["commissioned"], c["recalibrated"], c["failed_recalibration"], c["in_lots"],
                c["lots_passed"], c["no_evidence"], c["class_below_2"], c["overdue"], c["sized"],
                c["no_design_load"]]])]
    if pack.restricted_left_out:
        blocks.append(Paragraph(f"{pack.restricted_left_out} meter(s) under restricted processing (MMS 2.2.5) are "
                                "left out of this pack.", muted=True))
    blocks.append(Heading("E28 — Thermal energy meter records", 2))
    blocks.append(Paragraph("Make, type, serial number and year of install of every meter (MMS 1.2.8), its "
                            "commissioning record (date, technician, verdict), and the recalibration date or the "
                            "evidence of sampling and testing (MMS 1.3.3–1.3.5)."))
    by_site: dict[str, list] = {}
    for r in pack.e28:
        by_site.setdefault(r.site, []).append(r)
    for site, rows in by_site.items():
        if len(by_site) > 1:
            blocks.append(Heading(f"{site} — {len(rows)} meter(s)", 2))
        blocks.append(Table(
            ["Make", "Type", "Serial", "Year of install", "Point / location", "Status", "Commissioning",
             "Recalibration / sampling evidence", "Schedule"],
            [[r.make, r.type, r.serial, r.install_year or "",
              " / ".join(x for x in (r.monitoring_point, r.location) if x),
              r.status.replace("_", " ") + (f" (replaced by {r.replaced_by})" if r.replaced_by else ""),
              r.commissioning, r.evidence, _schedule_cell(r)] for r in rows],
            widths=[8, 9, 8, 5, 12, 8, 13, 21, 16],
            shade=["#f7d9d9" if (r.failed_recalibration_on or "defective" in r.evidence) else None for r in rows]))
    blocks.append(Heading("E27 — Meter sizing calculations", 2))
    blocks.append(Paragraph("Method (MMS 1.1.7): flow at the meter q = P·3600/(k·Δθ), k from IAPWS-IF97 at 1.6 MPa "
                            "for the design and minimum loads; the smallest catalogue meter whose qp covers q_max and "
                            "whose qi = qp/ratio is at most q_min is chosen (heatmeter calc sizing); the installed "
                            "meter is checked against the same flows. Inputs are the design data stored with each "
                            "meter in the register."))
    sized = pack.sized
    if sized:
        rows = []
        for r in sized:
            i, res = r.inputs, r.result
            rows.append([f"{r.make} {r.serial}", r.monitoring_point or "",
                         f"{_d(i.get('design_power_kw'))} / {_d(i.get('min_power_kw'))}",
                         f"{_d(i.get('flow_temp_c'))}/{_d(i.get('return_temp_c'))} °C, {i.get('meter_position')}",
                         f"{res['q_max_m3h']:.3f} / {res['q_min_m3h']:.4f}", turndown_text(res["turndown_needed"]),
                         r.chosen, _installed(r)])
        blocks.append(Table(["Meter", "Point", "Design / min load kW", "Temperatures, sensor in",
                             "q_max / q_min m³/h", "Turndown", "Catalogue choice", "Installed meter"], rows,
                            widths=[12, 8, 10, 13, 11, 7, 18, 21]))
    else:
        blocks.append(Paragraph("No meter of this pack has a design load stored: no sizing calculation can be "
                                "shown."))
    n_no = c["no_design_load"]
    bad = [r for r in pack.e27 if r.status == "invalid_design_data"]
    if n_no:
        blocks.append(Paragraph(f"{n_no} meter(s) have no design load stored in the register and are not sized here "
                                "(no load is assumed). Add the columns design_power_kw, min_power_kw, flow_temp_c and "
                                "return_temp_c (optionally pipe_dn, max_dp_bar, application, meter_position) to the "
                                "register import to include them; the CSV of E27 lists each meter."))
    if bad:
        blocks.append(Paragraph("Design data that could not be used:"))
        blocks.append(Table(["Meter", "Why"], [[f"{r.make} {r.serial}", r.note] for r in bad], widths=[1, 3]))
    blocks += _integrity(pack)
    footer = (f"HNTAS evidence pack {pack.site}, made with heatmeter {__version__} on "
              f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')} from the meter register")
    write_document(path, blocks, title=f"HNTAS evidence pack {pack.site}", landscape=True, footer=footer)


def jobs_pdf(path: str, data: dict[str, Any]) -> None:
    """A printable job list: one section per site, each job a row with room for the result written by hand."""
    from app.ui.pdf_tables import Heading, Paragraph, Table, write_document

    jobs = data.get("jobs") or []
    sites: dict[str, list] = {}
    for j in jobs:
        sites.setdefault(j.get("site") or "", []).append(j)
    blocks: list = []
    if not jobs:
        blocks += [Heading(data.get("title") or "Job list"), Paragraph("No job.")]
    for k, (site, js) in enumerate(sorted(sites.items())):
        blocks.append(Heading(f"{site or 'No site'} — {len(js)} job(s)", 1, new_page=k > 0))
        blocks.append(Paragraph(f"{data.get('title') or 'Job list'}. Write the date, what was done (recalibrated "
                                "pass/fail, replaced by serial …, battery changed, no access) and any note; the "
                                "office types it into the job list file and imports it (Planner: Import results…, or heatmeter jobs "
                                "import)."))
        blocks.append(Table(
            ["Address / location", "Meter", "What to do", "Due", "Done on", "Result (new serial, verdict, battery "
             "end of life)", "Notes"],
            [[" / ".join(x for x in (j.get("building"), j.get("location"), j.get("monitoring_point")) if x),
              " ".join(str(x) for x in (j.get("manufacturer"), j.get("model"), j.get("serial")) if x)
              + f" (id {j.get('meter_id')})" + (f"; {j['flags']}" if j.get("flags") else ""),
              j.get("what_to_do"), j.get("due_date") or "", "", "", ""] for j in js],
            widths=[14, 15, 19, 7, 8, 20, 17], min_row_mm=14))
    write_document(path, blocks, title=data.get("title") or "Job list", landscape=True,
                   footer=f"{data.get('title') or 'Job list'} — heatmeter {__version__}")


def _integrity(pack: EvidencePack) -> list:
    """The hashes that let this pack be checked against the register later (``heatmeter db verify``)."""
    from app.ui.pdf_tables import Heading, Paragraph, Table

    out: list = [Heading("Integrity", 2)]
    if pack.chain_end:
        out.append(Paragraph(f"The register's event chain ended at event {pack.chain_end[0]} with SHA-256 "
                             f"{pack.chain_end[1]} when this pack was made. Every record cited below is stored with "
                             "the SHA-256 of its content, anchored in that chain; heatmeter db verify recomputes "
                             "them."))
    rows = [[f"{r.make} {r.serial}", r.evidence, r.evidence_hash] for r in pack.e28 if r.evidence_hash]
    if rows:
        out.append(Table(["Meter", "Evidence", "SHA-256 of the stored record"], rows, widths=[2, 3.5, 4.5]))
    return out


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


__all__ = ["evidence_pdf", "jobs_pdf", "personal_pdf", "commissioning_pdf"]
