"""Kamstrup (FLAG ``KAM``) heat meters: the volume-weighted temperature registers.

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
"""
from __future__ import annotations

# VIF + VIFE of the record -> which pipe's temperature it weights
VOLUME_WEIGHTED = {bytes([0xFF, 0x07]): "flow", bytes([0xFF, 0x08]): "return"}
REGISTER_NAMES = {"flow": "Kamstrup E8 (flow temperature × volume)",
                  "return": "Kamstrup E9 (return temperature × volume)"}
