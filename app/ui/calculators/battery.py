"""Battery life at the read frequency a monitoring point needs (MMS 1.1.8, 1.3.6)."""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from app.ui.calculators import plots
from app.ui.calculators.form import CalculatorForm, FieldSpec, fmt

PARTS = (("standby_ua", "Standby"), ("mbus_ua", "M-Bus reads"), ("radio_ua", "Radio"), ("optical_ua", "Optical"),
         ("display_ua", "Display"), ("other_ua", "Other"))


class BatteryForm(CalculatorForm):
    kind = "battery"
    title = "Battery"
    intro = ("Expected battery life at the read interval a monitoring point needs: at least 10 years (MMS 1.1.8); "
             "meters kept beyond 10 years get a new battery a year before the expected failure (MMS 1.3.6).")
    fields = (
        FieldSpec("capacity_mah", "Capacity", "mAh", default="19000", section="The battery and the meter",
                  tip="Nominal capacity, e.g. 19000 for a lithium D cell"),
        FieldSpec("standby_current_ua", "Standby current", "µA", default="8"),
        FieldSpec("mbus_charge_per_readout_mas", "Charge per M-Bus readout", "mAs", default="2",
                  tip="0 when the M-Bus interface is fully bus-powered"),
        FieldSpec("monitoring_point", "Monitoring point (MMS Annex A)", "", kind="text", optional=True, default="SS1",
                  section="How often it is read", tip="e.g. SS1 (5-minute reads) or CC1 (30-minute reads)"),
        FieldSpec("read_interval_min", "Read interval", "min", optional=True,
                  tip="Instead of, or besides, the monitoring point"),
        FieldSpec("optical_charge_per_readout_mas", "Charge per optical readout", "mAs", optional=True,
                  section="Other loads"),
        FieldSpec("optical_readouts_per_year", "Optical readouts a year", "", optional=True),
        FieldSpec("radio_charge_per_telegram_mas", "Charge per radio telegram", "mAs", optional=True),
        FieldSpec("radio_interval_s", "Radio interval", "s", optional=True),
        FieldSpec("display_current_ua", "Display current", "µA", optional=True),
        FieldSpec("other_current_ua", "Other current", "µA", optional=True),
        FieldSpec("derating_factor", "Derating factor", "", optional=True, section="Cell",
                  tip="Usable share of the nominal capacity (0.85 when empty)"),
        FieldSpec("self_discharge_pct_per_year", "Self-discharge", "%/year", optional=True,
                  tip="Capacity lost per year (1 %/year when empty)"),
        FieldSpec("battery_date", "Battery fitted", "", kind="text", optional=True, default="2024-01-01",
                  tip="YYYY-MM-DD; gives the expected failure and the replacement date"),
    )
    example = {"capacity_mah": "19000", "standby_current_ua": "8", "mbus_charge_per_readout_mas": "2",
               "monitoring_point": "SS1", "read_interval_min": "", "battery_date": "2024-01-01"}

    def build_output(self, layout: QVBoxLayout) -> None:
        self.plot = plots.StaticPlot(self, left="", bottom="average current (µA)")
        layout.addWidget(self.plot, 1)

    def present(self, r: dict):
        ok = r["pass"]
        verdict = (f"{'PASS' if ok else 'FAIL'}: {r['expected_life_years']:.1f} years expected "
                   f"({'at least' if ok else 'less than'} the {r['required_life_years']:g} required)")
        rows = [
            ("Expected life", fmt(r["expected_life_years"], 2, "years"), "pass" if ok else "fail"),
            ("Read interval", f"{r['read_interval_min']:g} min" + (
                f" ({r['read_interval_basis'].split(':', 1)[1]})" if r["read_interval_basis"].startswith("mms") else "")),
            ("Readouts a year", f"{r['readouts_per_year']:,.0f}"),
            ("Average current", fmt(r["average_current_ua"], 3, "µA")),
            ("Usable capacity", fmt(r["usable_capacity_mah"], 0, "mAh")),
        ]
        if r.get("expected_failure_date"):
            rows.append(("Expected failure", r["expected_failure_date"]))
            rows.append(("Replace the battery by (MMS 1.3.6)", r["battery_replacement_date"]))
        note = ""
        if r.get("meets_read_frequency") is False:
            rows.append(("Read often enough for " + r["monitoring_point"], "no", "fail"))
            note = (f"The read interval is longer than the {r['monitoring_point_read_interval_min']} min "
                    f"that {r['monitoring_point']} needs.")
        return verdict, "pass" if ok else "fail", rows, None, note

    def draw(self, r: dict) -> None:
        import pyqtgraph as pg

        p = self.plot.getPlotItem()
        p.clear()
        br = r["current_breakdown_ua"]
        parts = [(label, br.get(key, 0.0)) for key, label in PARTS if br.get(key, 0.0) > 0]
        if not parts:
            return
        ys = list(range(len(parts)))[::-1]
        colors = [plots.BLUE, plots.GREEN, plots.BROWN, plots.PURPLE, plots.RED, plots.GREY]
        for (label, v), y, c in zip(parts, ys, colors):
            p.addItem(pg.BarGraphItem(x0=[0], x1=[v], y=[y], height=0.6, brush=pg.mkBrush(c), pen=pg.mkPen(c)))
            t = plots.text_item(f" {v:.2f} µA", plots.INK, anchor=(0, 0.5), scale=self.ctx.text_scale)
            t.setPos(v, y)
            p.addItem(t)
        p.getAxis("left").setTicks([[(y, label) for (label, _v), y in zip(parts, ys)], []])
        p.getAxis("left").setWidth(round(110 * self.ctx.text_scale))
        p.setXRange(0, max(v for _l, v in parts) * 1.3, padding=0)
        p.setYRange(-0.6, len(parts) - 0.4, padding=0)

    def text_scale_changed(self, scale: float) -> None:
        if hasattr(self, "plot"):
            self.plot.set_text_scale(scale)
