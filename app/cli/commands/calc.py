"""``heatmeter calc KIND --input FILE [--json]``: the metrology calculators.

KIND: mpe, calibration, sizing, resolution, heat-coefficient, battery, cost-benefit.
FILE is one JSON object ("-" reads stdin); see docs/calc.md,
docs/calc-battery.md and docs/calc-costbenefit.md.
"""
from __future__ import annotations

import argparse
import json
import sys

from app.core.calcjson import KINDS  # the kinds are the contract's: one list
_HELP = {
    "mpe": "maximum permissible errors of a heat meter at one operating point (EN 1434-1 / MID)",
    "calibration": "judge calibration points against the initial and in-service (2 x MPE) limits",
    "sizing": "flows at design and minimum load and the smallest meter that covers both",
    "resolution": "register resolution check (DECC RHI rule: <= 3 % of the minimum output per interval)",
    "heat-coefficient": "heat coefficient k of water (IAPWS-IF97, EN 1434-1)",
    "battery": "expected battery life at the read interval a monitoring point needs (MMS 1.1.8)",
    "cost-benefit": "heat meters against heat cost allocators for a building: EN 15459 global cost, NPV, payback",
}


def register(subparsers) -> None:
    p = subparsers.add_parser("calc", help="metrology calculators (MPE, calibration, sizing, resolution, k, battery, cost-benefit)",
                              description="Metrology calculators. Input: one JSON object; output: JSON with --json.")
    sub = p.add_subparsers(dest="kind", metavar="KIND", parser_class=type(p))
    for kind in KINDS:
        k = sub.add_parser(kind, help=_HELP[kind].replace("%", "%%"), description=_HELP[kind])
        k.add_argument("--input", "-i", required=True, metavar="FILE", help='JSON input object ("-" reads stdin)')
        k.add_argument("--json", action="store_true", help="print the result as one JSON object")
        k.set_defaults(func=run)
    p.set_defaults(func=_no_kind, _parser=p)


def _no_kind(args) -> int:
    args._parser.print_help(sys.stderr)
    return 2


MAX_INPUT_BYTES = 10_000_000  # a calculator's input is a few kB; a catalogue of thousands of meters is < 1 MB


def _read(path: str):
    from app.cli.errors import UserError

    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot open {path}: {exc.strerror or exc}", 2) from None
    if len(data) > MAX_INPUT_BYTES:
        raise UserError(f"{path}: more than {MAX_INPUT_BYTES:,} bytes: not a calculator input", 2)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}): save the JSON input as UTF-8", 2) from None

    def no_constant(name):
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", 2) from None
    except RecursionError:
        raise UserError(f"{path}: not a calculator input: nested too deeply", 2) from None
    except ValueError as exc:  # NaN / Infinity, or an integer of too many digits
        raise UserError(f"{path}: not valid JSON: {' '.join(str(exc).split())[:100]}", 2) from None


def run(args) -> int:
    from app.cli.errors import UserError
    from app.cli.options import print_json
    from app.core.calcjson import run as run_calc
    from app.core.errors import InputError

    data = _read(args.input)
    try:
        result = run_calc(args.kind, data)
    except InputError as exc:
        raise UserError(str(exc), 2) from None
    if args.json:
        print_json(result)
    else:
        sys.stdout.write(human(args.kind, result))
    return 0


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.6g}"
    if v is None:
        return "-"
    if isinstance(v, list):
        return ", ".join(_fmt(x) for x in v) if v else "none"
    return str(v)


def human(kind: str, r: dict) -> str:
    """Readable lines for a terminal."""
    lines: list[str] = []
    if kind == "mpe":
        cap = " (capped)" if r["ef_capped"] else ""
        lines += [f"flow sensor      Ef = ±{r['ef']:.3f} %{cap}",
                  f"temperature pair Et = ±{r['et']:.3f} %",
                  f"calculator       Ec = ±{r['ec']:.3f} %",
                  f"complete meter   E  = ±{r['e_total']:.3f} %   in service (2 x MPE): ±{r['in_service_total']:.3f} %",
                  f"in rated range: {_fmt(r['in_rated_range'])}" + (f"  ({_fmt(r['violations'])})" if r["violations"] else "")]
        if r.get("note_dtheta_min_not_mid"):
            lines.append("note: Δθmin is not one of the MID values 3, 5 or 10 K")
    elif kind == "calibration":
        lines.append(f"{'#':>3} {'MPE %':>8} {'accept %':>9} {'in-serv %':>9}  initial  in-service  interval")
        for i, p in enumerate(r["points"], 1):
            iv = "" if "in_interval" not in p else ("inside" if p["in_interval"] else "OUTSIDE")
            lines.append(f"{i:>3} {p['mpe_initial_pct']:>8.3f} {p['acceptance_initial_pct']:>9.3f} {p['acceptance_in_service_pct']:>9.3f}  "
                         f"{'pass' if p['pass_initial'] else 'FAIL':<7}  {'pass' if p['pass_in_service'] else 'FAIL':<10}  {iv}")
        lines.append(f"initial verdict: {r['initial_verdict']}   in-service verdict: {r['in_service_verdict']}")
        lines.append(f"coverage: {r['coverage']}" + (f" (missing {_fmt(r['missing_intervals'])})" if r["missing_intervals"] else ""))
    elif kind == "sizing":
        from app.core.sizing import turndown_text

        lines.append(f"q max {r['q_max_m3h']:.4g} m³/h, q min {r['q_min_m3h']:.4g} m³/h, "
                     f"turndown needed {turndown_text(r['turndown_needed'])}")
        c = r["chosen"]
        if c:
            fam = r.get("chosen_family")
            extra = f" ({fam['manufacturer']} {fam['family']})" if fam else ""
            lines.append(f"chosen: qp {c['qp_m3h']:g} m³/h, qi {c['qi_m3h']:.4g} m³/h (1:{c['ratio']:g}), DN{c['dn']}{extra}")
        else:
            lines.append(f"no meter chosen: {_fmt(r['reasons'])}; fallback qp: {_fmt(r.get('fallback_qp_m3h'))}")
        if "dp_at_q_max_bar" in r:
            lines.append(f"pressure loss at q max: {_fmt(r['dp_at_q_max_bar'])} bar")
        if "needs_reducer" in r:
            lines.append(f"needs reducer (MMS 1.1.7): {_fmt(r['needs_reducer'])}")
        for e in r["rejected_smaller"]:
            fams = f" ({', '.join(e['families'])})" if e.get("families") else ""
            lines.append(f"  rejected qp {e['qp_m3h']:g} m³/h 1:{e['ratio']:g}{fams}: {_fmt(e['reasons'])}")
    elif kind == "resolution":
        lines += [f"minimum output per interval: {r['e_min_wh']:.4g} Wh",
                  f"required resolution: {r['required_resolution_wh']:.4g} Wh; limit {r['effective_limit_wh']:.4g} Wh ({r['basis']})",
                  f"result: {'pass' if r['pass'] else 'FAIL'}"]
    elif kind == "heat-coefficient":
        lines += [f"k = {r['k_kj_m3k']:.3f} kJ/(m³·K) = {r['k_kwh_m3k']:.6f} kWh/(m³·K)",
                  f"energy for 0.1 m³: {r['energy_wh_per_0_1m3']:.2f} Wh"]
    elif kind == "battery":
        lines += [f"read interval: {r['read_interval_min']:g} min ({r['read_interval_basis']}), {r['readouts_per_year']:.0f} readouts/year",
                  f"average current: {r['average_current_ua']:.3f} µA; usable capacity {r['usable_capacity_mah']:.0f} mAh",
                  f"expected life: {r['expected_life_years']:.2f} years (required {r['required_life_years']:g}): {'pass' if r['pass'] else 'FAIL'}"]
        if r.get("battery_replacement_date"):
            lines.append(f"expected failure {r['expected_failure_date']}; replace battery by {r['battery_replacement_date']} (MMS 1.3.6)")
        if r.get("meets_read_frequency") is False:
            lines.append(f"warning: read interval longer than the {r['monitoring_point_read_interval_min']} min that {r['monitoring_point']} needs")
    elif kind == "cost-benefit":
        cur = r["currency"]
        lines += [f"{r['n_apartments']} apartments, {r['radiators']:g} radiators; energy {r['annual_energy_kwh']:.0f} kWh/year "
                  f"at {r['energy_price_per_kwh']:.4f} {cur}/kWh = {r['annual_energy_cost']:.2f} {cur}/year",
                  f"expected benefit {r['expected_benefit_pct']:g} %: saving {r['annual_saving']:.2f} {cur}/year; "
                  f"real rate {r['real_interest_rate_pct']:.4g} %, {r['period_years']} years, f_pv {r['present_value_factor']:.4f}"]
        names = {"heat_meters": "heat meters", "heat_cost_allocators": "heat cost allocators"}
        for key, label in names.items():
            s = r["systems"][key]
            pb = "never" if s["payback_years"] is None else f"{s['payback_years']:.1f} years"
            be = "" if s["break_even_ep_h_kwh_m2"] is None else f", break-even EP_H {s['break_even_ep_h_kwh_m2']:.1f} kWh/m²"
            lines.append(f"{label:<21} CAPEX {s['capex']:.2f}  OPEX {s['opex_per_year']:.2f}/year  global cost {s['global_cost']:.2f}  "
                         f"NPV {s['npv']:.2f} {cur}  payback {pb}{be}: {'cost-efficient' if s['cost_efficient'] else 'NOT cost-efficient'}")
        lines.append(f"recommendation: {r['recommendation'].replace('_', ' ')}")
    else:  # pragma: no cover
        lines.append(json.dumps(r))
    return "\n".join(lines) + "\n"
