"""The record model of optical readouts: the M-Bus decoder's records, with the raw bytes kept.

An EN 62056-21 data set (``6.8(0328.871*GJ)``) or a KMP register (``00 3C 02 04 00 ...``)
becomes an :class:`OpticalRecord`, a subclass of :class:`drivers.mbus.decoder.Record`:
the same ``quantity``, canonical ``unit`` (Wh or J, m3, W, m3/h, degC, K, s...),
``value`` scaled into that unit, ``storage``/``tariff``/``subunit``/``function``
and ``modifiers`` as the decode JSON contract defines them, so everything that
handles M-Bus records (tables, history, plots, the register's evidence) handles
these. ``raw`` holds the record's bytes; ``register`` names the protocol's own
register ("6.8*01", "KMP 0x003C"), ``text`` the data set as the meter sent it.

One readout is one :class:`OpticalTelegram` (the meter's whole answer: the
EN 62056-21 data message, or all the KMP responses) inside an
:class:`OpticalReadout`, which has the same shape as :class:`drivers.ops.ReadResult`
(``frames``, ``telegrams``, ``records``, ``to_json()``) plus the frames sent
(``tx_frames``) for the evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from drivers.mbus.decoder import Record

# unit as a meter writes it -> (canonical unit of the decode contract, factor)
UNIT_SCALE: dict[str, tuple[str, Decimal]] = {
    "Wh": ("Wh", Decimal(1)), "kWh": ("Wh", Decimal(1000)), "MWh": ("Wh", Decimal(10) ** 6),
    "GWh": ("Wh", Decimal(10) ** 9),
    "J": ("J", Decimal(1)), "kJ": ("J", Decimal(1000)), "MJ": ("J", Decimal(10) ** 6), "GJ": ("J", Decimal(10) ** 9),
    "W": ("W", Decimal(1)), "kW": ("W", Decimal(1000)), "MW": ("W", Decimal(10) ** 6),
    "m3": ("m3", Decimal(1)), "l": ("m3", Decimal("0.001")),
    "m3/h": ("m3/h", Decimal(1)), "m3ph": ("m3/h", Decimal(1)), "l/h": ("m3/h", Decimal("0.001")),
    "C": ("degC", Decimal(1)), "degC": ("degC", Decimal(1)), "K": ("K", Decimal(1)),
    "h": ("s", Decimal(3600)), "min": ("s", Decimal(60)), "m": ("s", Decimal(60)), "s": ("s", Decimal(1)),
    "d": ("s", Decimal(86400)), "days": ("s", Decimal(86400)),
    "bar": ("bar", Decimal(1)), "t": ("kg", Decimal(1000)), "t/h": ("kg/h", Decimal(1000)),
    "m3*C": ("m3*degC", Decimal(1)), "": ("", Decimal(1)),
}


def number(value: Decimal) -> int | float:
    """A Decimal as the decode contract writes numbers: an int when whole, else a float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def scale(value: Decimal, unit: str) -> tuple[int | float, str] | None:
    """``value`` in ``unit`` converted to the canonical unit, or None when the unit is unknown."""
    hit = UNIT_SCALE.get(unit)
    if hit is None:
        return None
    canon, factor = hit
    return number(value * factor), canon


def parse_decimal(text: str) -> Decimal | None:
    """A decimal number as meters print it ("0328.871", "-5", "1,5"); None if it is not one."""
    t = text.strip().replace(",", ".")
    if not t or len(t) > 40:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


@dataclass(slots=True)
class OpticalRecord(Record):
    """A decoder :class:`Record` from an optical protocol (see the module docstring)."""

    register: str = ""
    text: str = ""

    def to_json(self) -> dict:
        d = Record.to_json(self)
        d["register"] = self.register
        if self.text:
            d["text"] = self.text
        return d


def record(quantity: str, unit: str, value, raw: bytes, *, register: str, text: str = "", storage: int = 0,
           tariff: int = 0, subunit: int = 0, function: str = "instantaneous", modifiers: tuple = (),
           flags: tuple = ()) -> OpticalRecord:
    return OpticalRecord(storage=storage, tariff=tariff, subunit=subunit, function=function, quantity=quantity,
                         unit=unit, value=value, raw=bytes(raw), modifiers=tuple(modifiers), flags=tuple(flags),
                         register=register, text=text)


@dataclass
class OpticalTelegram:
    """A meter's whole optical answer, shaped like a decoded M-Bus telegram for its users."""

    protocol: str                    # "iec62056-21" | "kmp"
    raw: bytes
    manufacturer: str | None = None  # FLAG code ("LUG", "KAM")
    identification: str | None = None
    model: str | None = None
    records: list = field(default_factory=list)
    medium: str | None = None
    medium_code: int | None = None
    version: int | None = None
    address: int | None = None
    more_records_follow: bool = False
    notes: list = field(default_factory=list)

    @property
    def frame_type(self) -> str:
        return self.protocol

    def header_json(self) -> dict:
        d: dict = {"frame_type": self.protocol, "protocol": self.protocol}
        for k in ("manufacturer", "identification", "model", "medium", "medium_code", "version"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        d["more_records_follow"] = False
        d["manufacturer_data"] = ""
        if self.notes:
            d["notes"] = list(self.notes)
        return d

    def to_json(self) -> dict:
        d = self.header_json()
        d["records"] = [r.to_json() for r in self.records]
        return d


@dataclass
class OpticalReadout:
    """The result of an optical read: same shape as :class:`drivers.ops.ReadResult`."""

    protocol: str
    frames: list                     # bytes received, message by message (the evidence)
    telegrams: list                  # [OpticalTelegram]
    tx_frames: list = field(default_factory=list)   # bytes sent, in order
    baud: int | None = None          # the baud rate the data came at
    mode: str | None = None          # EN 62056-21 protocol mode (A, B, C)
    address: int | None = None
    requests: int = 0
    elapsed_s: float = 0.0
    profile: str | None = None
    suggested_profile: str | None = None

    @property
    def records(self) -> list:
        return [r for t in self.telegrams for r in t.records]

    @property
    def secondary_address(self) -> str | None:
        return self.telegrams[0].identification if self.telegrams else None

    def to_json(self) -> dict:
        tel = [t.to_json() for t in self.telegrams]
        d = {"protocol": self.protocol, "address": self.address, "secondary_address": self.secondary_address,
             "telegrams": tel, "records": [r for t in tel for r in t["records"]]}
        if self.baud:
            d["baud"] = self.baud
        if self.mode:
            d["mode"] = self.mode
        return d

