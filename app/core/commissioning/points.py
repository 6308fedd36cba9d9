"""Checks that depend on the monitoring point: the data items MMS Annex A asks of it, VWAFT against the
design flow temperature at a substation offtake (HNTAS SS-KPI-09A), and the approach temperature of a
substation whose intake and offtake are both commissioned (SS-KPI-12).

**Data items** (MMS 2025 draft, Annex A, tables A.1-A.5, "Data required at Monitoring Point" and
"Minimum frequency of reads"): a thermal energy meter point (EC2, EC3, DD1, DD2, SS1, SS2, SS7, CD1, CD2,
CC1) needs the meter read (kWh), instantaneous power, flow rate, flow and return temperature and volume;
EC2 and EC3 list error codes too. Error codes are asked of every thermal energy meter point here: MMS
2.1.3 has the ARMS report the Monitoring Points' faults as error codes, and HNTAS SS-KPI-03 counts a meter
as operating as expected only with "no error codes" - which needs a meter that sends them. A meter sends
them in its status byte (EN 13757-3 variable data header) or an error-flags register (EN 62056-21 ``F``,
KMP info code). The read frequency (5 or 30 minutes) is shown by the observation window when it polled at
least that often and was complete.

**SS-KPI-09A** VWAFT = Σ(θ·q)/Σq at the substation offtake (SS2) within ±3 °C of the substation's
(design) flow temperature. At commissioning the window is short (minutes, not the KPI's month): the check
says whether the set point is met now.

**SS-KPI-12** approach temperature: the difference of the return temperatures at the substation's
offtake (SS2) and intake (SS1), at most 5 °C. Here approach = θ_return(SS1) - θ_return(SS2): the primary
return leaves the exchanger warmer than the secondary return enters it, so a working substation gives a
positive approach; a negative one points at swapped sensors or meters at the wrong points.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.core.commissioning.checks import ReadoutValues
from app.core.commissioning.verdict import FAIL, PASS, WARN, CheckResult

THERMAL_POINTS = ("EC2", "EC3", "DD1", "DD2", "SS1", "SS2", "SS7", "CD1", "CD2", "CC1")


@dataclass(frozen=True)
class DataItem:
    key: str
    words: str


ENERGY = DataItem("energy", "meter read (kWh)")
POWER = DataItem("power", "instantaneous power (kW)")
FLOW = DataItem("flow", "flow rate (m³/h)")
T_FLOW = DataItem("t_flow", "flow temperature (°C)")
T_RETURN = DataItem("t_return", "return temperature (°C)")
VOLUME = DataItem("volume", "volume (m³)")
ERRORS = DataItem("error_codes", "error codes")
THERMAL = (ENERGY, POWER, FLOW, T_FLOW, T_RETURN, VOLUME, ERRORS)

#: Annex A id -> the data items a heat meter there must send (points without a heat meter are absent)
DATA_ITEMS: dict[str, tuple[DataItem, ...]] = {
    **{p: THERMAL for p in THERMAL_POINTS},
    "EC1": (ENERGY,), "EC4": (ENERGY,), "SS3": (ENERGY,),     # energy input / pump electricity meters
    "EC5": (VOLUME,), "SS4": (VOLUME,),                        # top-up water meters
}
CLAUSES = {"EC2": "MMS Annex A table A.1", "EC3": "MMS Annex A table A.1", "EC1": "MMS Annex A table A.1",
           "EC4": "MMS Annex A table A.1", "EC5": "MMS Annex A table A.1", "DD1": "MMS Annex A table A.2",
           "DD2": "MMS Annex A table A.2", "SS1": "MMS Annex A table A.3", "SS2": "MMS Annex A table A.3",
           "SS3": "MMS Annex A table A.3", "SS4": "MMS Annex A table A.3", "SS7": "MMS Annex A table A.3",
           "CD1": "MMS Annex A table A.4", "CD2": "MMS Annex A table A.4", "CC1": "MMS Annex A table A.5"}


def present(item: DataItem, v: ReadoutValues) -> bool:
    if item is ERRORS:
        return v.status is not None or v.error_flags is not None
    return {"energy": v.energy_kwh, "power": v.power_kw, "flow": v.flow_m3h, "t_flow": v.t_flow_c,
            "t_return": v.t_return_c, "volume": v.volume_m3}[item.key] is not None


def check_data_items(mms_id: str | None, latest: ReadoutValues | None, *, read_interval_min: int | None = None,
                     poll_interval_s: float | None = None, completeness_status: str | None = None) -> CheckResult:
    """The data items of the monitoring point (see the module docstring) in the meter's readout, and
    whether the observation window polled at least as often as the point's minimum read frequency.

    Pass: every item present (and the read frequency shown, when an observation ran). Fail: an item
    missing. Warn: the point is not an Annex A meter point, or no readout / no observation yet."""
    title = "Data items of the monitoring point"
    mp = (mms_id or "").strip().upper() or None
    vals: dict = {"mms_id": mp, "read_interval_min": read_interval_min, "poll_interval_s": poll_interval_s}
    items = DATA_ITEMS.get(mp or "")
    if items is None:
        return CheckResult("data_items", title, WARN,
                           f"Not checked: {mp or 'no monitoring point'} is not an MMS Annex A meter point "
                           "(choose its Annex A id on the Place step).", vals)
    if latest is None:
        return CheckResult("data_items", title, WARN, f"Not checked yet: {mp} needs a readout.", vals)
    missing = [i for i in items if not present(i, latest)]
    vals.update(required=[i.key for i in items], missing=[i.key for i in missing])
    need = ", ".join(i.words for i in items)
    every = f" every {read_interval_min} min" if read_interval_min else ""
    clause = CLAUSES.get(mp, "MMS Annex A")
    if missing:
        return CheckResult("data_items", title, FAIL,
                           f"{mp} needs {need}{every} ({clause}); the meter does not send "
                           f"{', '.join(i.words for i in missing)}.", vals)
    if read_interval_min and poll_interval_s is not None:
        ok = poll_interval_s <= read_interval_min * 60.0 and completeness_status in (None, PASS)
        vals["frequency_shown"] = ok
        if not ok:
            return CheckResult("data_items", title, WARN,
                               f"{mp}: all {len(items)} data items sent, but the observation did not show reads "
                               f"every {read_interval_min} min (polled every {poll_interval_s:.0f} s, "
                               f"completeness {completeness_status}).", vals)
        return CheckResult("data_items", title, PASS,
                           f"{mp}: all {len(items)} data items sent ({need}); read every {poll_interval_s:.0f} s "
                           f"in the observation, at least every {read_interval_min} min as required ({clause}).",
                           vals)
    return CheckResult("data_items", title, PASS, f"{mp}: all {len(items)} data items sent ({need}; {clause}).",
                       vals)


VWAFT_TOLERANCE_K = 3.0      # HNTAS SS-KPI-09A threshold: [substation flow temperature] ± 3 °C
APPROACH_MAX_K = 5.0         # HNTAS SS-KPI-12 threshold: ≤ 5 °C


def check_vwaft_setpoint(mms_id: str | None, vwaft_c: float | None, design_flow_c: float | None,
                         tolerance_k: float = VWAFT_TOLERANCE_K) -> CheckResult | None:
    """SS-KPI-09A at a substation offtake (SS2): VWAFT within ±3 °C of the design flow temperature.
    None for any other point (the KPI is defined at SS2 only)."""
    if (mms_id or "").strip().upper() != "SS2":
        return None
    title = "VWAFT at the design flow temperature (SS-KPI-09A)"
    vals = {"vwaft_c": vwaft_c, "design_flow_c": design_flow_c, "tolerance_k": tolerance_k}
    if design_flow_c is None:
        return CheckResult("vwaft_setpoint", title, WARN,
                           "Not checked: enter the substation's design flow temperature (Place step).", vals)
    if vwaft_c is None:
        return CheckResult("vwaft_setpoint", title, WARN,
                           "Not checked yet: VWAFT comes from the observation window (no flow yet).", vals)
    d = vwaft_c - design_flow_c
    vals["difference_k"] = d
    words = f"VWAFT {vwaft_c:.1f} °C, design flow temperature {design_flow_c:.1f} °C: {d:+.1f} K"
    if abs(d) <= tolerance_k:
        return CheckResult("vwaft_setpoint", title, PASS, f"{words}, within ±{tolerance_k:.0f} K.", vals)
    return CheckResult("vwaft_setpoint", title, FAIL,
                       f"{words}, outside ±{tolerance_k:.0f} K: check the flow temperature set point.", vals)


def approach_temperature(ss1_return_c: float | None, ss2_return_c: float | None) -> float | None:
    """θ_return(SS1) − θ_return(SS2) (see the module docstring), None when either is unknown."""
    if ss1_return_c is None or ss2_return_c is None:
        return None
    return ss1_return_c - ss2_return_c


def check_approach(ss1_return_c: float | None, ss2_return_c: float | None, *, other: str = "",
                   hours_apart: float | None = None, max_k: float = APPROACH_MAX_K) -> CheckResult:
    """SS-KPI-12 from the mean return temperatures of the substation's SS1 and SS2 observation windows.
    ``other``: the other point's record, for the message; ``hours_apart``: between the two windows (the
    KPI averages simultaneous time points; windows far apart make the result indicative only)."""
    title = "Approach temperature SS1/SS2 (SS-KPI-12)"
    a = approach_temperature(ss1_return_c, ss2_return_c)
    vals = {"ss1_return_c": ss1_return_c, "ss2_return_c": ss2_return_c, "approach_k": a, "max_k": max_k,
            "hours_apart": hours_apart, "other": other}
    if a is None:
        return CheckResult("approach", title, WARN,
                           "Not checked: needs the mean return temperatures of both SS1 and SS2.", vals)
    when = "" if hours_apart is None or hours_apart <= 1.0 else \
        f" (windows {hours_apart:.0f} h apart: indicative only)"
    words = (f"Return SS1 {ss1_return_c:.1f} °C, SS2 {ss2_return_c:.1f} °C: approach {a:.1f} K"
             f"{' with ' + other if other else ''}{when}")
    if a < 0:
        return CheckResult("approach", title, WARN,
                           f"{words}: the primary return is colder than the secondary return; check the "
                           "sensors and which meter is at SS1 and SS2.", vals)
    if a <= max_k:
        return CheckResult("approach", title, PASS, f"{words}, at most {max_k:.0f} K.", vals)
    return CheckResult("approach", title, FAIL, f"{words}, above {max_k:.0f} K: check the heat exchanger and "
                       "its controls.", vals)
