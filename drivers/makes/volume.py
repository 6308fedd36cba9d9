"""Volume-weighted temperature registers: the average temperatures they imply.

Some makes keep, beside energy and volume, the sum of temperature x volume
(m³·°C) for the flow and the return pipe; divided by the volume register it
gives the volume-weighted average temperature since the meter was started.
Which records those are is declared by the make modules
(``Make.volume_weighted``: VIF+VIFE bytes -> "flow" or "return").
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from drivers.makes.registry import make_for


@dataclass(frozen=True)
class VolumeWeighted:
    """One volume-weighted temperature register and the average temperature it implies.

    ``register_m3c`` is the sum of temperature x volume (m³·°C) the meter keeps;
    ``volume_m3`` the meter's volume register of the same storage number;
    ``average_c`` = register ÷ volume (None when the volume is zero or missing).
    ``pipe`` is "flow" or "return"; ``source`` names the register (e.g. "Kamstrup E8").
    """

    pipe: str
    register_m3c: float
    volume_m3: float | None
    average_c: float | None
    storage: int
    telegram: int
    record: int
    source: str

    @property
    def plausible(self) -> bool:
        """An average inside -40..200 °C (anything else means the register is not what we think)."""
        return self.average_c is not None and -40.0 <= self.average_c <= 200.0


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _raw(rec: Any) -> bytes:
    raw = _get(rec, "raw", b"")
    if isinstance(raw, str):
        try:
            return bytes.fromhex(raw)
        except ValueError:
            return b""
    return bytes(raw or b"")


def record_vib(rec: Any) -> bytes:
    """The VIF and VIFE bytes of a record (object with ``vib`` or a decode --json dict with ``raw``)."""
    vib = getattr(rec, "vib", None)
    if isinstance(vib, (bytes, bytearray)):
        return bytes(vib)
    raw = _raw(rec)
    i = 0
    while i < len(raw) and raw[i] & 0x80:     # DIF, DIFEs
        i += 1
    i += 1
    start = i
    while i < len(raw) and raw[i] & 0x80:     # VIF, VIFEs
        i += 1
    return raw[start:i + 1]


def _is_plain_volume(rec: Any, storage: int) -> bool:
    return (_get(rec, "quantity") == "volume" and _get(rec, "unit") == "m3" and _get(rec, "storage", 0) == storage
            and _get(rec, "tariff", 0) == 0 and _get(rec, "subunit", 0) == 0
            and _get(rec, "function", "instantaneous") == "instantaneous" and not _get(rec, "modifiers")
            and isinstance(_get(rec, "value"), (int, float)))


def volume_weighted(telegrams: Iterable[Any]) -> list[VolumeWeighted]:
    """Volume-weighted temperature registers in a readout and the averages they imply.

    ``telegrams``: decoded telegrams (``drivers.mbus`` objects or decode --json dicts).
    Only makes that declare such registers are looked at; a register is paired
    with the volume register of the same storage number in the same readout.
    """
    tels = list(telegrams)
    volumes: dict[int, float] = {}
    for t in tels:
        for r in _get(t, "records", []) or []:
            st = _get(r, "storage", 0)
            if st not in volumes and _is_plain_volume(r, st):
                volumes[st] = float(_get(r, "value"))
    out: list[VolumeWeighted] = []
    for ti, t in enumerate(tels):
        make = make_for(_get(t, "manufacturer") or "")
        if make is None or not make.volume_weighted:
            continue
        for ri, r in enumerate(_get(t, "records", []) or []):
            which = make.volume_weighted.get(record_vib(r))
            value = _get(r, "value")
            if which is None or not isinstance(value, (int, float)) or _get(r, "tariff", 0) or _get(r, "subunit", 0):
                continue
            st = _get(r, "storage", 0)
            vol = volumes.get(st)
            avg = float(value) / vol if vol else None
            out.append(VolumeWeighted(which, float(value), vol, avg, st, ti, ri, make.register_names[which]))
    return out
