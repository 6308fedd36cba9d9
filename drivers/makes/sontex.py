"""Sontex (FLAG ``SON``): Supercal heat meters. The simulated layout follows the libmbus frame of a
Supercal 531 (energy in kWh, volume in 10 l, temperatures in whole °C, flow in 100 l/h)."""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R

MAKE = Make(
    key="sontex", name="Sontex", flags=("SON",),
    models={"SON": {0x0D: "Supercal 531"}},        # libmbus frame sontex_supercal_531_telegram1
    simulator={"sontex": (
        R("energy", 0x06, "int32"), R("volume", 0x14, "int32"), R("t_flow", 0x5B, "int16"),
        R("t_return", 0x5F, "int16"), R("flow", 0x3D, "int16"), R("power", 0x2B, "int32"),
        R("datetime", 0x6D, "datetime"))},
    sources="libmbus test frame sontex_supercal_531_telegram1",
)
