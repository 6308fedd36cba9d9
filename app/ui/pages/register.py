"""The Register page (placeholder until its issue lands)."""
from __future__ import annotations

from app.ui.pages.base import PlaceholderPage


class RegisterPage(PlaceholderPage):
    name = "register"
    title = "Register"
    icon = "register"
    summary = "All meters of all sites, for their whole life."
    planned = (
        "A table of all meters that opens at once and scrolls smoothly at 100,000 rows.",
        "Filter by site, make, model, status, due state and free text; inline edit with validation.",
        "Import and export CSV/XLSX with a list of bad rows to fix.",
        "A meter page: installations over time, commissioning evidence, calibration results, event log.",
    )
