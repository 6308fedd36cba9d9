"""KMP registers of the Kamstrup MULTICAL heat meters and their units.

Register ids and names: the register table in the MeterLogger project's KMP code
(nabovarme/MeterLogger, ``user/kamstrup/kmp.c``, a list of Kamstrup's register
ids for MULTICAL 601), the registers read from a MULTICAL 403 by the PyKMP project
(``pykmp/constants.py``) and by the Home Assistant integration ``kamstrup_403``
(golles/ha-kamstrup_403). Unit codes: PyKMP ``UNITS_NAMES`` and PyKamstrup's
``units`` table (the same list, "provided by Erik Jensen").

A register becomes a decoder :class:`~drivers.mbus.decoder.Record` with the
quantity of the decode JSON contract and its value scaled into the canonical
unit; the clock (1002, hh:mm:ss) and date (1003, yy:mm:dd) registers together
make one ``datetime`` record.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal

from drivers.kmp.frame import RegisterValue
from drivers.optical.readout import OpticalRecord, number, record, scale

# unit code -> unit as written (the key of drivers.optical.readout.UNIT_SCALE) or a special format
UNITS: dict[int, str] = {
    0x00: "", 0x01: "Wh", 0x02: "kWh", 0x03: "MWh", 0x04: "GWh", 0x05: "J", 0x06: "kJ", 0x07: "MJ", 0x08: "GJ",
    0x15: "kW", 0x16: "kW", 0x17: "MW", 0x25: "C", 0x26: "K", 0x27: "l", 0x28: "m3", 0x29: "l/h", 0x2A: "m3/h",
    0x2B: "m3*C", 0x2C: "t", 0x2D: "t/h", 0x2E: "h", 0x2F: "hh:mm:ss", 0x30: "yy:mm:dd", 0x31: "yyyy:mm:dd",
    0x32: "mm:dd", 0x33: "", 0x34: "bar", 0x3A: "min", 0x3B: "bitfield", 0x3C: "s", 0x3E: "days",
}


@dataclass(frozen=True)
class Register:
    rid: int
    name: str
    quantity: str
    function: str = "instantaneous"
    subunit: int = 0
    modifiers: tuple = ()


_REGS = [
    Register(60, "E1 heat energy", "energy"),
    Register(63, "E3 cooling energy", "energy", modifiers=("accumulation_negative",)),
    Register(68, "V1 volume", "volume"),
    Register(69, "V2 volume", "volume", subunit=1),
    Register(74, "flow V1", "volume_flow"),
    Register(75, "flow V2", "volume_flow", subunit=1),
    Register(80, "power (V1, T1, T2)", "power"),
    Register(86, "T1 flow temperature", "flow_temperature"),
    Register(87, "T2 return temperature", "return_temperature"),
    Register(88, "T3 temperature", "temperature_t3"),
    Register(89, "T1-T2 temperature difference", "temperature_difference"),
    Register(91, "pressure in flow", "pressure"),
    Register(92, "pressure in return", "pressure", subunit=1),
    Register(97, "E8 (m3 x T1)", "flow_temperature_x_volume"),
    Register(110, "E9 (m3 x T2)", "return_temperature_x_volume"),
    Register(99, "info code", "error_flags"),
    Register(113, "info event counter", "info_event_counter"),
    Register(139, "max flow this month", "volume_flow", function="maximum"),
    Register(143, "max power this month", "power", function="maximum"),
    Register(124, "max flow this year", "volume_flow", function="maximum", subunit=0),
    Register(128, "max power this year", "power", function="maximum"),
    Register(175, "error hour counter", "error_time"),
    Register(1001, "serial number", "fabrication_number"),
    Register(1002, "clock (hh:mm:ss)", "time"),
    Register(1003, "date (yy:mm:dd)", "date"),
    Register(1004, "operating hour counter", "on_time"),
]
REGISTERS: dict[int, Register] = {r.rid: r for r in _REGS}

# what a readout asks for, in GetRegister requests of at most 8
READOUT = (60, 68, 74, 80, 86, 87, 89, 99, 113, 1004, 1002, 1003, 97, 110, 63)


def _as_date(v: Decimal, fmt: str) -> _dt.date | None:
    n = int(v)
    try:
        if fmt == "yy:mm:dd":
            return _dt.date(2000 + n // 10000, n // 100 % 100, n % 100)
        if fmt == "yyyy:mm:dd":
            return _dt.date(n // 10000, n // 100 % 100, n % 100)
    except ValueError:
        return None
    return None


def _as_time(v: Decimal) -> _dt.time | None:
    n = int(v)
    try:
        return _dt.time(n // 10000, n // 100 % 100, n % 100)
    except ValueError:
        return None


def to_record(rv: RegisterValue) -> OpticalRecord:
    """One register -> record (quantity ``unknown`` for an unlisted id or unit, value kept)."""
    reg = REGISTERS.get(rv.register)
    unit = UNITS.get(rv.unit)
    name = f"KMP {rv.register} ({reg.name})" if reg else f"KMP {rv.register}"
    text = f"{rv.register}: {rv.value} [unit 0x{rv.unit:02X}]"
    if reg is None or unit is None:
        return record("unknown", "", number(rv.value), rv.raw, register=name, text=text,
                      flags=("unit not understood",) if unit is None else ())
    if reg.quantity == "date" and unit in ("yy:mm:dd", "yyyy:mm:dd"):
        d = _as_date(rv.value, unit)
        return record("date", "", d.isoformat() if d else None, rv.raw, register=name, text=text,
                      flags=() if d else ("invalid",))
    if reg.quantity == "time" and unit == "hh:mm:ss":
        t = _as_time(rv.value)
        return record("time", "", t.isoformat() if t else None, rv.raw, register=name, text=text,
                      flags=() if t else ("invalid",))
    if reg.quantity == "fabrication_number":
        return record("fabrication_number", "", str(int(rv.value)), rv.raw, register=name, text=text)
    if reg.quantity in ("error_flags", "info_event_counter"):
        return record(reg.quantity, "", int(rv.value), rv.raw, register=name, text=text)
    scaled = scale(rv.value, unit)
    if scaled is None:
        return record("unknown", "", number(rv.value), rv.raw, register=name, text=text)
    value, canon = scaled
    return record(reg.quantity, canon, value, rv.raw, register=name, text=text, function=reg.function,
                  subunit=reg.subunit, modifiers=reg.modifiers)


def to_records(values: list[RegisterValue]) -> list[OpticalRecord]:
    """Records of a readout; clock 1002 + date 1003 are joined into one ``datetime`` record."""
    recs = [to_record(v) for v in values]
    date = next((r for r in recs if r.quantity == "date" and r.value), None)
    time_ = next((r for r in recs if r.quantity == "time" and r.value), None)
    if date is not None and time_ is not None:
        dt = f"{date.value}T{time_.value}"
        joined = record("datetime", "", dt, date.raw + time_.raw, register="KMP 1003 + 1002 (date, clock)",
                        text=f"{date.text}; {time_.text}")
        recs = [r for r in recs if r is not date and r is not time_] + [joined]
    return recs
