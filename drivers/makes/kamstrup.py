"""Kamstrup (FLAG ``KAM``): MULTICAL heat meters, their volume-weighted temperature registers.

MULTICAL meters keep two registers beside energy and volume: E8, the sum of
flow temperature x volume (m³·°C), and E9, the same for the return
temperature. Divided by the volume register V1 they give the volume-weighted
average flow and return temperatures since the meter was started (the
"supply energy" and "return energy" of district-heating billing). They are
sent as manufacturer-specific records: DIF 0x04 (32-bit integer), VIF 0xFF
and VIFE 0x07 (E8) or 0x08 (E9), the value in whole m³·°C. That coding is the
one in published captured telegrams of a MULTICAL 603 (e.g. E8 = 15673 m³·°C
and E9 = 9390 m³·°C with V1 = 268.71 m³: averages 58.3 °C and 34.9 °C beside
current temperatures of 52.3 °C and 23.0 °C).

The optical eye of MULTICAL 30x/40x/60x meters speaks the Kamstrup Meter
Protocol (KMP, :mod:`drivers.kmp`); with the 0x55 profile below it answers
M-Bus on the modules that offer it.

The simulated layout follows the libmbus frame of a MULTICAL 601 (energy in
kWh steps, volume in 10 l, hours, temperatures in 0.01 °C, power in 100 W,
flow in l/h, a date-time and the previous month's values in storage 1).
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R
from drivers.wakeup import WakeupProfile

# VIF + VIFE of the record -> which pipe's temperature it weights
VOLUME_WEIGHTED = {bytes([0xFF, 0x07]): "flow", bytes([0xFF, 0x08]): "return"}
REGISTER_NAMES = {"flow": "Kamstrup E8 (flow temperature × volume)",
                  "return": "Kamstrup E9 (return temperature × volume)"}

MAKE = Make(
    key="kamstrup", name="Kamstrup", flags=("KAM",),
    models={"KAM": {0x08: "MULTICAL 601",          # libmbus frame kamstrup_multical_601
                    0x35: "MULTICAL 603"}},        # wmbusmeters multical603 detection (KAM, version 0x35)
    wakeup=WakeupProfile("kamstrup", 0x55, 2200, "N", 150, True, 20.0,
                         note="Kamstrup MULTICAL optical eye in M-Bus mode: 0x55 preamble (no vendor figure "
                              "published)", label="Optical head, Kamstrup"),
    volume_weighted=VOLUME_WEIGHTED, register_names=REGISTER_NAMES,
    optical_protocol="kmp",
    optical_note="MULTICAL 30x/40x/60x optical eye: KMP at 1200 Bd 8N2 (the head's magnet switches the eye on)",
    simulator={"kamstrup": (
        R("fabrication", 0x78, "bcd8"), R("energy", 0x06, "int32"),
        R("flow_temp_volume", 0xFF, "int32", vife=(0x07,)), R("return_temp_volume", 0xFF, "int32", vife=(0x08,)),
        R("volume", 0x14, "int32"), R("on_time", 0x22, "int32", offset=3600.0 * 24 * 400),
        R("t_flow", 0x59, "int32"), R("t_return", 0x5D, "int32"), R("dtheta", 0x61, "int32"),
        R("power", 0x2D, "int32"), R("flow", 0x3B, "int32"), R("datetime", 0x6D, "datetime"),
        R("energy", 0x06, "int32", storage=1), R("volume", 0x14, "int32", storage=1),
        R("month_start", 0x6C, "date", storage=1))},
    sources="libmbus test frames; wmbusmeters driver multical603; published MULTICAL 603 telegrams (E8/E9); "
            "KMP: Kamstrup's KMP description as quoted by PyKMP, PyKamstrup, MeterLogger",
)
