"""Sizing from a load against the built-in catalogue: the flows drawn against each candidate's qi..qp."""
from __future__ import annotations

import math

from PySide6.QtWidgets import QVBoxLayout

from app.core.sizing import turndown_text
from app.ui.calculators import plots
from app.ui.calculators.form import CalculatorForm, FieldSpec, fmt

REASONS = {
    "covers_q_max_with_qp": "qp covers q max",
    "covers_q_min_with_qi": "qi covers q min",
    "no_meter_covers_q_min_and_q_max": "no meter covers both q min and q max",
    "q_max_above_largest_qp": "q max is above the largest qp",
    "q_max_above_qp": "q max above qp",
    "q_min_below_qi": "q min below qi",
    "dp_above_limit": "pressure loss above the limit",
}


class SizingForm(CalculatorForm):
    kind = "sizing"
    title = "Sizing"
    intro = ("Flows at design and minimum load (k of water from IAPWS-IF97) and the smallest meter of the built-in "
             "catalogue whose qi..qp covers both (MMS 1.1.7). Meters with moving parts are left out (MMS 1.1.11).")
    fields = (
        FieldSpec("application", "Application", kind="choice", choices=(("Heating", "heating"), ("Cooling", "cooling")),
                  default="heating", section="The load"),
        FieldSpec("design_power_kw", "Design power", "kW", default="100"),
        FieldSpec("flow_temp_c", "Flow temperature", "°C", default="70"),
        FieldSpec("return_temp_c", "Return temperature", "°C", default="40"),
        FieldSpec("min_power_kw", "Minimum power", "kW", default="5"),
        FieldSpec("min_load_flow_temp_c", "Flow temperature at min load", "°C", optional=True),
        FieldSpec("min_load_return_temp_c", "Return temperature at min load", "°C", optional=True),
        FieldSpec("meter_position", "Flow sensor in", kind="choice",
                  choices=(("Return pipe", "return"), ("Flow pipe", "flow")), default="return", section="The meter"),
        FieldSpec("pipe_dn", "Pipe DN", "", optional=True, default="32"),
        FieldSpec("max_dp_bar", "Max pressure loss at q max", "bar", optional=True),
        FieldSpec("include_moving_parts", "Include mechanical meters", kind="bool", default=False),
    )
    example = {"application": "heating", "design_power_kw": "100", "flow_temp_c": "70", "return_temp_c": "40",
               "min_power_kw": "5", "min_load_flow_temp_c": "", "min_load_return_temp_c": "",
               "meter_position": "return", "pipe_dn": "32", "max_dp_bar": "", "include_moving_parts": False}

    def build_output(self, layout: QVBoxLayout) -> None:
        from PySide6.QtWidgets import QLabel

        key = QLabel("Each bar: qi .. qp of one catalogue size (qp m³/h, 1:qp/qi). <b style='color:#0a6b2d'>Green: "
                     "chosen</b>; grey: too small; light: larger. Blue band: q min .. q max of the load.", self)
        key.setWordWrap(True)
        layout.addWidget(key)
        self.plot = plots.StaticPlot(self, left="", bottom="flow (m³/h, log scale)", log_x=True)
        layout.addWidget(self.plot, 1)
        self.bars: list[dict] = []

    def present(self, r: dict):
        c = r["chosen"]
        if c:
            fam = r.get("chosen_family")
            who = f" — {fam['manufacturer']} {fam['family']}" if fam else ""
            verdict, state = f"Chosen: qp {c['qp_m3h']:g} m³/h, 1:{c['ratio']:g}, DN{c['dn']}{who}", "pass"
        else:
            why = ", ".join(REASONS.get(x, x) for x in r["reasons"])
            verdict, state = f"No meter in the catalogue fits: {why}", "fail"
        rows = [
            ("q max (design load)", fmt(r["q_max_m3h"], 3, "m³/h")),
            ("q min (minimum load)", fmt(r["q_min_m3h"], 4, "m³/h")),
            ("Turndown needed", turndown_text(r["turndown_needed"])),
        ]
        if c:
            rows.append(("Chosen qi .. qp", f"{c['qi_m3h']:.4g} .. {c['qp_m3h']:g} m³/h"))
        else:
            rows.append(("Smallest qp ≥ q max", "—" if r.get("fallback_qp_m3h") is None else f"{r['fallback_qp_m3h']:g} m³/h"))
        if "dp_at_q_max_bar" in r:
            rows.append(("Pressure loss at q max", fmt(r["dp_at_q_max_bar"], 3, "bar")))
        if "needs_reducer" in r and r["needs_reducer"] is not None:
            rows.append(("Reducer needed (MMS 1.1.7)", "yes" if r["needs_reducer"] else "no",
                         "warn" if r["needs_reducer"] else None))
        return verdict, state, rows, None, ""

    def candidates(self, r: dict) -> list[dict]:
        """The catalogue's distinct (qp, ratio) ranges, in selection order, with their standing."""
        from app.core.sizing import builtin_catalogue

        data = self.last_input or {}
        cat = builtin_catalogue(include_moving_parts=bool(data.get("include_moving_parts")))
        rejected: dict[tuple[float, float], set[str]] = {}
        for e in r["rejected_smaller"]:
            rejected.setdefault((e["qp_m3h"], e["ratio"]), set()).update(e["reasons"])
        chosen = (r["chosen"]["qp_m3h"], r["chosen"]["ratio"]) if r["chosen"] else None
        seen: dict[tuple[float, float], dict] = {}
        for e in sorted(cat, key=lambda e: (e.qp_m3h, e.ratio)):
            k = (e.qp_m3h, e.ratio)
            if k in seen:
                continue
            state = "chosen" if k == chosen else ("rejected" if k in rejected else "larger")
            seen[k] = {"qp_m3h": e.qp_m3h, "ratio": e.ratio, "qi_m3h": e.qp_m3h / e.ratio, "state": state,
                       "reasons": sorted(rejected.get(k, ()))}
        return list(seen.values())

    def draw(self, r: dict) -> None:
        import pyqtgraph as pg

        p = self.plot.getPlotItem()
        p.clear()
        bars = self.candidates(r)
        self.bars = bars
        y_of = {}
        ticks = []
        for i, b in enumerate(bars):
            y = len(bars) - 1 - i
            y_of[i] = y
            ticks.append((y, f"{b['qp_m3h']:g} 1:{b['ratio']:g}"))
            color = {"chosen": plots.PASS, "rejected": "#b9b9b9", "larger": "#dedede"}[b["state"]]
            x0, x1 = math.log10(b["qi_m3h"]), math.log10(b["qp_m3h"])
            rect = pg.BarGraphItem(x0=[x0], x1=[x1], y=[y], height=0.62, brush=pg.mkBrush(color),
                                   pen=pg.mkPen(plots.INK if b["state"] == "chosen" else "#7a7a7a",
                                                width=2.5 if b["state"] == "chosen" else 1))
            p.addItem(rect)
        qmin, qmax = r["q_min_m3h"], r["q_max_m3h"]
        band = pg.LinearRegionItem(values=(math.log10(qmin), math.log10(qmax)), movable=False,
                                   brush=pg.mkBrush(11, 85, 179, 40), pen=pg.mkPen(plots.BLUE, width=2.5))
        band.setZValue(-5)
        p.addItem(band)
        top = len(bars) - 0.4
        for name, x, anchor in (("q min", qmin, (1, 0.5)), ("q max", qmax, (0, 0.5))):
            t = plots.text_item(f" {name} {x:.3g} ", plots.BLUE, anchor=anchor, bold=True, scale=self.ctx.text_scale)
            t.setPos(math.log10(x), top + 0.55)
            p.addItem(t)
        ax = p.getAxis("left")
        ax.setTicks([ticks, []])
        ax.setWidth(round(110 * self.ctx.text_scale))
        xs = [math.log10(b["qi_m3h"]) for b in bars] + [math.log10(b["qp_m3h"]) for b in bars]
        xs += [math.log10(qmin), math.log10(qmax)]
        p.setXRange(min(xs) - 0.1, max(xs) + 0.1, padding=0)
        p.getAxis("bottom").setTicks([plots.log_ticks(10 ** min(xs), 10 ** max(xs)), []])
        p.setYRange(-0.6, top + 1.1, padding=0)

    def text_scale_changed(self, scale: float) -> None:
        if hasattr(self, "plot"):
            self.plot.set_text_scale(scale)
