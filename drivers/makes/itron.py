"""Itron (FLAG ``ACW``, the former Actaris heat and water business): CF Echo and CF 55 heat meters.

Itron's Integral-MK MaXX sends the Schlumberger code SLB (see ``schlumberger``).
The simulated layout follows the libmbus frame of a CF Echo 2.
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R

MAKE = Make(
    key="itron", name="Itron", flags=("ACW",),
    models={"ACW": {0x09: "CF Echo 2",             # libmbus frame itron_cf_echo_2
                    0x0B: "CF 55"}},               # libmbus frame itron_cf_55
    simulator={"itron": (
        R("fabrication", 0x78, "bcd8"), R("energy", 0x06, "int32"), R("volume", 0x14, "bcd8"),
        R("power", 0x2D, "bcd6"), R("flow", 0x3B, "bcd6"), R("t_flow", 0x5A, "bcd4"), R("t_return", 0x5E, "bcd4"),
        R("dtheta", 0x61, "bcd6"), R("datetime", 0x6D, "datetime"),
        R("on_time", 0x27, "int16", offset=86400.0 * 900))},
    sources="libmbus test frames itron_cf_echo_2, itron_cf_55",
)
