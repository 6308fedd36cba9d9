"""Register resolution check (DECC RHI metering supplement, seed 004)."""
from __future__ import annotations

from app.ui.calculators.form import CalculatorForm, FieldSpec, fmt

BASIS = {
    "fraction_of_min_output": "3 % of the minimum output per interval",
    "floor_1wh_need_not_be_finer": "1 Wh: a meter need not be finer than 1 pulse per 1 Wh",
    "dhw_drawoff_1wh": "1 Wh: a DHW draw-off meter needs at least 1 pulse per 1 Wh",
}


class ResolutionForm(CalculatorForm):
    kind = "resolution"
    title = "Resolution"
    intro = ("Resolution of the heat (or electricity) meter ≤ 3 % of the minimum non-zero output in one "
             "2-minute logging interval; never required finer than 1 Wh, and 1 Wh for DHW draw-off (seed 004).")
    fields = (
        FieldSpec("kind", "Meter", kind="choice", choices=(("Heat meter", "heat"), ("Electricity meter", "electricity")),
                  default="heat"),
        FieldSpec("min_power_kw", "Minimum power through the meter", "kW", optional=True, default="4",
                  tip="The minimum non-zero power; for an electricity meter, the electrical input"),
        FieldSpec("min_heat_kw", "Minimum heat output", "kW", optional=True,
                  tip="Instead of the minimum power: heat output (for electricity with the SPF)"),
        FieldSpec("spf", "SPF", "", optional=True, tip="Seasonal performance factor: electricity = heat / SPF"),
        FieldSpec("meter_resolution_wh", "Meter resolution", "Wh", default="1",
                  tip="Energy per pulse or per last register digit"),
        FieldSpec("interval_min", "Logging interval", "min", optional=True, default="2"),
        FieldSpec("fraction", "Fraction", "", optional=True, default="0.03"),
        FieldSpec("dhw_drawoff", "Meters a DHW draw-off", kind="bool", default=False),
    )
    example = {"kind": "heat", "min_power_kw": "4", "min_heat_kw": "", "spf": "", "meter_resolution_wh": "10",
               "interval_min": "2", "fraction": "0.03", "dhw_drawoff": False}

    def present(self, r: dict):
        ok = r["pass"]
        res = (self.last_input or {}).get("meter_resolution_wh")
        verdict = (f"{'PASS' if ok else 'FAIL'}: resolution {res:g} Wh {'≤' if ok else '>'} "
                   f"limit {r['effective_limit_wh']:.3g} Wh") if isinstance(res, (int, float)) else ("PASS" if ok else "FAIL")
        rows = [
            ("Minimum output per interval", fmt(r["e_min_wh"], 2, "Wh")),
            ("Required (fraction × E min)", fmt(r["required_resolution_wh"], 3, "Wh")),
            ("Limit applied", fmt(r["effective_limit_wh"], 3, "Wh"), "pass" if ok else "fail"),
            ("Basis", BASIS.get(r["basis"], r["basis"])),
        ]
        return verdict, "pass" if ok else "fail", rows, None, ""
