"""Landis+Gyr ULTRAHEAT UH50 / T550 (Siemens UH50): the data sets of the optical readout.

The UH50 calculator (sold as Landis+Gyr ULTRAHEAT T550 and Siemens UH50) answers a
``/?!`` request - sent after a run of NUL characters that wakes its optical port - with
``/LUGCUH50``: maker LUG, baud character ``C`` (protocol mode B, data at 2400 baud),
identification ``UH50`` (a T550 identifies itself the same way). The data message
holds about 25 lines of data sets whose addresses are Landis+Gyr's own, not OBIS
codes of EN 62056-61. What each means was taken from public sources:

* the open-source ``ultraheat-api`` package (PyPI; repository vpathuis/ultraheat),
  used by the Home Assistant "Landis+Gyr Heat Meter" integration: its README
  names every data set it parses, and its tests hold two captured readouts with
  the values they must give (a UH50 in GJ, a T550 in MWh);
* Stefan Sedelmaier, "Siemens UH50 / Landis+Gyr ULTRAHEAT T550 und die optische
  Schnittstelle" (sedelmaier.at, 2016): 40 NUL characters before the request,
  mode B, a captured readout in kWh;
* the volkszaehler.org wiki page "Landis+Gyr UH50 / T550" (mode B, the
  initialisation sequence, 6.8 energy and 6.26 volume);
* psvanstrom/esphome-uh50reader (300 baud request, 2400 baud data, 40 NULs).

``*01`` after an address is the value at the last yearly set day (storage number 1
here); ``6.36`` is the yearly set day (``MM-DD&hh:mm``), ``6.36*02`` the monthly set
day. Data sets not listed below are kept as records of quantity ``unknown`` with
their text, never dropped or guessed.
"""
from __future__ import annotations

import datetime as _dt
import re

from drivers.iec62056.message import DataSet
from drivers.optical.readout import OpticalRecord, parse_decimal, record, scale

# base address -> (quantity, function, tariff, subunit)
NUMERIC: dict[str, tuple[str, str, int, int]] = {
    "6.8": ("energy", "instantaneous", 0, 0),          # heat energy
    "6.26": ("volume", "instantaneous", 0, 0),
    "6.6": ("power", "maximum", 0, 0),                 # maximum power of the period
    "6.33": ("volume_flow", "maximum", 0, 0),          # maximum flow rate
    "6.31": ("on_time", "instantaneous", 0, 0),        # operating hours
    "6.32": ("error_time", "instantaneous", 0, 0),     # hours in error
    "6.35": ("averaging_duration", "instantaneous", 0, 0),  # measuring period of the maxima
    "9.24": ("nominal_flow", "instantaneous", 0, 0),   # qp of the flow sensor (measuring range)
    "9.31": ("flow_time", "instantaneous", 0, 0),      # hours with flow
    "8.26.1": ("volume", "instantaneous", 0, 1),       # pulse input 1
    "8.26.2": ("volume", "instantaneous", 0, 2),       # pulse input 2
}
for _t in range(1, 6):
    NUMERIC[f"6.8.{_t}"] = ("energy", "instantaneous", _t, 0)      # tariff registers
    NUMERIC[f"6.26.{_t}"] = ("volume", "instantaneous", _t, 0)

# address -> quantity of a text value
TEXT = {"9.20": "fabrication_number", "9.21": "customer", "0.0": "device_address", "9.1": "settings_and_firmware"}

_ADDR = re.compile(r"^(?P<base>[0-9A-Z]+(?:\.[0-9]+)*)(?:\*(?P<hist>[0-9]{1,2}))?$")


def joined(ds: DataSet) -> str:
    """The whole value of a data set as sent (its ``&``-separated parts joined again)."""
    return "&".join(v + (f"*{u}" if u else "") for v, u in ds.values)


def _unknown(ds: DataSet, storage: int, why: str = "") -> OpticalRecord:
    value = joined(ds) if ds.values else None
    return record("unknown", "", value or None, ds.text.encode("ascii"), register=ds.address, text=ds.text,
                  storage=storage, flags=(why,) if why else ())


def _numeric(ds: DataSet, part: tuple, quantity: str, function: str, tariff: int, subunit: int,
             storage: int) -> OpticalRecord:
    raw = ds.text.encode("ascii")
    v, u = part
    if v == "":
        return record(quantity, "", None, raw, register=ds.address, text=ds.text, storage=storage, tariff=tariff,
                      subunit=subunit, function=function)
    d = parse_decimal(v)
    scaled = scale(d, u) if d is not None else None
    if scaled is None:
        return _unknown(ds, storage, f"value {v!r} unit {u!r} not understood")
    value, unit = scaled
    return record(quantity, unit, value, raw, register=ds.address, text=ds.text, storage=storage, tariff=tariff,
                  subunit=subunit, function=function)


def _datetime(ds: DataSet) -> OpticalRecord:
    raw = ds.text.encode("ascii")
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:&(\d{2}):(\d{2})(?::(\d{2}))?)?", joined(ds))
    if not m:
        return _unknown(ds, 0, "not a date")
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    try:
        t = _dt.datetime(y, mo, d, h, mi, s)
    except ValueError:
        return record("datetime", "", None, raw, register=ds.address, text=ds.text, flags=("invalid",))
    return record("datetime", "", t.isoformat(), raw, register=ds.address, text=ds.text)


def _set_day(ds: DataSet, quantity: str, storage: int) -> OpticalRecord:
    v = joined(ds).replace("&", " ") or None
    return record(quantity, "", v, ds.text.encode("ascii"), register=ds.address, text=ds.text, storage=storage)


def last_set_day(set_day: str, meter_time: str) -> str | None:
    """The latest yearly set day (``MM-DD&hh:mm``) at or before the meter's date-time, ISO date."""
    m = re.fullmatch(r"(\d{2})-(\d{2})(?:&(\d{2}):(\d{2}))?", set_day or "")
    try:
        now = _dt.datetime.fromisoformat(meter_time)
    except (TypeError, ValueError):
        return None
    if not m:
        return None
    mo, d = int(m.group(1)), int(m.group(2))
    h, mi = int(m.group(3) or 0), int(m.group(4) or 0)
    for year in (now.year, now.year - 1):
        try:
            cand = _dt.datetime(year, mo, d, h, mi)
        except ValueError:
            return None
        if cand <= now:
            return cand.date().isoformat()
    return None


def records_from_datasets(datasets: list[DataSet]) -> tuple[list[OpticalRecord], str | None, list[str]]:
    """Records of a UH50/T550 readout, the meter's identification, and notes.

    The identification is the device address ``0.0`` (what ``/?ADDRESS!`` selects),
    else the customer number ``9.21``, else the fabrication number ``9.20``. A date
    record of storage number 1 is added, derived from the yearly set day ``6.36``
    and the meter's clock ``9.36`` (flag ``derived``), so the ``*01`` values get
    their date in the history.
    """
    out: list[OpticalRecord] = []
    notes: list[str] = []
    texts: dict[str, str] = {}
    for ds in datasets:
        m = _ADDR.match(ds.address)
        if not m:
            out.append(_unknown(ds, 0, "address not understood"))
            continue
        base, hist = m.group("base"), m.group("hist")
        storage = int(hist) if hist else 0
        if base == "6.36" and not ds.address.startswith("6.36."):
            # 6.36 yearly set day, 6.36*02 monthly set day (not a storage number)
            quantity = "monthly_set_day" if storage == 2 else "yearly_set_day"
            out.append(_set_day(ds, quantity, 0))
            texts.setdefault(quantity, joined(ds))
            continue
        if base == "9.36":
            out.append(_datetime(ds))
            texts.setdefault("9.36", joined(ds))
            continue
        if base == "F":
            v = ds.value
            out.append(record("error_flags", "", int(v) if v.isdigit() else (v or None), ds.text.encode("ascii"),
                              register=ds.address, text=ds.text, storage=storage))
            continue
        if base == "9.4":
            # maximum flow and return temperature, "098.5*C&096.1*C"
            for part, q in zip(ds.values, ("flow_temperature", "return_temperature")):
                out.append(_numeric(ds, part, q, "maximum", 0, 0, storage))
            continue
        if base in TEXT:
            v = (joined(ds) if base == "9.1" else ds.value) or None
            out.append(record(TEXT[base], "", v, ds.text.encode("ascii"), register=ds.address, text=ds.text,
                              storage=storage))
            if v:
                texts.setdefault(base, v)
            continue
        if base in NUMERIC and len(ds.values) <= 1:
            q, fn, tariff, sub = NUMERIC[base]
            part = ds.values[0] if ds.values else ("", "")
            out.append(_numeric(ds, part, q, fn, tariff, sub, storage))
            continue
        out.append(_unknown(ds, storage))
    ident = texts.get("0.0") or texts.get("9.21") or texts.get("9.20")
    clock = next((r.value for r in out if r.quantity == "datetime" and r.value), None)
    if any(r.storage == 1 for r in out) and clock:
        day = last_set_day(texts.get("yearly_set_day", ""), clock)
        if day:
            out.append(record("date", "", day, b"", register="6.36", storage=1, flags=("derived",),
                              text=f"6.36({texts.get('yearly_set_day')}) before 9.36({texts.get('9.36')})"))
        else:
            notes.append("no yearly set day: the *01 values have no date")
    return out, ident, notes


def generic_records(datasets: list[DataSet]) -> list[OpticalRecord]:
    """Data sets of a meter without a register map: quantities only where the unit leaves no doubt."""
    by_unit = {"Wh": "energy", "J": "energy", "m3": "volume", "W": "power", "m3/h": "volume_flow"}
    out = []
    for ds in datasets:
        m = _ADDR.match(ds.address)
        storage = int(m.group("hist")) if m and m.group("hist") else 0
        part = ds.values[0] if len(ds.values) == 1 else None
        d = parse_decimal(part[0]) if part else None
        scaled = scale(d, part[1]) if d is not None else None
        if scaled is not None and scaled[1] in by_unit:
            out.append(record(by_unit[scaled[1]], scaled[1], scaled[0], ds.text.encode("ascii"),
                              register=ds.address, text=ds.text, storage=storage))
        else:
            out.append(_unknown(ds, storage))
    return out
