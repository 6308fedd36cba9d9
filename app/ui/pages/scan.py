"""The Scan page (placeholder until its issue lands)."""
from __future__ import annotations

from app.ui.pages.base import PlaceholderPage


class ScanPage(PlaceholderPage):
    name = "scan"
    title = "Scan"
    icon = "scan"
    summary = "Find the meters on the bus."
    planned = (
        "Primary (0 to 250) or secondary (wildcard) search, with a progress bar, time left and Cancel.",
        "Meters appear in the list as they are found: make, model, id, address, medium, last read.",
        "Cancel stops within one reply timeout; a vanished port is reported here, nothing found is kept.",
    )
