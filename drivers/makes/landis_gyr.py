"""Landis+Gyr (FLAG ``LUG``): ULTRAHEAT heat meters (also sold as Metrona Ultraheat).

Optical port: the ULTRAHEAT UH50 / T550 (also sold as Siemens UH50) answer an
EN 62056-21 (IEC 1107) data readout on their optical port: 40 NUL characters,
``/?!`` at 300 baud 7E1, identification ``/LUGCUH50``, mode B, the data at
2400 baud (:mod:`drivers.iec62056`, register map :mod:`drivers.iec62056.landis`).
After a run of NUL characters at 2400 baud 8E1 the port speaks M-Bus instead:
the family's wake-up profile is the generic ``nul`` profile (0x00 for 0.9 s,
even parity, 100 ms pause). Sources in docs/bus.md (protocol table).

The simulated layout follows the libmbus frame of an ULTRAHEAT XS: BCD values,
energy in kWh, power in kW, temperatures in whole °C.
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R
from drivers.wakeup import NUL

MAKE = Make(
    key="landis_gyr", name="Landis+Gyr", flags=("LUG",),
    models={"LUG": {0x02: "ULTRAHEAT XS"}},        # libmbus frame metrona_ultraheat_xs
    wakeup=NUL,                                    # M-Bus on the optical port after NUL characters (T230/T330 family)
    optical_protocol="iec62056-21",
    optical_note="UH50 / T550: 40 NUL, /?! at 300 Bd 7E1, mode B, data at 2400 Bd",
    simulator={"landis": (
        R("energy", 0x06, "bcd8"), R("volume", 0x14, "bcd8"), R("power", 0x2E, "bcd6"), R("flow", 0x3B, "bcd6"),
        R("t_flow", 0x5B, "bcd4"), R("t_return", 0x5F, "bcd4"), R("dtheta", 0x62, "bcd4"),
        R("fabrication", 0x78, "bcd8"), R("datetime", 0x6D, "datetime"))},
    sources="libmbus test frame metrona_ultraheat_xs; L+G T550 technical description (optical interface per "
            "EN 62056-21); ultraheat-api (vpathuis/ultraheat); sedelmaier.at UH50 optical interface (40 NULs); "
            "pyMeterBus issue #11 (NUL wake-up of the T230 family)",
)
