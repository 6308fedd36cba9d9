"""GWF MessSysteme (FLAG ``GWF``): water meters on heat networks (make-up water, domestic hot water).

The simulated layout (named ``water``) follows the libmbus frame GWF-MTKcoder:
volume in litres (BCD), flow, a date-time.
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R

MAKE = Make(
    key="gwf", name="GWF", flags=("GWF",),
    simulator={"water": (
        R("fabrication", 0x78, "bcd8"), R("volume", 0x13, "bcd8"), R("flow", 0x3B, "bcd6"),
        R("datetime", 0x6D, "datetime"))},
    sources="libmbus test frame GWF-MTKcoder",
)
