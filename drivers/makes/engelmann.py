"""Engelmann (FLAG ``EFE``): SensoStar heat meters and their optical port.

Wake-up: "optical activation sequence about 2.1 s long of 0x55" (wmbusmeters
issue #46). The simulated layout follows a SensoStar telegram (energy in kWh,
volume in litres, temperatures in 0.01 °C).
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R
from drivers.wakeup import WakeupProfile

MAKE = Make(
    key="engelmann", name="Engelmann", flags=("EFE",),
    wakeup=WakeupProfile("engelmann", 0x55, 2200, "N", 150, True, 20.0,
                         note="Engelmann SensoStar optical port: about 2.1 s of 0x55 before the first request",
                         label="Optical head, Engelmann"),
    simulator={"engelmann": (
        R("fabrication", 0x78, "bcd8"), R("energy", 0x06, "int32"), R("volume", 0x13, "int32"),
        R("power", 0x2B, "int32"), R("flow", 0x3B, "int32"), R("t_flow", 0x59, "int16"), R("t_return", 0x5D, "int16"),
        R("dtheta", 0x61, "int16"), R("datetime", 0x6D, "datetime"))},
    sources="wmbusmeters issue #46 (wake-up); libmbus frames of Engelmann SensoStar meters",
)
