"""The app's pages, in navigation order. Importing this module imports no page module:
each is loaded the first time it is shown."""
from __future__ import annotations

from app.ui.pages.base import PageSpec, page_spec, page_specs, register_page

BUILTIN_PAGES = (
    PageSpec("connect", "Connect", "connect", "plant", "app.ui.pages.connect:ConnectPage",
             "Serial port, optical head, or gateway; baud rate; test the line."),
    PageSpec("scan", "Scan", "scan", "plant", "app.ui.pages.scan:ScanPage",
             "Find the meters on the bus by primary or secondary address."),
    PageSpec("readout", "Readout", "readout", "plant", "app.ui.pages.readout:ReadoutPage",
             "Every record of every telegram, decoded, with the raw bytes."),
    PageSpec("live", "Live", "live", "plant", "app.ui.pages.live:LivePage",
             "Poll a meter and plot power, flow and temperatures."),
    PageSpec("radio", "Radio", "radio", "plant", "app.ui.pages.radio:RadioPage",
             "Wireless M-Bus meters heard: signal, telegrams, keys; the connectivity survey."),
    PageSpec("commission", "Commission", "commission", "plant", "app.ui.pages.commission:CommissionPage",
             "Commission one meter, step by step, with a certificate."),
    PageSpec("register", "Register", "register", "office", "app.ui.pages.register:RegisterPage",
             "All meters, their installations, records and events."),
    PageSpec("planner", "Planner", "planner", "office", "app.ui.pages.planner:PlannerPage",
             "What is due when; sampling lots and their verdicts."),
    PageSpec("calculators", "Calculators", "calculators", "office", "app.ui.pages.calculators:CalculatorsPage",
             "MPE, sizing, resolution, battery life, heat coefficient, cost-benefit."),
)

for _spec in BUILTIN_PAGES:
    if _spec.name not in {s.name for s in page_specs()}:
        register_page(_spec)

__all__ = ["BUILTIN_PAGES", "PageSpec", "page_spec", "page_specs", "register_page"]
