"""The plain data of a bus session: how to reach the bus, the meters on it, what a read or a scan gave.

Nothing here talks to the bus; every type is a dataclass the CLI prints and
the GUI shows.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

# the order a line test tries other rates in when nothing answers at the chosen one
BAUD_SEARCH_ORDER = (2400, 9600, 300, 19200, 38400, 1200, 4800, 600)

STATE_DISCONNECTED, STATE_CONNECTING, STATE_CONNECTED, STATE_LOST = "disconnected", "connecting", "connected", "lost"

# kinds of operation (for the rules of who may use the bus when)
KIND_CONNECT, KIND_TEST, KIND_SCAN, KIND_READ, KIND_POLL, KIND_WRITE, KIND_CUSTOM = (
    "connect", "test", "scan", "read", "poll", "write", "custom")


def meter_key(identification: str, manufacturer: str, version: int | None, medium_code: int | None) -> str:
    """``ID.MAN.VV.MM``: the full secondary address (unique on a bus)."""
    return f"{identification}.{manufacturer}.{(version or 0):02X}.{(medium_code or 0):02X}"


@dataclass(frozen=True)
class ConnectionSpec:
    """How to reach the bus.

    ``url``: a device (``/dev/ttyUSB0``, ``COM3``), ``socket://HOST:PORT`` or
    ``rfc2217://HOST:PORT``; None for the simulated bus. ``profile``: a name of
    the wake-up table (:func:`drivers.makes.profiles`; ``none`` for wired
    M-Bus; an optical head profile sends its wake-up preamble before each
    read). ``wakeup`` forces a 0x55 preamble when the profile has none (the
    CLI's ``--wakeup``), ``preamble_ms`` sets its length (``--wakeup-ms``).
    ``protocol``: what reads speak on this port - ``mbus`` (wired M-Bus, or an
    optical head in M-Bus mode), or an optical protocol of
    :mod:`drivers.protocols` (``iec62056-21``, ``kmp``) for meters read by
    their optical eye; the port is opened as for M-Bus and lent to the
    protocol for each read. Writes (address, baud, clock) are M-Bus only.
    """

    url: str | None = None
    baud: int = 2400
    profile: str = "none"
    simulated: bool = False
    timeout_ms: int | None = None
    retries: int = 2
    echo: str = "auto"
    wakeup: bool = False
    preamble_ms: int | None = None
    protocol: str = "mbus"

    @property
    def optical(self) -> bool:
        """Reads go through an optical protocol (EN 62056-21, KMP), not M-Bus."""
        return self.protocol != "mbus"

    @property
    def is_gateway(self) -> bool:
        return bool(self.url) and "://" in self.url

    @property
    def transport_kind(self) -> str:
        """"simulator", "gateway" or "serial" (how a readout says it was taken)."""
        return "simulator" if self.simulated else ("gateway" if self.is_gateway else "serial")

    def label(self) -> str:
        if self.simulated:
            return "the simulated bus"
        return self.url or "no port"

    def wakeup_profile(self):
        """The :class:`drivers.wakeup.WakeupProfile` this connection asks for (None: wired, no profile)."""
        from drivers.makes import resolve_profile

        return resolve_profile(self.profile, wakeup=self.wakeup, preamble_ms=self.preamble_ms)


@dataclass
class Readout:
    """One complete readout of a meter: raw frames byte for byte and the decoded telegrams.

    ``protocol``: ``mbus``, or the optical protocol it was read with (its
    telegrams are then :class:`drivers.optical.readout.OpticalTelegram`, its
    ``frames`` the messages received and ``tx_frames`` everything sent; ``mode``
    the EN 62056-21 protocol mode). ``selections``: the other telegram types a
    history read asked for (:class:`drivers.history.TypeReadout`; their
    telegrams are in ``telegrams`` too). :meth:`history` puts every stored value
    with its date.
    """

    meter_key: str
    frames: list[bytes]
    telegrams: list                      # drivers.mbus Telegram objects, in order
    read_at: _dt.datetime                # UTC, aware
    address: int | None = None
    secondary_address: str | None = None
    port: str | None = None
    baud: int | None = None
    transport: str = "serial"            # "serial", "gateway" or "simulator"
    profile: str | None = None           # the wake-up profile used (None: wired M-Bus)
    requests: int = 0
    elapsed_s: float = 0.0
    protocol: str = "mbus"
    tx_frames: list[bytes] = field(default_factory=list)
    mode: str | None = None
    selections: list = field(default_factory=list)

    @property
    def records(self) -> list:
        return [r for t in self.telegrams for r in t.records]

    @property
    def optical(self) -> bool:
        return self.protocol != "mbus"

    def decoded(self) -> list[dict]:
        """The telegrams as decoded telegram objects (as ``heatmeter decode --json`` prints them)."""
        return [t.to_json() for t in self.telegrams]

    def history(self):
        """Every stored value with the date of its storage number (:class:`drivers.history.History`)."""
        from drivers.history import history

        return history(self.telegrams)

    def to_json(self, *, history: bool = False) -> dict:
        """The ``heatmeter read --json`` document (cli-bus contract), with the wake-up profile used;
        an optical read adds ``protocol``, ``baud`` and ``mode``; ``history`` adds the telegram
        types asked for (``selections``) and the ``history`` (dates, series, notes)."""
        tel = self.decoded()
        d = {"address": self.address, "secondary_address": self.secondary_address,
             "telegrams": tel, "records": [r for t in tel for r in t.get("records", [])],
             "profile": self.profile}
        if self.optical:
            d["protocol"] = self.protocol
            d["baud"] = self.baud
            if self.mode:
                d["mode"] = self.mode
        if history:
            d["selections"] = [s.to_json() for s in self.selections]
            d["history"] = self.history().to_json()
        return d

    def document(self) -> dict:
        """The ``heatmeter read --json`` document (cli-bus contract) plus when, where and the raw frames."""
        tel = self.decoded()
        return {"address": self.address, "secondary_address": self.secondary_address,
                "telegrams": tel, "records": [r for t in tel for r in t.get("records", [])],
                "read_at": self.read_at.isoformat(timespec="seconds"), "port": self.port, "baud": self.baud,
                "frames": [f.hex().upper() for f in self.frames], "protocol": self.protocol}

    def volume_weighted(self) -> list:
        """Averages implied by volume-weighted temperature registers (:func:`drivers.makes.volume_weighted`)."""
        from drivers.makes import volume_weighted

        return volume_weighted(self.telegrams)


@dataclass
class KnownMeter:
    """A meter the app knows on the current bus (found by a scan or read directly)."""

    identification: str
    manufacturer: str                    # FLAG code, e.g. "KAM"
    version: int
    medium_code: int
    medium: str
    primary_address: int | None = None   # None: not known / only by secondary address
    make: str = ""                       # "Kamstrup" (from the FLAG code), or the code itself
    model: str | None = None             # where the version byte is known to belong to a model
    optical_profile: str | None = None   # the family's wake-up profile through an optical head
    found_by: str = ""                   # "primary", "secondary" or "read"
    simulated: bool = False
    last_read_at: _dt.datetime | None = None
    last_readout: Readout | None = None
    misses: int = 0                      # live polls in a row without an answer
    port: str | None = None              # where it last answered (a port, a gateway URL, "the simulated bus")
    missed_by: str = ""                  # the last scan that should have found it and did not ("" once it answers)
    woken: bool = False                  # it answered after a wake-up preamble (an optical head profile)

    @property
    def key(self) -> str:
        """``ID.MAN.VV.MM``: the full secondary address (unique on a bus)."""
        return meter_key(self.identification, self.manufacturer, self.version, self.medium_code)

    @property
    def label(self) -> str:
        """``Kamstrup 71234567 (address 1)`` for messages."""
        where = f"address {self.primary_address}" if self.primary_address else "secondary address only"
        return f"{self.make or self.manufacturer} {self.identification} ({where})"

    def secondary_mask(self):
        from drivers.address import SecondaryMask

        return SecondaryMask.parse(self.key)

    @classmethod
    def from_key(cls, key: str, *, primary_address: int | None = None, simulated: bool = False) -> KnownMeter:
        """From ``ID.MAN.VV.MM`` alone (medium words unknown); make and model from the registry."""
        from drivers.makes import make_name, model_name

        ident, man, ver, med = key.split(".")
        version, medium = int(ver, 16), int(med, 16)
        return cls(ident, man, version, medium, "", primary_address=primary_address,
                   make=make_name(man) or man, model=model_name(man, version), simulated=simulated)

    @classmethod
    def from_found(cls, found, *, found_by: str, simulated: bool = False) -> KnownMeter:
        """From a :class:`drivers.scan.FoundMeter`."""
        from drivers.makes import make_name, model_name

        addr = found.primary_address if found.primary_address and found.primary_address > 0 else None
        return cls(found.secondary_address, found.manufacturer, found.version, found.medium_code, found.medium,
                   primary_address=addr, make=make_name(found.manufacturer) or found.manufacturer,
                   model=model_name(found.manufacturer, found.version), optical_profile=found.optical_profile,
                   found_by=found_by, simulated=simulated)

    @classmethod
    def from_telegram(cls, tg, *, address: int | None, found_by: str = "read", simulated: bool = False) -> KnownMeter:
        from drivers.makes import make_name, model_name, profile_for_manufacturer

        prof = profile_for_manufacturer(tg.manufacturer)
        return cls(tg.identification, tg.manufacturer, tg.version or 0, tg.medium_code or 0, tg.medium or "",
                   primary_address=address if address and 0 < address <= 250 else None,
                   make=make_name(tg.manufacturer) or tg.manufacturer or "",
                   model=model_name(tg.manufacturer, tg.version), optical_profile=prof.name if prof else None,
                   found_by=found_by, simulated=simulated)


@dataclass
class LineTestResult:
    """What a line test found: who answered, at which baud rate."""

    ok: bool
    baud: int
    answered: list[str] = field(default_factory=list)   # one line per meter that identified itself
    several: bool = False                                # more than one meter answered at once
    detail: str = ""                                     # the one-line summary to show
    tried: list[int] = field(default_factory=list)       # baud rates tried
    requests: int = 0
    elapsed_s: float = 0.0
    meters: list[KnownMeter] = field(default_factory=list)   # the meter that identified itself, if any


@dataclass
class ScanSummary:
    """The end of a scan: counts and what could not be told apart.

    ``result`` is the :class:`drivers.scan.ScanResult` (every meter as found;
    ``to_json()`` is the ``heatmeter scan --json`` document)."""

    mode: str
    found: int
    new: int
    requests: int
    elapsed_s: float
    baud: int
    garbled_addresses: list[int] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    result: Any = None

    def to_json(self) -> dict:
        return self.result.to_json() if self.result is not None else {}


class KnownMeters:
    """The meters known on the current bus, by key. Not thread-safe: one thread (the GUI's) changes it."""

    def __init__(self) -> None:
        self._by_key: dict[str, KnownMeter] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def keys(self) -> list[str]:
        return list(self._by_key)

    def get(self, key: str | None) -> KnownMeter | None:
        return self._by_key.get(key) if key else None

    def sorted(self) -> list[KnownMeter]:
        """By primary address (meters reachable only by secondary address last), then id."""
        return sorted(self._by_key.values(),
                      key=lambda m: (m.primary_address is None, m.primary_address or 0, m.identification, m.key))

    def add(self, m: KnownMeter) -> tuple[KnownMeter, str]:
        """Add ``m`` or merge it into the known meter with the same key.

        Returns (the meter in the list, "added" | "changed" | "same")."""
        old = self._by_key.get(m.key)
        if old is None:
            self._by_key[m.key] = m
            return m, "added"
        changed = False
        for name in ("primary_address", "model", "optical_profile"):
            new = getattr(m, name)
            if new is not None and new != getattr(old, name):
                setattr(old, name, new)
                changed = True
        if m.found_by and m.found_by != "read" and old.found_by != m.found_by:
            old.found_by = m.found_by
        if m.last_readout is not None:
            old.last_readout, old.last_read_at = m.last_readout, m.last_read_at
            changed = True
        if m.woken and not old.woken:
            old.woken = changed = True
        if m.port is not None and (m.port != old.port or old.missed_by):
            old.port, old.missed_by = m.port, ""      # it answered again, here
            changed = True
        return old, "changed" if changed else "same"

    def remove(self, key: str) -> bool:
        return self._by_key.pop(key, None) is not None

    def clear(self, *, simulated_only: bool = False, real_only: bool = False) -> list[str]:
        """Drop the known meters (only the simulated ones, or only the real ones); returns their keys."""
        keys = [k for k, m in self._by_key.items()
                if not (simulated_only and not m.simulated) and not (real_only and m.simulated)]
        for k in keys:
            del self._by_key[k]
        return keys

    def sharing_address(self, meter: KnownMeter) -> list[KnownMeter]:
        """The other known meters with the same primary address."""
        a = meter.primary_address
        # a copy first: a live poll plans its read in a worker while the GUI thread may add meters
        return [m for m in list(self._by_key.values())
                if a is not None and m.primary_address == a and m.key != meter.key]

    def note_readout(self, ro: Readout) -> KnownMeter | None:
        """Store ``ro`` as its meter's last readout (and learn its primary address); the meter, if known."""
        m = self._by_key.get(ro.meter_key)
        if m is not None:
            m.last_readout, m.last_read_at, m.misses = ro, ro.read_at, 0
            if ro.address and 0 < ro.address <= 250 and m.primary_address is None:
                m.primary_address = ro.address
        return m
