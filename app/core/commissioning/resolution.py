"""The registers an energy-increment check reads, their resolution, and how long to observe.

A meter may offer its energy (or volume) in more than one register: a billing
register in whole kWh and a finer one (Wh, 0.001 MWh, MJ ...), or through its
optical port with more decimals. The check of ΔE = k·ΔV·Δθ is only as good as
the registers' steps, so it reads the **finest** current register of each
(storage 0, tariff 0, subunit 0, instantaneous; for a heat meter the heating
register, for a cooling meter the cooling one).

The step of a register: from the record's VIF for M-Bus (EN 13757-3: energy
10^(n-3) Wh or 10^n J, volume 10^(n-6) m³), from the digits sent for an optical
readout (EN 62056-21 ``6.8(0328.870*GJ)``: 0.001 GJ; KMP ``412.70`` m³: 0.01 m³).

**How long to observe.** Each difference of two readings is uncertain by one
step of each register, i.e. by 100·(step_E/ΔE + step_V/ΔV) %. The check is
conclusive when that is at most the calculator's MPE Ec. With ΔE = P·t and
ΔV = q·t::

    t ≥ 100 · (step_E / P + step_V / q) / Ec        (h, with kWh, kW, m³, m³/h, %)
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_J_PER_KWH = 3.6e6


def _get(rec: Any, key: str, default: Any = None) -> Any:
    return rec.get(key, default) if isinstance(rec, Mapping) else getattr(rec, key, default)


def _raw_hex(rec: Any) -> str | None:
    raw = _get(rec, "raw")
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).hex()
    return raw if isinstance(raw, str) else None


@dataclass(frozen=True)
class RegisterReading:
    """One current register: its value and step in the names' units, and which register it is."""

    value: float
    step: float | None
    label: str


def register_step(raw_hex: str | None) -> float | None:
    """The resolution of an energy (kWh) or volume (m³) register from its record bytes.

    EN 13757-3: after the DIF and its DIFEs (bit 7 = another follows) comes the
    VIF; E000 0nnn is energy in 10^(nnn−3) Wh, E000 1nnn energy in 10^nnn J,
    E001 0nnn volume in 10^(nnn−6) m³. Returns kWh for energy, m³ for volume,
    None for anything else.
    """
    if not raw_hex:
        return None
    try:
        b = bytes.fromhex(raw_hex)
    except ValueError:
        return None
    i = 0
    while i < len(b) and b[i] & 0x80:
        i += 1
    i += 1
    if i >= len(b):
        return None
    vif = b[i] & 0x7F
    n = vif & 0x07
    if vif & 0x78 == 0x00:
        return 10.0 ** (n - 3) / 1000.0
    if vif & 0x78 == 0x08:
        return 10.0 ** n / 3.6e6
    if vif & 0x78 == 0x10:
        return 10.0 ** (n - 6)
    return None


def record_step(rec: Any) -> float | None:
    """The step of an energy (kWh) or volume (m³) record: M-Bus from its VIF, optical from its text."""
    from drivers.protocols import resolution

    if _get(rec, "register"):                     # an optical record: EN 62056-21 or KMP
        step = resolution(rec)
        if step is None:
            return None
        unit = _get(rec, "unit", "")
        return step / 1000.0 if unit == "Wh" else step / _J_PER_KWH if unit == "J" else step
    return register_step(_raw_hex(rec))


def _current(rec: Any) -> bool:
    return not (_get(rec, "storage", 0) or _get(rec, "tariff", 0) or _get(rec, "subunit", 0)
                or _get(rec, "function", "instantaneous") != "instantaneous")


def _label(rec: Any, step: float | None, unit: str) -> str:
    reg = _get(rec, "register")
    where = f"register {reg}" if reg else "M-Bus record"
    return f"{where}, step {step:g} {unit}" if step is not None else f"{where}, step unknown"


def energy_registers(records: Iterable[Any], kind: str = "heat") -> list[RegisterReading]:
    """The meter's current energy registers (kWh): the heating ones, or for a cooling meter the
    cooling ones (``accumulation_negative``; a cooling-only meter's plain register when it has none)."""
    recs = [r for r in records if _current(r) and _get(r, "quantity") == "energy"]
    heat = [r for r in recs if tuple(_get(r, "modifiers", ()) or ()) in ((), ("accumulation_positive",))]
    cool = [r for r in recs if tuple(_get(r, "modifiers", ()) or ()) == ("accumulation_negative",)]
    pick = (cool or heat) if kind == "cooling" else heat
    out = []
    for r in pick:
        v, unit = _get(r, "value"), _get(r, "unit", "")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or unit not in ("Wh", "J"):
            continue
        kwh = v / 1000.0 if unit == "Wh" else v / _J_PER_KWH
        step = record_step(r)
        out.append(RegisterReading(kwh, step, _label(r, step, "kWh")))
    return out


def volume_registers(records: Iterable[Any]) -> list[RegisterReading]:
    """The meter's current volume registers (m³), subunit 0, no modifiers."""
    out = []
    for r in records:
        if not _current(r) or _get(r, "quantity") != "volume" or _get(r, "modifiers") or _get(r, "unit") != "m3":
            continue
        v = _get(r, "value")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        step = record_step(r)
        out.append(RegisterReading(float(v), step, _label(r, step, "m³")))
    return out


def finest(registers: list[RegisterReading]) -> RegisterReading | None:
    """The register with the smallest known step (the first one when no step is known)."""
    known = [r for r in registers if r.step is not None and r.step > 0]
    if known:
        return min(known, key=lambda r: r.step)
    return registers[0] if registers else None


def conclusive_after_s(*, energy_step_kwh: float | None, volume_step_m3: float | None, power_kw: float | None,
                       flow_m3h: float | None, mpe_pct: float | None) -> float | None:
    """Seconds of observation after which one register step of energy and of volume add up to at
    most the calculator's MPE (``mpe_pct``) of the energy that passed: t = 100·(sE/P + sV/q)/Ec.
    None when the power, the flow or the MPE is not known or not positive, or no step is known."""
    if not mpe_pct or mpe_pct <= 0 or energy_step_kwh is None and volume_step_m3 is None:
        return None
    hours = 0.0
    if energy_step_kwh:
        if not power_kw or abs(power_kw) <= 0:
            return None
        hours += energy_step_kwh / abs(power_kw)
    if volume_step_m3:
        if not flow_m3h or abs(flow_m3h) <= 0:
            return None
        hours += volume_step_m3 / abs(flow_m3h)
    return 100.0 * hours / mpe_pct * 3600.0


def human_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``1 h 47 min``, ``2 days 3 h``."""
    s = max(0.0, float(seconds))
    if s < 90:
        return f"{s:.0f} s"
    m = int(round(s / 60.0))
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} days {h} h" if h else f"{d} days"
