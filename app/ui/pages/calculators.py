"""The Calculators page (placeholder until its issue lands)."""
from __future__ import annotations

from app.ui.pages.base import PlaceholderPage


class CalculatorsPage(PlaceholderPage):
    name = "calculators"
    title = "Calculators"
    icon = "calculators"
    summary = "Metrology at the desk."
    planned = (
        "MPE at a point with the MPE-versus-flow curve; calibration certificate evaluation.",
        "Sizing from a load against the catalogue; register resolution; battery life; heat coefficient.",
        "Cost-benefit of heat meters against heat cost allocators (EN 15459 present value).",
    )
