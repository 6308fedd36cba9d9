"""The Readout page (placeholder until its issue lands)."""
from __future__ import annotations

from app.ui.pages.base import PlaceholderPage


class ReadoutPage(PlaceholderPage):
    name = "readout"
    title = "Readout"
    icon = "readout"
    summary = "Every record of every telegram the meter sent."
    planned = (
        "A table per telegram: quantity, value, unit, storage, tariff, function, modifiers.",
        "Header and status flags in words; raw hex of each record and telegram on demand.",
        "Copy, and export to CSV or JSON; average temperatures implied by volume-weighted energies.",
    )
