"""The meter protocols besides wired M-Bus, and how to open and read them.

A bus session holds one port. To read a meter through an optical protocol it
asks this registry::

    from drivers.protocols import get_protocol
    proto = get_protocol("iec62056-21")            # or "kmp"
    with proto.open(url) as line:                  # or proto.borrow(transport): the session's open port
        readout = proto.read(line, progress=cb)    # OpticalReadout: .frames, .tx_frames, .telegrams, .records
    readout.to_json()                              # the `heatmeter read` document, plus "protocol"

``read`` takes the protocol's own options as keywords (EN 62056-21: ``address``,
``mode``, ``max_baud``, ``wakeup_nuls``; KMP: ``registers_``, ``address``,
``retries``). Records are the M-Bus decoder's (quantity, canonical unit, storage
number...), so history, tables and the register's evidence handle them as
M-Bus records. Which protocol a make's optical port speaks is the make
registry's (:func:`drivers.makes.optical_protocol`); :func:`protocol_for` answers
with ``"mbus"`` for every other make.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from drivers.iec62056.client import read_iec62056
from drivers.kmp.client import read_kmp
from drivers.kmp.registers import UNITS as KMP_UNITS
from drivers.optical.line import ByteLine, line_for_transport, open_line
from drivers.optical.readout import UNIT_SCALE, OpticalReadout


@dataclass(frozen=True)
class OpticalProtocol:
    name: str
    title: str
    initial_baud: int
    char_format: str
    reader: Callable[..., OpticalReadout]
    reads: tuple = ()
    writes: tuple = ()
    makes: tuple = ()
    notes: tuple = field(default=())

    def open(self, url: str, **kwargs) -> ByteLine:
        """Open ``url`` as a byte line at the protocol's initial baud rate and character format."""
        return open_line(url, self.initial_baud, self.char_format, **kwargs)

    def borrow(self, transport, **kwargs) -> ByteLine:
        """The line of an already open transport (close it to give the port back to M-Bus)."""
        return line_for_transport(transport, **kwargs)

    def read(self, line: ByteLine, **options) -> OpticalReadout:
        return self.reader(line, **options)


PROTOCOLS: dict[str, OpticalProtocol] = {p.name: p for p in (
    OpticalProtocol(
        "iec62056-21", "EN 62056-21 (IEC 1107) data readout", 300, "7E1", read_iec62056,
        reads=("energy", "volume", "previous yearly values", "maximum power, flow and temperatures",
               "operating and error hours", "meter clock", "error code", "fabrication and customer numbers"),
        makes=("LUG",),
        notes=("Landis+Gyr ULTRAHEAT UH50 / T550: NUL wake-up, mode B, data at 2400 baud",)),
    OpticalProtocol(
        "kmp", "Kamstrup Meter Protocol", 1200, "8N2", read_kmp,
        reads=("energy E1 (and E3 cooling)", "volume V1", "flow", "power", "T1, T2, T1-T2", "info code",
               "info event counter", "hour counter", "meter clock", "serial number", "E8/E9"),
        makes=("KAM",),
        notes=("Kamstrup MULTICAL 30x/40x/60x optical eye (the head's magnet switches it on)",)),
)}

MBUS = "mbus"
#: every protocol a connection can speak: wired/optical M-Bus, then the optical protocols
PROTOCOL_NAMES: tuple[str, ...] = (MBUS, *PROTOCOLS)
TITLES = {MBUS: "M-Bus (EN 13757-2/-3)", **{p.name: p.title for p in PROTOCOLS.values()}}


def get_protocol(name: str) -> OpticalProtocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r} (one of {', '.join(PROTOCOL_NAMES)})") from None


def check_protocol(name: str) -> str:
    """``name`` when it is a protocol a connection can speak (``mbus`` or an optical one), else ValueError."""
    if name not in PROTOCOL_NAMES:
        raise ValueError(f"unknown protocol {name!r} (one of {', '.join(PROTOCOL_NAMES)})")
    return name


def protocol_for(flag: str | None) -> str:
    """The protocol of an optical read of this make's meters: its make module's ``optical_protocol``
    (Landis+Gyr: EN 62056-21, Kamstrup: KMP), else ``mbus``."""
    from drivers.makes import optical_protocol

    return optical_protocol(flag) or MBUS


def read_optical(url: str, protocol: str, *, cancel=None, trace=None, **options) -> OpticalReadout:
    """Open ``url``, read one meter with ``protocol``, close the port."""
    proto = get_protocol(protocol)
    with proto.open(url, cancel=cancel, trace=trace) as line:
        return proto.read(line, **options)


def resolution(rec) -> float | None:
    """The step of an optical record's value in its canonical unit (Wh, J, m3 ...), from the data set
    as the meter sent it: the digits after the decimal point and the unit. EN 62056-21 ``6.8(0328.870*GJ)``
    -> 0.001 GJ = 1e6 J; KMP ``68: 412.70 [unit 0x28]`` -> 0.01 m3. None when the text does not tell
    (a record that is not an optical one, a text value)."""
    text = rec.get("text") if isinstance(rec, dict) else getattr(rec, "text", "")
    if not text:
        return None
    m = re.fullmatch(r"[^(]*\(([-+]?\d+(?:\.(\d*))?)\*([^)&]+)\)", text)        # EN 62056-21 data set
    if m:
        decimals, unit = len(m.group(2) or ""), m.group(3)
    else:
        m = re.fullmatch(r"\d+: ([-+]?\d+(?:\.(\d*))?) \[unit 0x([0-9A-Fa-f]{2})\]", text)   # KMP register
        if not m:
            return None
        decimals, unit = len(m.group(2) or ""), KMP_UNITS.get(int(m.group(3), 16), "")
    hit = UNIT_SCALE.get(unit)
    if hit is None or not unit:
        return None
    return float(Decimal(1).scaleb(-decimals) * hit[1])
