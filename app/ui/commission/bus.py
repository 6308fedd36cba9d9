"""The wizard's thin adapter over the app's bus service (``ctx.bus``).

The wizard needs four things from the bus: the meters it knows (and the one
selected on the Scan page), one complete readout of a meter, a live poller for
the observation window, and the readout as plain data for the evidence. The
bus service does the work (one operation at a time on the wire, in workers);
this module only turns the wizard's stored meter reference into a known meter
and a service :class:`~app.ui.bus.Readout` into a :class:`MeterReadout`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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
            parts.append(self.medium.replace("_", " "))
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"primary_address": self.primary_address, "secondary_address": self.secondary_address,
                "manufacturer": self.manufacturer, "medium": self.medium, "version": self.version,
                "medium_code": self.medium_code, "make": self.make}

    @classmethod
    def from_any(cls, m: Any) -> MeterRef:
        """From a MeterRef, a dict, or a bus service ``KnownMeter``."""
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
    telegrams: list[dict]                # decode-json telegram objects
    meter: MeterRef
    transport: str | None = None
    port: str | None = None
    baud: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def first(self) -> dict:
        return self.telegrams[0] if self.telegrams else {}

    @classmethod
    def from_service(cls, ro: Any) -> MeterReadout:
        """From the bus service's ``Readout`` (raw frames byte for byte, decoded telegrams)."""
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


class WizardBus:
    """What the Commission wizard asks of ``ctx.bus`` (see the module docstring).

    Start methods run on the GUI thread and raise ``app.ui.bus.BusUnavailable``
    (not connected, a scan running) with a one-line message.
    """

    def __init__(self, ctx) -> None:
        self.ctx = ctx

    @property
    def service(self):
        return self.ctx.bus

    def known_meters(self) -> list[MeterRef]:
        return [MeterRef.from_any(m) for m in self.service.meters()]

    def selected(self) -> MeterRef | None:
        m = self.service.selected
        return None if m is None else MeterRef.from_any(m)

    def _known(self, ref: MeterRef):
        """The service's known meter for ``ref``, added to its list when the wizard knows it fully."""
        svc = self.service
        key = ref.key
        if key is None:
            return None
        m = svc.meter(key)
        if m is None:
            from app.ui.bus import KnownMeter

            m = svc.add_meter(KnownMeter(ref.secondary_address, ref.manufacturer, ref.version, ref.medium_code,
                                         ref.medium or "", primary_address=ref.primary_address,
                                         make=ref.make or ref.manufacturer or "", found_by="read",
                                         simulated=bool(svc.simulated)))
        return m

    def read(self, ref: MeterRef, *, origin: Any, on_finished: Callable[[MeterReadout], None],
             on_failed: Callable[[str], None] | None = None):
        """One complete readout of ``ref`` through the bus service; ``on_finished(MeterReadout)``."""
        svc = self.service
        m = self._known(ref)
        cb = {"on_failed": on_failed} if on_failed is not None else {}
        done = (lambda ro: on_finished(MeterReadout.from_service(ro)))
        if m is not None:
            return svc.read_meter(m, origin=origin, on_finished=done, **cb)
        if ref.secondary_address and not ref.primary_address:
            return svc.read_address(secondary=ref.secondary_address, origin=origin, on_finished=done, **cb)
        return svc.read_address(address=ref.primary_address, origin=origin, on_finished=done, **cb)

    def poller(self, ref: MeterRef, interval_s: float, parent, name: str):
        """A live poller (``app.ui.workers.Poller``: ``sample(t, Readout)``, ``missed(t, message)``)."""
        m = self._known(ref)
        if m is None:
            from app.ui.bus import BusUnavailable

            raise BusUnavailable("Read the meter once first (step 4): the observation window polls it by its "
                                 "full secondary address.")
        return self.service.live_poller(m, interval_s=interval_s, parent=parent, name=name)

    def advance_simulated_clock(self, seconds: float) -> bool:
        """Demo only: move the simulated meters' clock ahead (minutes of flow in no time)."""
        svc = self.service
        tr = svc.transport if svc.simulated else None
        if tr is not None and hasattr(tr, "advance"):
            tr.advance(seconds)
            return True
        return False
