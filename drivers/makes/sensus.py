"""Sensus (FLAG ``SEN``; ``SPX`` for Spanner-Pollux, now Sensus, and Metrona PolluTherm): PolluStat,
PolluCom and PolluTherm meters and their optical front port.

Wake-up: a MiniCom3 capture shows 528 characters 0x55 at 2400 Bd (2.2 s), then
SND_NKE to address 0, answered with E5 after 30 ms. The simulated layout follows
the libmbus frame of a PolluStat E (BCD energy, volume in litres, power in W).
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R
from drivers.wakeup import WakeupProfile

MAKE = Make(
    key="sensus", name="Sensus", flags=("SEN", "SPX"), flag_names={"SPX": "Spanner-Pollux"},
    models={"SEN": {0x0E: "PolluStat E",           # libmbus frame SEN_Sensus-PolluStat-E
                    0x0B: "PolluTherm",            # libmbus frame SEN_Sensus-PolluTherm
                    0x08: "PolluCom E"},           # libmbus frame sen_pollucom_e
            "SPX": {0x34: "PolluTherm"}},          # libmbus frame metrona_pollutherm
    wakeup=WakeupProfile("sensus", 0x55, 2300, "N", 100, True, 20.0,
                         note="Sensus PolluCom/PolluStat optical port: 528 x 0x55 at 2400 baud, then SND_NKE to "
                              "address 0", label="Optical head, Sensus"),
    simulator={"sensus": (
        R("energy", 0x06, "bcd8"), R("volume", 0x13, "bcd8"), R("flow", 0x3B, "bcd8"), R("power", 0x2B, "bcd8"),
        R("t_flow", 0x5A, "int16"), R("t_return", 0x5E, "int16"), R("dtheta", 0x60, "int24"),
        R("fabrication", 0x78, "bcd8"))},
    sources="libmbus test frames; volkszaehler wiki 'Sensus PolluCom' (MiniCom3 capture of the wake-up)",
)
