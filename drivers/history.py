"""A meter's stored values as history: each value with its date, by storage number.

EN 13757-3 tags every record with a storage number: 0 is the current value, 1, 2,
... are values the meter stored at its billing or month-end dates. The date a
stored value belongs to is the date (or date-time) record of the same storage
number in the same readout. :func:`history` puts that together for every
quantity, across all the telegrams of a readout (M-Bus telegrams, decode --json
dicts or optical readouts alike).

:func:`read_history` is the bus operation: the standard readout, then, for each
telegram type asked for, an application reset with the EN 13757-3 sub-code that
selects it (SND_UD, CI 0x50, one byte: telegram type in the high nibble,
telegram number in the low nibble, 0 = all) followed by REQ_UD2 until the
meter says it is done. Meters that do not support a type either do not
acknowledge it (reported, the read goes on) or send their standard telegrams
again (reported as "same as the standard readout").
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from drivers import errors, framing
from drivers.address import SecondaryMask
from drivers.link import ADDRESS_SELECTED, Link
from drivers.ops import MAX_TELEGRAMS, OpProgress, ProgressCallback, ReadResult, address_meter, read_meter
from drivers.wakeup import WakeupProfile, wake

# EN 13757-3, application reset sub-code, high nibble: the telegram type
TELEGRAM_TYPES: dict[str, int] = {
    "all": 0x0, "user_data": 0x1, "simple_billing": 0x2, "enhanced_billing": 0x3, "multi_tariff_billing": 0x4,
    "instantaneous": 0x5, "load_management": 0x6, "installation": 0x8, "testing": 0x9, "calibration": 0xA,
    "manufacturing": 0xB, "development": 0xC, "selftest": 0xD,
}


def reset_subcode(kind: str, telegram: int = 0) -> int:
    """The sub-code byte for a telegram type and telegram number (0: all telegrams of the type)."""
    try:
        t = TELEGRAM_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown telegram type {kind!r} (one of {', '.join(TELEGRAM_TYPES)})") from None
    if not 0 <= telegram <= 15:
        raise ValueError("telegram number 0..15")
    return t << 4 | telegram


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


@dataclass(frozen=True)
class HistoryPoint:
    storage: int
    date: str | None           # ISO date or date-time of the storage number, None when the readout has none
    value: Any
    telegram: int              # index of the telegram in the readout
    record: int                # index of the record in its telegram


@dataclass
class HistorySeries:
    """All stored values of one quantity (one register: same unit, tariff, subunit, function, modifiers)."""

    quantity: str
    unit: str
    tariff: int = 0
    subunit: int = 0
    function: str = "instantaneous"
    modifiers: tuple = ()
    points: list = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return (self.quantity, self.unit, self.tariff, self.subunit, self.function, self.modifiers)

    def to_json(self) -> dict:
        d = {"quantity": self.quantity, "unit": self.unit, "tariff": self.tariff, "subunit": self.subunit,
             "function": self.function, "points": [{"storage": p.storage, "date": p.date, "value": p.value}
                                                   for p in self.points]}
        if self.modifiers:
            d["modifiers"] = list(self.modifiers)
        return d


@dataclass
class History:
    series: list
    dates: dict                 # storage number -> ISO date of that storage
    notes: list = field(default_factory=list)

    def get(self, quantity: str, *, tariff: int = 0, subunit: int = 0, function: str = "instantaneous",
            modifiers: tuple = ()) -> HistorySeries | None:
        for s in self.series:
            if (s.quantity, s.tariff, s.subunit, s.function, s.modifiers) == \
                    (quantity, tariff, subunit, function, tuple(modifiers)):
                return s
        return None

    def rows(self) -> list[dict]:
        """One row per stored value (storage, date, quantity, unit, tariff, subunit, function, value): CSV/XLSX."""
        out = []
        for s in self.series:
            for p in s.points:
                out.append({"storage": p.storage, "date": p.date, "quantity": s.quantity, "unit": s.unit,
                            "tariff": s.tariff, "subunit": s.subunit, "function": s.function,
                            "modifiers": "+".join(s.modifiers), "value": p.value})
        return out

    def to_json(self) -> dict:
        return {"dates": {str(k): v for k, v in sorted(self.dates.items())},
                "series": [s.to_json() for s in self.series], "notes": list(self.notes)}


_DATE_QUANTITIES = ("date", "datetime")


def _is_storage_date(rec: Any) -> bool:
    return (_get(rec, "quantity") in _DATE_QUANTITIES and not _get(rec, "modifiers") and not _get(rec, "subject")
            and _get(rec, "tariff", 0) == 0 and isinstance(_get(rec, "value"), str))


def history(telegrams: Iterable[Any]) -> History:
    """Every stored numeric value of a readout with the date of its storage number, per quantity.

    ``telegrams``: decoded telegrams (``drivers.mbus`` objects, decode --json dicts,
    optical telegrams). A storage number's date is its ``date`` record (else its
    ``datetime``), preferring subunit 0; for storage 0 it is the meter's clock.
    Values that repeat in several telegrams are listed once; two different values
    for the same register and storage number are both kept and reported in ``notes``.
    """
    tels = list(telegrams)
    dates: dict[int, str] = {}
    rank: dict[int, tuple] = {}
    notes: list[str] = []
    for t in tels:
        for r in _get(t, "records", []) or []:
            if not _is_storage_date(r):
                continue
            st = _get(r, "storage", 0)
            # prefer a date over a date-time for stored values, a date-time for storage 0, and subunit 0
            pref = (_get(r, "subunit", 0) != 0,
                    (_get(r, "quantity") == "date") if st == 0 else (_get(r, "quantity") == "datetime"))
            v = _get(r, "value")
            if st not in dates or pref < rank[st]:
                dates[st], rank[st] = v, pref
            elif pref == rank[st] and dates[st][:10] != v[:10]:
                notes.append(f"storage {st}: dates {dates[st]} and {v} in one readout")
    by_key: dict[tuple, HistorySeries] = {}
    seen: dict[tuple, Any] = {}
    for ti, t in enumerate(tels):
        for ri, r in enumerate(_get(t, "records", []) or []):
            v = _get(r, "value")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            q = _get(r, "quantity")
            if q in _DATE_QUANTITIES or q in ("unknown", "manufacturer_specific", "error_flags") or not q:
                continue
            key = (q, _get(r, "unit", ""), _get(r, "tariff", 0), _get(r, "subunit", 0),
                   _get(r, "function", "instantaneous"), tuple(_get(r, "modifiers", ()) or ()))
            st = _get(r, "storage", 0)
            if (key, st) in seen:
                if seen[(key, st)] == v:
                    continue
                notes.append(f"{q} storage {st}: values {seen[(key, st)]} and {v} in one readout")
            seen[(key, st)] = v
            s = by_key.get(key)
            if s is None:
                s = by_key[key] = HistorySeries(*key)
            s.points.append(HistoryPoint(st, dates.get(st), v, ti, ri))
    for s in by_key.values():
        s.points.sort(key=lambda p: (p.storage, p.telegram, p.record))
    series = sorted(by_key.values(), key=lambda s: (s.quantity, s.tariff, s.subunit, s.function, s.modifiers))
    undated = sorted({p.storage for s in series for p in s.points if p.date is None and p.storage > 0})
    if undated:
        notes.append("no date for storage number(s) " + ", ".join(map(str, undated)))
    return History(series, dates, notes)


# --- reading the other telegram types ------------------------------------------------

@dataclass
class TypeReadout:
    kind: str
    subcode: int
    acknowledged: bool
    frames: list = field(default_factory=list)
    telegrams: list = field(default_factory=list)
    detail: str = ""
    same_as_standard: bool = False

    def to_json(self) -> dict:
        return {"type": self.kind, "subcode": self.subcode, "acknowledged": self.acknowledged,
                "telegrams": [t.to_json() for t in self.telegrams], "same_as_standard": self.same_as_standard,
                "detail": self.detail}


@dataclass
class HistoryReadResult:
    standard: ReadResult
    selections: list
    requests: int = 0
    elapsed_s: float = 0.0

    @property
    def frames(self) -> list:
        return list(self.standard.frames) + [f for s in self.selections for f in s.frames]

    @property
    def telegrams(self) -> list:
        return list(self.standard.telegrams) + [t for s in self.selections for t in s.telegrams]

    def history(self) -> History:
        return history(self.telegrams)

    def to_json(self) -> dict:
        d = self.standard.to_json()
        d["selections"] = [s.to_json() for s in self.selections]
        d["history"] = self.history().to_json()
        return d


def _frames_key(frames: list) -> list:
    """Telegram payloads without the access number byte (it counts up on every answer)."""
    out = []
    for f in frames:
        b = bytearray(f)
        if len(b) > 19 and b[0] == 0x68:
            b[15] = 0            # access number of a long header (68 L L 68 C A CI id4 man2 ver med ACC)
            b[-2] = 0            # checksum changes with it
        out.append(bytes(b))
    return out


def read_history(link: Link, *, address: int | None = None, secondary: SecondaryMask | None = None,
                 types: tuple = ("enhanced_billing",), profile: WakeupProfile | None = None,
                 progress: ProgressCallback | None = None, max_telegrams: int = MAX_TELEGRAMS,
                 restore: bool = True, keys=None) -> HistoryReadResult:
    """The standard readout, then each telegram type of ``types`` (see the module docstring).

    ``restore``: end with a plain application reset (CI 0x50 without sub-code) so
    the meter answers its standard telegrams again. ``keys``: the key lookup for
    encrypted telegrams (:func:`drivers.framing.decode`).
    """
    t0 = time.monotonic()
    req0 = link.requests
    subcodes = [(k, reset_subcode(k)) for k in types]
    standard = read_meter(link, address=address, secondary=secondary, profile=profile, progress=progress,
                          max_telegrams=max_telegrams, keys=keys)
    target = ADDRESS_SELECTED if secondary is not None else address
    assert target is not None
    key_std = _frames_key(standard.frames)
    selections: list[TypeReadout] = []
    for n, (kind, code) in enumerate(subcodes):
        if profile is not None and profile.has_preamble:
            wake(link.transport, profile)
            target = address_meter(link, address=address, secondary=secondary, reset=False)
        sel = TypeReadout(kind, code, False)
        selections.append(sel)
        try:
            link.application_reset(target, code)
        except errors.LinkError as exc:
            sel.detail = f"not acknowledged ({exc}): the meter does not offer {kind.replace('_', ' ')} telegrams"
            continue
        sel.acknowledged = True
        while True:
            frame = link.req_ud2(target)
            tg = framing.decode(frame, keys)
            sel.frames.append(frame)
            sel.telegrams.append(tg)
            if progress:
                progress(OpProgress(len(sel.telegrams), None, None, f"{kind}: telegram {len(sel.telegrams)}"))
            if not getattr(tg, "more_records_follow", False):
                break
            if len(sel.telegrams) >= max_telegrams:
                raise errors.UnexpectedAnswer(f"{kind}: more than {max_telegrams} telegrams")
        sel.same_as_standard = _frames_key(sel.frames) == key_std[:len(sel.frames)] and \
            len(sel.frames) == len(key_std)
        if sel.same_as_standard:
            sel.detail = "same as the standard readout (the meter ignores this selection)"
    if restore and any(s.acknowledged for s in selections):
        try:
            link.application_reset(target)
        except errors.LinkError:
            pass          # the meter falls back to its standard telegrams by itself after a while
    return HistoryReadResult(standard, selections, link.requests - req0, time.monotonic() - t0)
