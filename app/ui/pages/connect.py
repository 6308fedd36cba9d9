"""The Connect page (placeholder until its issue lands)."""
from __future__ import annotations

from app.ui.pages.base import PlaceholderPage


class ConnectPage(PlaceholderPage):
    name = "connect"
    title = "Connect"
    icon = "connect"
    summary = "Choose how the laptop reaches the meters, then test the line."
    planned = (
        "Serial ports listed with their description, refreshed when a USB head is plugged in or out.",
        "Optical head profiles (with the wake-up sequence), M-Bus level converters, or a gateway URL.",
        "Baud rate (300 to 38400) and a line test that reports what answered.",
        "With --demo, or on the first run without any port: the built-in simulated bus, marked SIMULATION.",
    )
