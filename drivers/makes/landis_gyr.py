"""Landis+Gyr (FLAG ``LUG``): ULTRAHEAT heat meters (also sold as Metrona Ultraheat).

The simulated layout follows the libmbus frame of an ULTRAHEAT XS: BCD values,
energy in kWh, power in kW, temperatures in whole °C.
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R

MAKE = Make(
    key="landis_gyr", name="Landis+Gyr", flags=("LUG",),
    models={"LUG": {0x02: "ULTRAHEAT XS"}},        # libmbus frame metrona_ultraheat_xs
    simulator={"landis": (
        R("energy", 0x06, "bcd8"), R("volume", 0x14, "bcd8"), R("power", 0x2E, "bcd6"), R("flow", 0x3B, "bcd6"),
        R("t_flow", 0x5B, "bcd4"), R("t_return", 0x5F, "bcd4"), R("dtheta", 0x62, "bcd4"),
        R("fabrication", 0x78, "bcd8"), R("datetime", 0x6D, "datetime"))},
    sources="libmbus test frame metrona_ultraheat_xs",
)
