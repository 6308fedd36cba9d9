"""MPE at a point, with the MPE-versus-flow curve of the meter from qi to qs."""
from __future__ import annotations

import math

from PySide6.QtWidgets import QVBoxLayout

from app.ui.calculators import plots
from app.ui.calculators.form import CalculatorForm, FieldSpec, fmt

CLASSES = (("Class 1", 1), ("Class 2", 2), ("Class 3", 3))
VIOLATIONS = {
    "q_below_qi": "q is below qi",
    "q_above_qs": "q is above qs",
    "dtheta_below_dtheta_min": "Δθ is below Δθmin",
    "dtheta_above_dtheta_max": "Δθ is above Δθmax",
}


class MpeForm(CalculatorForm):
    kind = "mpe"
    title = "MPE"
    intro = ("Maximum permissible errors of a heat meter at one operating point (EN 1434-1 / MID MI-004): "
             "flow sensor, temperature pair, calculator and the complete meter; in service twice that (MMS 1.3.5).")
    fields = (
        FieldSpec("class", "Accuracy class", kind="choice", choices=CLASSES, default=2, section="The meter"),
        FieldSpec("qp_m3h", "Permanent flow qp", "m³/h", default="1.5"),
        FieldSpec("ratio", "qp/qi", "", default="100", tip="Ratio of permanent to lowest flow (at least 10)"),
        FieldSpec("qs_m3h", "Upper flow qs", "m³/h", optional=True, default="3",
                  tip="Highest flow for short periods; the curve runs to 2 × qp without it"),
        FieldSpec("dtheta_min_k", "Δθmin", "K", default="3"),
        FieldSpec("dtheta_max_k", "Δθmax", "K", optional=True, default="150"),
        FieldSpec("q_m3h", "Actual flow q", "m³/h", default="0.15", section="The operating point"),
        FieldSpec("dtheta_k", "Actual Δθ", "K", default="20"),
    )
    example = {"class": 2, "qp_m3h": "1.5", "ratio": "100", "qs_m3h": "3", "dtheta_min_k": "3",
               "dtheta_max_k": "150", "q_m3h": "0.15", "dtheta_k": "20"}

    def build_output(self, layout: QVBoxLayout) -> None:
        self.plot = plots.StaticPlot(self, left="MPE (%)", bottom="flow q (m³/h, log scale)", log_x=True)
        self.plot.add_legend(cols=1)
        layout.addWidget(self.plot, 1)
        self.curve_data: dict[str, list[tuple[float, float]]] = {}

    def present(self, r: dict):
        bad = [VIOLATIONS.get(v, v) for v in r["violations"]]
        if bad:
            verdict, state = "Outside the rated range: " + ", ".join(bad), "warn"
        else:
            verdict, state = f"MPE ±{r['e_total']:.2f} %, in service ±{r['in_service_total']:.2f} %", "info"
        rows = [
            ("Flow sensor Ef", fmt(r["ef"], 3, "%", True) + (" (capped)" if r["ef_capped"] else "")),
            ("Temperature pair Et", fmt(r["et"], 3, "%", True)),
            ("Calculator Ec", fmt(r["ec"], 3, "%", True)),
            ("Complete meter E", fmt(r["e_total"], 3, "%", True)),
            ("In service (2 × E)", fmt(r["in_service_total"], 3, "%", True)),
            ("In the rated range", "yes" if r["in_rated_range"] else "no", "pass" if r["in_rated_range"] else "warn"),
        ]
        note = ""
        if r.get("note_dtheta_min_not_mid"):
            note = "Δθmin is not one of the MID values 3, 5 or 10 K."
        return verdict, state, rows, None, note

    def curve(self, data: dict) -> dict[str, list[tuple[float, float]]]:
        """MPE against flow from qi to qs (2·qp without qs), through the same calculator."""
        from app.core.calcjson import run

        qp = float(data["qp_m3h"])
        qi = qp / float(data["ratio"]) if "ratio" in data else float(data["qi_m3h"])
        qs = float(data.get("qs_m3h") or 2 * qp)
        q = float(data["q_m3h"])
        lo, hi = min(qi, q), max(qs, q)
        n = 120
        out: dict[str, list[tuple[float, float]]] = {"ef": [], "e_total": [], "in_service_total": []}
        for i in range(n + 1):
            x = lo * (hi / lo) ** (i / n)
            r = run("mpe", {**data, "q_m3h": x})
            for k in out:
                out[k].append((x, r[k]))
        return out

    def draw(self, r: dict) -> None:
        p = self.plot.getPlotItem()
        p.clear()
        if self.plot.legend is not None:
            self.plot.legend.clear()
        data = self.last_input or {}
        try:
            self.curve_data = self.curve(data)
        except Exception:  # noqa: BLE001 - the curve follows the point; an odd input draws no curve
            self.curve_data = {}
            return
        names = (("in_service_total", "In service 2 × E", plots.RED, True),
                 ("e_total", f"Complete meter E at Δθ {data.get('dtheta_k', 0):g} K", plots.INK, False),
                 ("ef", "Flow sensor Ef", plots.BLUE, False))
        for key, label, color, dash in names:
            pts = self.curve_data[key]
            p.plot([x for x, _ in pts], [y for _, y in pts], pen=plots.pen(color, 2.5, dash), name=label)
        qp = float(data["qp_m3h"])
        qi = qp / float(data["ratio"]) if "ratio" in data else float(data["qi_m3h"])
        marks = [("qi", qi), ("qp", qp)]
        if data.get("qs_m3h"):
            marks.append(("qs", float(data["qs_m3h"])))
        top = max(y for _, y in self.curve_data["in_service_total"])
        for name, x in marks:
            line = p.addLine(x=math.log10(x), pen=plots.pen(plots.GREY, 1.5, True))
            line.setZValue(-10)
            t = plots.text_item(f" {name} {x:g} ", plots.GREY, anchor=(0, 1) if name == "qi" else (1, 1),
                                scale=self.ctx.text_scale)
            t.setPos(math.log10(x), 0.02 * top)
            p.addItem(t)
        xs = [x for x, _ in self.curve_data["ef"]]
        p.getAxis("bottom").setTicks([plots.log_ticks(min(xs), max(xs)), []])
        q = float(data["q_m3h"])
        p.plot([q], [r["e_total"]], pen=None, symbol="o", symbolSize=16, symbolBrush=plots.INK,
               symbolPen=plots.pen("#ffffff", 2))
        p.plot([q], [r["ef"]], pen=None, symbol="s", symbolSize=12, symbolBrush=plots.BLUE,
               symbolPen=plots.pen("#ffffff", 2))
        label = plots.text_item(f"  q = {q:g} m³/h: E ±{r['e_total']:.2f} %", plots.INK, anchor=(0, 1), bold=True,
                                scale=self.ctx.text_scale)
        label.setPos(math.log10(q), r["e_total"])
        p.addItem(label)
        p.setYRange(0, top * 1.45, padding=0)
        self.plot.set_text_scale(self.ctx.text_scale)

    def text_scale_changed(self, scale: float) -> None:
        if hasattr(self, "plot"):
            self.plot.set_text_scale(scale)
