"""Cost-benefit of heat meters against heat cost allocators for a building (EN 15459, docs/calc-costbenefit.md)."""
from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QVBoxLayout

from app.ui.calculators import plots
from app.ui.calculators.form import CalculatorForm, FieldSpec, money, parse_number
from app.ui.calculators.look import styled

SYSTEMS = (("heat_meters", "Heat meters"), ("heat_cost_allocators", "Allocators"))
COSTS = (("capital_per_radiator", "Capital per radiator"), ("capital_per_apartment", "Capital per apartment"),
         ("capital_per_building", "Capital per building"), ("running_per_radiator", "Running per radiator a year"),
         ("running_per_apartment", "Running per apartment a year"),
         ("running_per_building", "Running per building a year"), ("lifetime_years", "Lifetime (years)"))
RECOMMENDATION = {"heat_meters": "heat meters", "heat_cost_allocators": "heat cost allocators"}


class CostBenefitForm(CalculatorForm):
    kind = "cost-benefit"
    title = "Cost-benefit"
    intro = ("Heat meters against heat cost allocators for one building over the calculation period: global cost, "
             "NPV and payback by EN 15459 (present value factor at the real interest rate), with the unit costs of "
             "Celenza et al., Table 2. Leave a cost empty to use the preset's value (shown grey).")
    fields = (
        FieldSpec("n_apartments", "Apartments", "", kind="int", default="12", section="The building"),
        FieldSpec("radiators_per_apartment", "Radiators per apartment", "", default="5"),
        FieldSpec("area_per_apartment_m2", "Heated area per apartment", "m²", optional=True, default="80"),
        FieldSpec("ep_h_kwh_m2", "Heating energy need EP_H", "kWh/m²a", optional=True, default="150"),
        FieldSpec("annual_energy_kwh", "or the building's need", "kWh/a", optional=True,
                  tip="The whole building's heating energy a year (used instead of EP_H × area)"),
        FieldSpec("expected_benefit_pct", "Expected saving EB", "%", default="25", section="Economics",
                  tip="The saving from individual accounting, % of the energy cost (10-40 % in the literature)"),
        FieldSpec("gas_price_per_sm3", "Gas price", "per Sm³", optional=True, default="0.80"),
        FieldSpec("gas_ghv_mj_sm3", "Gas gross heating value", "MJ/Sm³", optional=True,
                  tip="38.52 MJ/Sm³ when empty"),
        FieldSpec("energy_price_per_kwh", "or the energy price", "per kWh", optional=True,
                  tip="Price of the heating energy (used instead of the gas price)"),
        FieldSpec("real_interest_rate_pct", "Real interest rate", "%", optional=True, default="4"),
        FieldSpec("interest_rate_pct", "or the market rate", "%", optional=True),
        FieldSpec("inflation_rate_pct", "with inflation", "%", optional=True),
        FieldSpec("period_years", "Calculation period", "years", kind="int", optional=True, default="10"),
        FieldSpec("cost_preset", "Unit costs", "", kind="choice", section="Unit costs",
                  choices=(("UK 2014 (DECC tool)", "uk_2014"), ("Germany 2013", "germany_2013"), ("None", "none")),
                  default="uk_2014"),
        FieldSpec("currency", "Currency", "", kind="text", optional=True, default="EUR"),
    )
    example = {"n_apartments": "12", "radiators_per_apartment": "5", "area_per_apartment_m2": "80",
               "ep_h_kwh_m2": "150", "annual_energy_kwh": "", "expected_benefit_pct": "25",
               "gas_price_per_sm3": "0.80", "gas_ghv_mj_sm3": "", "energy_price_per_kwh": "",
               "real_interest_rate_pct": "4", "interest_rate_pct": "", "inflation_rate_pct": "",
               "period_years": "10", "cost_preset": "uk_2014", "currency": "EUR", "costs": {}}

    def build_inputs(self, layout: QVBoxLayout) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        for c, (_k, name) in enumerate(SYSTEMS, start=1):
            h = QLabel(name, self.form_host)
            h.setObjectName("ResultHeader")
            styled(h, "header", self.ctx.text_scale)
            grid.addWidget(h, 0, c)
        self.cost_edits: dict[str, QLineEdit] = {}
        row = 1
        for key, label in COSTS:
            name = QLabel(label, self.form_host)
            name.setWordWrap(True)
            grid.addWidget(name, row, 0)
            for c, (sys_key, _n) in enumerate(SYSTEMS, start=1):
                ed = QLineEdit(self.form_host)
                ed.setMinimumWidth(60)
                full = f"costs.{sys_key}.{key}"
                ed.setObjectName(f"field_{full}")
                ed.setAccessibleName(f"{label} ({sys_key.replace('_', ' ')})")
                ed.textEdited.connect(self._edited)
                ed.returnPressed.connect(self.compute)
                grid.addWidget(ed, row, c)
                err = QLabel(self.form_host)
                err.setObjectName("FieldError")
                styled(err, "error", self.ctx.text_scale)
                err.setWordWrap(True)
                err.hide()
                grid.addWidget(err, row + 1, 0, 1, 3)
                self.cost_edits[full] = ed
                self.register_editor(full, ed, err)
            row += 2
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        layout.addLayout(grid)
        self.editors["cost_preset"].currentIndexChanged.connect(self._update_placeholders)
        self.editors["n_apartments"].textEdited.connect(self._update_placeholders)

    def build_output(self, layout: QVBoxLayout) -> None:
        self.plot = plots.StaticPlot(self, left="cumulative NPV", bottom="year")
        self.plot.add_legend(cols=1, offset=(-8, -8))
        layout.addWidget(self.plot, 1)

    # -- the cost grid ---------------------------------------------------------------------
    def _update_placeholders(self, *_a) -> None:
        from app.core.costbenefit import preset_costs

        preset = self.editors["cost_preset"].currentData()
        n = parse_number(self.editors["n_apartments"].text(), integer=True)
        n = n if isinstance(n, int) and n >= 1 else 1
        try:
            costs = preset_costs(preset, n)
        except Exception:  # noqa: BLE001 - placeholders are a hint only
            return
        period = parse_number(self.editors["period_years"].text(), integer=True)
        for sys_key, _n in SYSTEMS:
            for key, _label in COSTS:
                ed = self.cost_edits[f"costs.{sys_key}.{key}"]
                if key == "lifetime_years":
                    ed.setPlaceholderText(f"{period if isinstance(period, int) else 10}")
                else:
                    ed.setPlaceholderText(f"{getattr(costs[sys_key], key):g}")

    def extra_state(self) -> dict:
        return {"costs": {k: ed.text() for k, ed in self.cost_edits.items() if ed.text().strip()}}

    def set_extra_state(self, state: dict) -> None:
        given = state.get("costs") or {}
        for k, ed in self.cost_edits.items():
            ed.setText(str(given.get(k, "")))
        self._update_placeholders()

    def add_input(self, data: dict) -> None:
        costs: dict[str, dict] = {}
        for full, ed in self.cost_edits.items():
            text = ed.text().strip()
            if text:
                _c, sys_key, key = full.split(".")
                costs.setdefault(sys_key, {})[key] = parse_number(text)
        if costs:
            data["costs"] = costs

    # -- results -----------------------------------------------------------------------------
    def present(self, r: dict):
        cur = r["currency"]
        rec = r["recommendation"]
        tau = r["period_years"]
        hm, hca = r["systems"]["heat_meters"], r["systems"]["heat_cost_allocators"]
        if rec == "neither":
            verdict, state = f"Neither is cost-efficient over {tau} years", "fail"
        else:
            s = r["systems"][rec]
            verdict = f"{RECOMMENDATION[rec].capitalize()}: NPV {money(s['npv'], cur)} over {tau} years"
            state = "pass"

        def both(key, f):
            return [f(hm[key]), f(hca[key])]

        def pb(v):
            return "never" if v is None else f"{v:.1f} years"

        def npv_state(s):
            return "pass" if s["cost_efficient"] else "fail"

        rows = [
            ("Capital (CAPEX)", both("capex", lambda v: money(v, cur))),
            ("Running a year (OPEX)", both("opex_per_year", lambda v: money(v, cur))),
            (f"Global cost over {tau} years", both("global_cost", lambda v: money(v, cur))),
            ("Net present value", both("npv", lambda v: money(v, cur)), [npv_state(hm), npv_state(hca)]),
            ("Payback (discounted)", both("payback_years", pb)),
            ("Break-even EP_H", both("break_even_ep_h_kwh_m2", lambda v: "—" if v is None else f"{v:.0f} kWh/m²")),
        ]
        note = (f"Energy {r['annual_energy_kwh']:,.0f} kWh a year at {r['energy_price_per_kwh']:.4f} {cur}/kWh "
                f"= {money(r['annual_energy_cost'], cur)}; saving {r['expected_benefit_pct']:g} % = "
                f"{money(r['annual_saving'], cur)} a year; real rate {r['real_interest_rate_pct']:.3g} %, "
                f"present value factor {r['present_value_factor']:.4f}.")
        return verdict, state, rows, ("", "Heat meters", "Allocators"), note

    def draw(self, r: dict) -> None:
        p = self.plot.getPlotItem()
        p.clear()
        if self.plot.legend is not None:
            self.plot.legend.clear()
        p.addLine(y=0, pen=plots.pen(plots.INK, 1.5))
        for (key, name), color in zip(SYSTEMS, (plots.BLUE, plots.BROWN)):
            s = r["systems"][key]
            ys = s["cumulative_npv_by_year"]
            p.plot(list(range(len(ys))), ys, pen=plots.pen(color, 3), symbol="o", symbolSize=8,
                   symbolBrush=color, symbolPen=None, name=f"{name} (NPV {money(s['npv'], r['currency'])})")
            pbk = s["payback_years"]
            if pbk is not None and pbk <= r["period_years"]:
                p.plot([pbk], [0], pen=None, symbol="d", symbolSize=16, symbolBrush=color, symbolPen=plots.pen("#ffffff", 2))
        self.plot._left = f"cumulative NPV ({r['currency']})"
        self.plot.set_text_scale(self.ctx.text_scale)

    def text_scale_changed(self, scale: float) -> None:
        if hasattr(self, "plot"):
            self.plot.set_text_scale(scale)
