"""Heat coefficient k of water (IAPWS-IF97 at 1.6 MPa, EN 1434-1)."""
from __future__ import annotations

from app.ui.calculators.form import CalculatorForm, FieldSpec, fmt


class HeatCoefficientForm(CalculatorForm):
    kind = "heat-coefficient"
    title = "Heat coefficient"
    intro = ("Heat coefficient k = ρ·(h_hot − h_cold)/(θ_hot − θ_cold) of water, IAPWS-IF97, with the density where "
             "the volume is measured; the energy for 0.1 m³ is the form of the conventional true energy tables.")
    fields = (
        FieldSpec("hot_c", "Hot temperature", "°C", default="70"),
        FieldSpec("cold_c", "Cold temperature", "°C", default="40"),
        FieldSpec("position", "Volume measured in", kind="choice",
                  choices=(("Return (cold) pipe", "return"), ("Flow (hot) pipe", "flow")), default="return"),
        FieldSpec("pressure_mpa", "Pressure", "MPa", optional=True, default="1.6"),
    )
    example = {"hot_c": "70", "cold_c": "40", "position": "return", "pressure_mpa": "1.6"}

    def present(self, r: dict):
        d = self.last_input or {}
        try:
            dt = float(d["hot_c"]) - float(d["cold_c"])
        except (KeyError, TypeError, ValueError):
            dt = None
        verdict = f"k = {r['k_kj_m3k']:.3f} kJ/(m³·K)"
        rows = [
            ("Heat coefficient k", fmt(r["k_kj_m3k"], 3, "kJ/(m³·K)")),
            ("k in kWh", fmt(r["k_kwh_m3k"], 6, "kWh/(m³·K)")),
            ("Energy for 0.1 m³" + (f" at Δθ {dt:g} K" if dt is not None else ""), fmt(r["energy_wh_per_0_1m3"], 2, "Wh")),
        ]
        return verdict, "info", rows, None, ""
