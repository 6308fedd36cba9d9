"""The meter being commissioned as the bus sees it: how to address it (:class:`MeterRef`, kept in
drafts) and one complete readout of it as plain data (:class:`MeterReadout`, the evidence)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MeterRef:
    """A meter on the bus as the wizard remembers it (in drafts): how to address it
    and what it said it is. ``key`` is the full secondary address ``ID.MAN.VV.MM``."""

    primary_address: int | None
    secondary_address: str | None
    manufacturer: str | None = None
    medium: str | None = None
    version: int | None = None
    medium_code: int | None = None
    make: str | None = None

    @property
    def key(self) -> str | None:
        if None in (self.secondary_address, self.manufacturer, self.version, self.medium_code):
            return None
        return f"{self.secondary_address}.{self.manufacturer}.{self.version:02X}.{self.medium_code:02X}"

    @property
    def label(self) -> str:
        parts = [f"{self.make or self.manufacturer or '???'} {self.secondary_address or '?'}"]
        parts.append(f"address {self.primary_address}" if self.primary_address else "secondary address only")
        if self.medium:
            from app.core.registers import medium_words

            parts.append(medium_words(self.medium))
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"primary_address": self.primary_address, "secondary_address": self.secondary_address,
                "manufacturer": self.manufacturer, "medium": self.medium, "version": self.version,
                "medium_code": self.medium_code, "make": self.make}

    @classmethod
    def from_any(cls, m: Any) -> MeterRef:
        """From a MeterRef, a dict, or a bus session's ``KnownMeter``."""
        if isinstance(m, MeterRef):
            return m
        get = m.get if isinstance(m, dict) else (lambda k, d=None: getattr(m, k, d))
        sec = get("secondary_address") or get("identification")
        return cls(get("primary_address"), None if sec is None else str(sec), get("manufacturer"), get("medium"),
                   get("version"), get("medium_code"), get("make") or None)


@dataclass
class MeterReadout:
    """One complete readout as plain data: the evidence the register keeps."""

    read_at: dt.datetime                 # UTC, aware
    frames: list[bytes]
    telegrams: list[dict]                # decoded telegram objects (as heatmeter decode --json prints them)
    meter: MeterRef
    transport: str | None = None
    port: str | None = None
    baud: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def first(self) -> dict:
        return self.telegrams[0] if self.telegrams else {}

    @classmethod
    def from_readout(cls, ro: Any) -> MeterReadout:
        """From a bus session's ``drivers.session.Readout`` (raw frames byte for byte, decoded telegrams)."""
        telegrams = ro.decoded()
        first = telegrams[0] if telegrams else {}
        from drivers.makes import make_name

        ref = MeterRef(ro.address if ro.address and 0 < ro.address <= 250 else None,
                       first.get("identification") or ro.secondary_address, first.get("manufacturer"),
                       first.get("medium"), first.get("version"), first.get("medium_code"),
                       make_name(first.get("manufacturer")) or None)
        port = ro.port or ("simulated bus" if ro.transport == "simulator" else None)
        return cls(read_at=ro.read_at, frames=[bytes(f) for f in ro.frames], telegrams=telegrams, meter=ref,
                   transport=ro.transport, port=port, baud=ro.baud)

    def evidence(self):
        """The readout as the register keeps it (``app.services.readouts.Evidence``)."""
        from app.services.readouts import Evidence

        return Evidence(frames=self.frames, telegrams=self.telegrams, read_at=self.read_at, transport=self.transport,
                        port=self.port, baud=self.baud, primary_address=self.meter.primary_address)
