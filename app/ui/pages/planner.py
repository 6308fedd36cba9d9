"""The Planner page (placeholder until its issue lands)."""
from __future__ import annotations

from app.ui.pages.base import PlaceholderPage


class PlannerPage(PlaceholderPage):
    name = "planner"
    title = "Planner"
    icon = "planner"
    summary = "What is due, and the sampling lots that decide it."
    planned = (
        "Due counts per month and per site for the next years, with the meters behind each bar.",
        "Sampling lots: form, draw with seed and spares, enter or import results, verdict per meter.",
        "The OC curve of a lot's plan with the lot's outcome marked.",
    )
