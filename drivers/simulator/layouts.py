"""Record layouts of the simulated meters, modelled on real telegrams.

Each layout lists the records a make sends (VIF, data coding, storage, tariff)
in the style of the real frames of the conformance corpus (Kamstrup Multical
601, Landis+Gyr Ultraheat, Itron CF Echo 2, Sensus PolluStat E, Sontex
Supercal 531, Engelmann SensoStar, Elster F2, a GWF water meter) and fills in
the values from the meter's hydraulic state. The make layouts are declared by
the make modules (``drivers.makes``: ``Make.simulator``, a tuple of
:class:`~drivers.makes.base.SimRecord`); ``generic`` and ``heat_cooling``
belong to no make and are here (:data:`BUILTIN`). Values are in the canonical units
of the decode contract (Wh, m3, W, m3/h, degC, K, s, ISO dates); the encoding
itself is done by the decoder package's telegram encoder.

Telegram 1 carries the current values; a multi-telegram meter sends monthly
history (storage numbers 1..) in telegrams 2..n.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from drivers.makes.base import SimRecord

if TYPE_CHECKING:  # pragma: no cover
    from drivers.simulator.meter import SimMeter


@dataclass(frozen=True)
class Rec:
    """One data record: what it means (quantity, value) and how it is coded (vif, coding)."""

    quantity: str
    value: object                  # canonical unit of the decode contract; str for dates/identifiers
    vif: int                       # primary VIF (0xFD: the next byte is vife[0])
    coding: str                    # int8/int16/int24/int32/int48/bcd2/bcd4/bcd6/bcd8/bcd12/date/datetime
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    function: str = "instantaneous"
    vife: tuple[int, ...] = ()
    unit: str = ""
    modifiers: tuple[str, ...] = ()      # e.g. ("accumulation_negative",): a cooling register
    scale: object = None                 # with modifiers: the VIF step in canonical units

    @property
    def step(self) -> str | None:
        """The VIF step in canonical units (what the encoder needs to pick this VIF), None for non-numbers."""
        sc = VIF_SCALE.get(self.vif, (None, None, None))[2]
        return None if sc is None or isinstance(self.value, str) else repr(sc)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["vife"] = list(self.vife)
        d["modifiers"] = list(self.modifiers)
        d["scale"] = None if self.scale is None else str(self.scale)
        return d


# scale of each VIF we use: value_in_canonical_unit = raw * scale
VIF_SCALE = {
    0x03: ("energy", "Wh", 1.0), 0x04: ("energy", "Wh", 10.0), 0x05: ("energy", "Wh", 100.0),
    0x06: ("energy", "Wh", 1000.0), 0x07: ("energy", "Wh", 10000.0),
    0x13: ("volume", "m3", 0.001), 0x14: ("volume", "m3", 0.01), 0x15: ("volume", "m3", 0.1),
    0x22: ("on_time", "s", 3600.0), 0x26: ("operating_time", "s", 3600.0), 0x27: ("operating_time", "s", 86400.0),
    0x2A: ("power", "W", 0.1), 0x2B: ("power", "W", 1.0), 0x2C: ("power", "W", 10.0), 0x2D: ("power", "W", 100.0),
    0x2E: ("power", "W", 1000.0),
    0x3B: ("volume_flow", "m3/h", 0.001), 0x3C: ("volume_flow", "m3/h", 0.01), 0x3D: ("volume_flow", "m3/h", 0.1),
    0x59: ("flow_temperature", "degC", 0.01), 0x5A: ("flow_temperature", "degC", 0.1),
    0x5B: ("flow_temperature", "degC", 1.0),
    0x5D: ("return_temperature", "degC", 0.01), 0x5E: ("return_temperature", "degC", 0.1),
    0x5F: ("return_temperature", "degC", 1.0),
    0x60: ("temperature_difference", "K", 0.001), 0x61: ("temperature_difference", "K", 0.01),
    0x62: ("temperature_difference", "K", 0.1),
    0x6C: ("date", "", None), 0x6D: ("datetime", "", None),
    0x78: ("fabrication_number", "", None), 0x7A: ("bus_address", "", None),
}


def quantize(vif: int, value: float, coding: str) -> float | int:
    """The value a meter would show after coding it with ``vif``: raw integer times the VIF scale."""
    q, unit, scale = VIF_SCALE[vif]
    raw = int(round(value / scale))
    digits = {"bcd2": 2, "bcd4": 4, "bcd6": 6, "bcd8": 8, "bcd12": 12}.get(coding)
    if digits:
        raw = max(-(10 ** (digits - 1) - 1), min(raw, 10 ** digits - 1))
    else:
        bits = {"int8": 8, "int16": 16, "int24": 24, "int32": 32, "int48": 48, "int64": 64}[coding]
        raw = max(-(1 << (bits - 1)), min(raw, (1 << (bits - 1)) - 1))
    v = raw * scale
    if abs(scale - round(scale)) < 1e-12 and scale >= 1:
        return int(raw * int(round(scale)))
    # keep decimal scaling exact in the sense of the contract (round to the VIF's resolution)
    decimals = max(0, -int(round(math.log10(scale))))
    return round(v, decimals)


def _r(vif: int, value: float, coding: str, **kw) -> Rec:
    q, unit, _ = VIF_SCALE[vif]
    return Rec(q, quantize(vif, value, coding), vif, coding, unit=unit, **kw)


def _mfr(vife: int, value: float, storage: int = 0) -> Rec:
    """A manufacturer-specific record (VIF 0xFF + ``vife``), 32-bit integer, value unscaled."""
    return Rec("manufacturer_specific", int(round(value)), 0xFF, "int32", storage=storage, vife=(vife,))


def _date(d: _dt.date, storage: int = 0) -> Rec:
    return Rec("date", d.isoformat(), 0x6C, "date", storage=storage)


def _datetime(t: _dt.datetime, storage: int = 0) -> Rec:
    return Rec("datetime", t.replace(second=0, microsecond=0).isoformat(), 0x6D, "datetime", storage=storage)


def _fab(ident: str) -> Rec:
    return Rec("fabrication_number", ident, 0x78, "bcd8")


# layouts that belong to no make (a make module declares its own: drivers.makes, Make.simulator)
BUILTIN: dict[str, tuple[SimRecord, ...]] = {
    "generic": (
        SimRecord("energy", 0x06, "int32"), SimRecord("volume", 0x14, "int32"), SimRecord("power", 0x2B, "int32"),
        SimRecord("flow", 0x3B, "int32"), SimRecord("t_flow", 0x59, "int16"), SimRecord("t_return", 0x5D, "int16"),
        SimRecord("datetime", 0x6D, "datetime")),
    # a heat/cooling meter: the heating register, and the cooling register as a negative accumulation
    "heat_cooling": (
        SimRecord("fabrication", 0x78, "bcd8"), SimRecord("heat_energy", 0x06, "int32"),
        SimRecord("cooling_energy", 0x06, "int32", modifiers=("accumulation_negative",), scale=1000),
        SimRecord("volume", 0x14, "int32"), SimRecord("heat_power", 0x2B, "int32"), SimRecord("flow", 0x3B, "int32"),
        SimRecord("t_flow", 0x59, "int16"), SimRecord("t_return", 0x5D, "int16"),
        SimRecord("heat_dtheta", 0x61, "int16"), SimRecord("datetime", 0x6D, "datetime")),
}


def all_layouts() -> dict[str, tuple[SimRecord, ...]]:
    """Layout name -> records of telegram 1: the built-in ones and those of the make modules."""
    from drivers.makes import simulator_layouts

    out = dict(BUILTIN)
    for name, recs in simulator_layouts().items():
        out.setdefault(name, recs)      # a make cannot redefine "generic" or "heat_cooling"
    return out


def layout_names() -> tuple[str, ...]:
    return tuple(all_layouts())


def _values(m: "SimMeter", now_s: float) -> dict:
    """The current value of every record source (drivers.makes.base.SIM_SOURCES) of meter ``m``."""
    s = m.state
    clock = m.clock(now_s)
    cooling = s.kind == "cooling"
    return {
        "fabrication": m.cfg.identification,
        "energy": s.cooling_energy_wh if cooling else s.energy_wh,
        "heat_energy": s.energy_wh, "cooling_energy": s.cooling_energy_wh, "volume": s.volume_m3,
        "power": -s.power_w if cooling else s.power_w, "heat_power": s.power_w, "flow": s.flow_m3h,
        "t_flow": s.theta_flow_c, "t_return": s.theta_return_c,
        "dtheta": -(s.theta_flow_c - s.theta_return_c) if cooling else s.theta_flow_c - s.theta_return_c,
        "heat_dtheta": s.theta_flow_c - s.theta_return_c, "on_time": s.on_time_s,
        "flow_temp_volume": s.flow_temp_volume_m3c, "return_temp_volume": s.return_temp_volume_m3c,
        "datetime": clock, "month_start": clock.date().replace(day=1),
    }


def _record(spec: SimRecord, values: dict) -> Rec:
    v = values[spec.source]
    if spec.source == "fabrication":
        return _fab(v)
    if spec.source == "datetime":
        return _datetime(v, storage=spec.storage)
    if spec.source == "month_start":
        return _date(v, storage=spec.storage)
    v = v * spec.factor + spec.offset
    if spec.vif == 0xFF:
        return Rec("manufacturer_specific", int(round(v)), 0xFF, spec.coding, storage=spec.storage, vife=spec.vife)
    if spec.modifiers:
        q, unit, _ = VIF_SCALE[spec.vif]
        return Rec(q, quantize(spec.vif, v, spec.coding), spec.vif, spec.coding, storage=spec.storage, unit=unit,
                   modifiers=spec.modifiers, scale=spec.scale)
    return _r(spec.vif, v, spec.coding, storage=spec.storage)


STORED_SOURCES = {"energy", "heat_energy", "cooling_energy", "volume", "month_start"}


def _stored_values(m: "SimMeter", now_s: float, storage: int) -> dict:
    """The values of storage number ``storage`` (the meter's monthly history, stable between reads)."""
    day1, old = m.stored(now_s, storage)
    cooling = m.state.kind == "cooling"
    return {"energy": old["cooling_energy_wh"] if cooling else old["energy_wh"],
            "heat_energy": old["energy_wh"], "cooling_energy": old["cooling_energy_wh"],
            "volume": old["volume_m3"], "month_start": day1}


def _current(m: "SimMeter", now_s: float) -> list[Rec]:
    layouts = all_layouts()
    specs = layouts.get(m.cfg.layout, layouts["generic"])
    values = _values(m, now_s)
    stored: dict[int, dict] = {}
    out = []
    for spec in specs:
        if spec.storage and spec.source in STORED_SOURCES:
            if spec.storage not in stored:
                stored[spec.storage] = {**values, **_stored_values(m, now_s, spec.storage)}
            out.append(_record(spec, stored[spec.storage]))
        else:
            out.append(_record(spec, values))
    return out


def _history(m: "SimMeter", now_s: float, first_storage: int, count: int) -> list[Rec]:
    """Values of the meter's monthly history (stable between reads, see simulator.history), oldest last."""
    out: list[Rec] = []
    cooling = m.state.kind == "cooling"
    for k in range(first_storage, first_storage + count):
        d, vals = m.stored(now_s, k)
        e = vals["cooling_energy_wh"] if cooling else vals["energy_wh"]
        out += [_date(d, storage=k), _r(0x06, e, "int32", storage=k), _r(0x14, vals["volume_m3"], "int32", storage=k)]
    return out


HISTORY_PER_TELEGRAM = 12
BILLING_TYPES = (0x2, 0x3)      # EN 13757-3 application reset: simple / enhanced billing


def build(m: "SimMeter", now_s: float) -> list[list[Rec]]:
    sel = getattr(m, "selection", None)
    months = m.cfg.history_months
    if sel is not None and sel >> 4 in BILLING_TYPES and months:
        # the billing telegrams selected by an application reset: every stored month, 12 per telegram
        return [_history(m, now_s, k, min(HISTORY_PER_TELEGRAM, months - k + 1))
                for k in range(1, months + 1, HISTORY_PER_TELEGRAM)]
    pages = [_current(m, now_s)]
    for t in range(1, m.cfg.telegrams):
        pages.append(_history(m, now_s, 1 + 4 * (t - 1), 4))
    return pages
