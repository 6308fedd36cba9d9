"""Receiver sensitivity of the supported sticks, per radio mode: the floor the connectivity survey measures
its margin from (docs/wireless.md, "Connectivity survey").

Sensitivity is the weakest signal a receiver still decodes reliably (its data sheets quote it for a small
bit or packet error rate). The figures are typical values for the radio mode's chip rate:

* IMST iM871A (radio: Silicon Labs Si1002, EZRadioPRO): -109 dBm in S1 (32.768 kchip/s), -105 dBm in T1 and
  C1 (100 kchip/s), typical figures for its radio, not yet checked against IMST's own data sheet;
* Amber / Würth AMB8465 (radio: TI CC1101): -104 dBm in S1, -100 dBm in T1 and C1: the CC1101's typical
  868 MHz sensitivity at the data rates nearest to the modes' (38.4 kBd for S1; between 38.4 and 250 kBd for
  T1/C1, taken at the conservative end), the stick's own manual giving no figure per mode;
* rtl-wmbus: an SDR whose level is not calibrated in dBm: no figure (the survey then judges by the
  telegrams heard alone);
* the built-in simulator: -105 dBm (the level below which it drops telegrams).

A stick of another revision, or with an external antenna, may differ: the survey records the value it
used, and the user may set another.
"""
from __future__ import annotations

__all__ = ["SENSITIVITY_DBM", "SOURCES", "sensitivity_dbm"]

SENSITIVITY_DBM: dict[tuple[str, str], float] = {
    ("im871a", "s1"): -109.0, ("im871a", "t1"): -105.0, ("im871a", "c1"): -105.0,
    ("amb8465", "s1"): -104.0, ("amb8465", "t1"): -100.0, ("amb8465", "c1"): -100.0,
    ("simulator", "s1"): -105.0, ("simulator", "t1"): -105.0, ("simulator", "c1"): -105.0,
}

SOURCES: dict[str, str] = {
    "im871a": "typical figures for the Si1002 radio of the iM871A (not yet checked against IMST's data sheet)",
    "amb8465": "TI CC1101 data sheet, typical 868 MHz sensitivity at the nearest data rates (AMB8465 radio)",
    "simulator": "the simulator's reception floor",
    "rtl-wmbus": "not calibrated in dBm",
}


def sensitivity_dbm(dongle: str | None, mode: str | None) -> float | None:
    """The typical sensitivity of ``dongle`` (``im871a``, ``amb8465``, ``simulator``) in ``mode``; None when
    not known (rtl-wmbus, an unknown stick)."""
    if not dongle or not mode:
        return None
    return SENSITIVITY_DBM.get((dongle.lower(), mode.lower()))
