"""The Commission page (placeholder until its issue lands)."""
from __future__ import annotations

from app.ui.pages.base import PlaceholderPage


class CommissionPage(PlaceholderPage):
    name = "commission"
    title = "Commission"
    icon = "commission"
    summary = "Commission one meter, step by step; every answer is saved as a draft."
    planned = (
        "1 Identify: read the meter, prefill make, serial, identification and medium.",
        "2 Place it: site, building, location, monitoring point from the register (or create them).",
        "3 Installation checklist (EN 1434-6, MMS 1.1/1.2): yes / no / n.a. with a note for each item.",
        "4 Plausibility from a live readout; 5 an observation window with the live plot.",
        "6 Sign-off: the record and raw telegrams saved to the register, and a certificate PDF.",
    )
