"""The sampling lot report: PDF (Qt) and CSV.

What it holds: the plan (ISO 2859-1 code letter, sample size n, Ac, Re,
inspection level, AQL, inspection), the lot's key and the rule it was formed
by, its members, the drawn sample with the seed and the spares (and whether
the stored seed reproduces the draw), the results, the verdict with its date
and what it means for each member (MMS 1.3.3-1.3.5), and the OC curve of the
plan with the lot's outcome marked.

``lot_report_data(reg, lot_id)`` reads the register (call it in a worker);
``write_lot_pdf`` and ``write_lot_csv`` write the files. Nothing here needs a
widget, so all of it may run in a worker thread.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from app import __version__
from app.ui.pdf import CONTENT_WIDTH_PX, esc, table, write_pdf

IMAGE_WIDTH_PX = round(CONTENT_WIDTH_PX * 1.2)   # landscape page: the curve a little wider than portrait text

PLAN_LABELS = (("lot_size", "Lot size N"), ("code_letter", "Code letter"), ("plan_letter", "Plan letter"),
               ("sample_size", "Sample size n"), ("acceptance_number", "Ac"), ("rejection_number", "Re"),
               ("level", "Inspection level"), ("aql", "AQL (%)"), ("inspection", "Inspection"))
ACTIONS = {"await_verdict": "awaiting the verdict"}

CSV_COLUMNS = ("lot_id", "lot_name", "purpose", "lot_size", "code_letter", "sample_size", "acceptance_number",
               "rejection_number", "level", "aql", "inspection", "seed", "meter_id", "manufacturer", "serial",
               "site", "install_date", "clock_start", "drawn", "draw_order", "draw_status", "error_pct",
               "limit_pct", "defective", "inaccessible", "tested_on", "verdict", "decided_on", "action",
               "retain_until", "replace_by", "next_sampling")
NUMERIC_CSV_COLUMNS = ("lot_id", "lot_size", "sample_size", "acceptance_number", "rejection_number", "aql", "seed",
                       "meter_id", "draw_order", "error_pct", "limit_pct")


def lot_report_data(reg, lot_id: int) -> dict[str, Any]:
    """Everything the report shows (``show_lot``, the consequences, the OC curve, the observed point)."""
    from app.services.planner import lot_detail

    return lot_detail(reg, lot_id, oc_points=81)


def action_text(m: dict[str, Any]) -> str:
    a = m.get("action") or ""
    if a.startswith("retain_until_"):
        return f"stays in service until {m.get('retain_until') or a[13:].replace('_', ' ')}"
    if a == "replace_defective":
        return f"defective (beyond 2 × MPE): replace by {m.get('replace_by') or 'now'}"
    if a.startswith("recalibrate_or_replace_by_"):
        return f"recalibrate or replace by {m.get('replace_by') or a[26:].replace('_', ' ')}"
    return ACTIONS.get(a, a.replace("_", " "))


def _meter(m: dict[str, Any]) -> str:
    return f"{m.get('manufacturer') or ''} {m.get('serial') or ''}".strip()


def lot_pdf_html(d: dict[str, Any]) -> str:
    plan = d.get("plan") or {}
    key = d.get("key") or {}
    rule = d.get("rule") or {}
    cons = d.get("consequences") or {}
    vr = d.get("verdict_record")
    html = [f"<h1>Sampling lot {esc(d['id'])} — {esc(d['name'])}</h1>",
            f"<p>{esc((d.get('purpose') or '').replace('_', ' '))} (MMS 1.3.3) · formed {esc((d.get('formed_at') or '')[:10])} "
            f"by {esc(d.get('formed_by'))} · status {esc((d.get('status') or '').replace('_', ' '))}</p>"]
    html.append("<h2>Plan (ISO 2859-1, single sampling)</h2>")
    html.append(table([lab for _k, lab in PLAN_LABELS], [[plan.get(k, d.get(k)) for k, _lab in PLAN_LABELS]]))
    html.append("<h2>Lot key and rule</h2>")
    html.append(table(["field", "value"], [[k.replace("_", " "), v] for k, v in key.items()]))
    if rule:
        html.append(f"<p>Formed as of {esc(rule.get('as_of'))}, window {esc(rule.get('window_months'))} months "
                    f"(to {esc(rule.get('window_end'))}); eligibility: {esc(rule.get('eligibility'))}.</p>")
    draw = d.get("draw")
    html.append("<h2>Drawn sample and spares</h2>")
    if draw is None:
        html.append("<p>Not drawn yet.</p>")
    else:
        rep = {True: "yes", False: "NO", None: "cannot be checked"}[draw.get("reproduced")]
        html.append(f"<p>Seed <b>{esc(draw.get('seed'))}</b>; algorithm: <span class='mono'>{esc(draw.get('algorithm'))}"
                    f"</span>; the stored seed and members reproduce this draw: <b>{rep}</b>.</p>")
        excluded = rule.get("draw_excluded") or []
        html.append("<p>To check the draw from this report alone: take the meter ids of the members below as text, "
                    "sort them (character by character), leave out "
                    + (f"the excluded ids {esc(', '.join(map(str, excluded)))} (not in service or restricted "
                       "when drawn)" if excluded else "nothing")
                    + f", and run the algorithm above with seed {esc(draw.get('seed'))}: the first n ids are the "
                    "sample, the next ones the spares, in this order.</p>")
        rows = [[m["order"] + 1, "spare" if m["spare"] else "sample", m["meter_id"], m.get("manufacturer"),
                 m.get("serial"), m.get("site"), m.get("status")] for m in draw["meters"]]
        html.append(table(["#", "drawn as", "meter id", "make", "serial", "site", "status"], rows))
    html.append("<h2>Results</h2>")
    res = d.get("results_list") or []
    if not res:
        html.append("<p>No results recorded.</p>")
    else:
        rows = []
        for r in res:
            verdict = "inaccessible" if r["inaccessible"] else ("DEFECTIVE" if r["defective"] else "within limit")
            rows.append([_meter(r), r.get("site"), r.get("tested_on"),
                         "" if r.get("error_pct") is None else f"{r['error_pct']:+.2f}",
                         "" if r.get("limit_pct") is None else f"±{r['limit_pct']:.2f}", verdict])
        html.append(table(["meter", "site", "tested on", "error %", "in-service limit % (2 × MPE)", "result"], rows))
    html.append("<h2>Verdict (MMS 1.3.5)</h2>")
    if cons:
        v = cons["verdict"]
        cls = {"pass": "pass", "fail": "fail"}.get(v, "")
        decided = vr["decided_on"] if vr else None
        state = f"decided on {esc(decided)} by {esc(vr.get('decided_by'))}" if vr else "not decided yet (so far)"
        html.append(f"<p class='{cls}' style='font-size:14pt'>{esc(v.upper())}: {esc(cons['defectives'])} defective "
                    f"of {esc(cons['tested'])} tested (n = {esc(cons['sample_size'])}, Ac = {esc(cons['acceptance_number'])}, "
                    f"Re = {esc(cons['rejection_number'])}) — {state}</p>")
        html.append(f"<p>What follows: {esc(cons['action'].replace('_', ' '))}.</p>")
    else:
        html.append("<p>No verdict: the lot has not been drawn.</p>")
    html.append("<h2>OC curve of the plan</h2>")
    obs = d.get("observed")
    if obs:
        html.append(f"<p>This lot: {esc(obs['defectives'])}/{esc(obs['tested'])} defective, observed p = "
                    f"{obs['p']:.3g}; probability of acceptance there Pa = {obs['pa_binomial']:.3f} (binomial), "
                    f"{obs['pa_hypergeometric']:.3f} (hypergeometric, D = {esc(obs['defectives_in_lot'])} of "
                    f"N = {esc(d['lot_size'])}).</p>")
    html.append(f'<p><img src="oc" width="{IMAGE_WIDTH_PX}"></p>')
    html.append(f"<h2>Members ({len(d.get('members') or [])}) and what the verdict means for each</h2>")
    by_id = {m["meter_id"]: m for m in (cons.get("members") or [])}
    rows = []
    for m in d.get("members") or []:
        snap = m.get("snapshot") or {}
        c = by_id.get(m["meter_id"], {})
        rows.append([m["meter_id"], m.get("manufacturer"), m.get("serial"), snap.get("model"), m.get("site"),
                     snap.get("install_date"), snap.get("clock_start"), action_text(c) if c else "",
                     c.get("next_sampling") or ""])
    html.append(table(["meter id", "make", "serial", "model", "site", "installed", "clock start", "consequence",
                       "next sampling"], rows,
                      widths=["7%", "9%", "9%", "11%", "17%", "9%", "9%", "19%", "10%"]))
    html.append(f"<p class='muted'>Sampling lot report made with heatmeter {esc(__version__)} on "
                f"{esc(dt.datetime.now().strftime('%Y-%m-%d %H:%M'))} from the meter register.</p>")
    return "".join(html)


def write_lot_pdf(path: str, d: dict[str, Any]) -> None:
    """The lot report as an A4 PDF (text stays text; the OC curve as an image)."""
    from app.ui.planner.charts import oc_image

    plan = {**(d.get("plan") or {}), "lot_size": d["lot_size"]}
    img = oc_image(d.get("oc_curve") or [], plan, d.get("observed"), width=1100, height=560)
    write_pdf(path, lot_pdf_html(d), title=f"Sampling lot {d['id']} — {d['name']}", images={"oc": img},
              landscape=True)


def lot_csv_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per member: the plan, the seed, the member's draw, result, the verdict and its consequence."""
    plan = d.get("plan") or {}
    draw = d.get("draw") or {"meters": [], "seed": None}
    drawn = {m["meter_id"]: m for m in draw["meters"]}
    res = {r["meter_id"]: r for r in d.get("results_list") or []}
    cons = d.get("consequences") or {}
    by_id = {m["meter_id"]: m for m in (cons.get("members") or [])}
    vr = d.get("verdict_record") or {}
    out = []
    for m in d.get("members") or []:
        mid = m["meter_id"]
        snap = m.get("snapshot") or {}
        dm, r, c = drawn.get(mid), res.get(mid, {}), by_id.get(mid, {})
        out.append({
            "lot_id": d["id"], "lot_name": d["name"], "purpose": d.get("purpose"), "lot_size": d["lot_size"],
            "code_letter": plan.get("code_letter"), "sample_size": plan.get("sample_size"),
            "acceptance_number": plan.get("acceptance_number"), "rejection_number": plan.get("rejection_number"),
            "level": plan.get("level"), "aql": plan.get("aql"), "inspection": plan.get("inspection"),
            "seed": draw.get("seed"), "meter_id": mid, "manufacturer": m.get("manufacturer"), "serial": m.get("serial"),
            "site": m.get("site"), "install_date": snap.get("install_date"), "clock_start": snap.get("clock_start"),
            "drawn": "" if dm is None else ("spare" if dm["spare"] else "sample"),
            "draw_order": "" if dm is None else dm["order"] + 1, "draw_status": "" if dm is None else dm["status"],
            "error_pct": r.get("error_pct"), "limit_pct": r.get("limit_pct"), "defective": r.get("defective"),
            "inaccessible": r.get("inaccessible"), "tested_on": r.get("tested_on"),
            "verdict": vr.get("verdict") or (cons.get("verdict") if cons else None), "decided_on": vr.get("decided_on"),
            "action": c.get("action"), "retain_until": c.get("retain_until"), "replace_by": c.get("replace_by"),
            "next_sampling": c.get("next_sampling"),
        })
    return out


def write_lot_csv(path: str, d: dict[str, Any]) -> int:
    """The lot report as CSV (UTF-8 with BOM), one row per member; returns the row count."""
    rows = lot_csv_rows(d)
    from app.storage import safe_export

    return safe_export.write_csv(path, CSV_COLUMNS, ([r.get(k) for k in CSV_COLUMNS] for r in rows), bom=True,
                                 numeric=NUMERIC_CSV_COLUMNS)


def make_lot_report(reg, lot_id: int, path: str, kind: str = "pdf") -> dict[str, Any]:
    """Read the lot and write its report (``kind`` pdf or csv) to ``path``: for a worker task."""
    d = lot_report_data(reg, lot_id)
    if kind == "csv":
        n = write_lot_csv(path, d)
    else:
        write_lot_pdf(path, d)
        n = len(d.get("members") or [])
    return {"path": path, "kind": kind, "lot_id": lot_id, "members": n}
