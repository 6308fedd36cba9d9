"""Schlumberger (FLAG ``SLB``): the code Itron's Integral-MK MaXX and the Allmess CF50 send."""
from __future__ import annotations

from drivers.makes.base import Make

MAKE = Make(
    key="schlumberger", name="Schlumberger", flags=("SLB",),
    # libmbus frames itron_integral_mk_maxx and SLB_CF-Compact-Integral-MK-MaXX; allmess_cf50
    models={"SLB": {0x06: "Integral-MK MaXX", 0x02: "CF50"}},
    sources="libmbus test frames itron_integral_mk_maxx, SLB_CF-Compact-Integral-MK-MaXX, allmess_cf50",
)
