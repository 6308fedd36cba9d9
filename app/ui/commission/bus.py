"""The wizard's thin adapter over the bus: read one meter, list the meters known.

The wizard asks three things of the bus and nothing else:

* ``known_meters()``: the meters found so far (scan) and ``selected()``;
* ``read(meter, cancel)``: one complete readout (every telegram, raw frames
  byte for byte, decoded), called from a worker task;
* ``describe()``: transport, port and baud for the evidence.

:class:`WizardBus` answers them from the app's bus service (``ctx.bus``) when
there is one, else from a private simulated bus in demo mode (the built-in
simulator of ``drivers.simulator``, in process, real time).
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MeterRef:
    """A meter on the bus: how to address it and what it said it is."""

    primary_address: int | None
    secondary_address: str | None
    manufacturer: str | None = None
    medium: str | None = None
    version: int | None = None
    medium_code: int | None = None

    @property
    def label(self) -> str:
        parts = [self.manufacturer or "???", self.secondary_address or "?"]
        if self.primary_address:
            parts.append(f"address {self.primary_address}")
        if self.medium:
            parts.append(self.medium.replace("_", " "))
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"primary_address": self.primary_address, "secondary_address": self.secondary_address,
                "manufacturer": self.manufacturer, "medium": self.medium, "version": self.version,
                "medium_code": self.medium_code}

    @classmethod
    def from_any(cls, m: Any) -> MeterRef:
        """From a MeterRef, a dict, or any object with the attributes of drivers.scan.FoundMeter."""
        if isinstance(m, MeterRef):
            return m
        get = m.get if isinstance(m, dict) else (lambda k, d=None: getattr(m, k, d))
        sec = get("secondary_address") or get("identification")
        return cls(get("primary_address", get("address")), None if sec is None else str(sec), get("manufacturer"),
                   get("medium"), get("version"), get("medium_code"))


@dataclass
class MeterReadout:
    """One complete readout: the evidence the register keeps."""

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


class _DemoSimulator:
    """A simulated bus of its own for demo mode when the app has no bus service."""

    def __init__(self) -> None:
        from drivers.link import Link
        from drivers.simulator import LoopbackTransport, SimBus, default_configs

        self.configs = default_configs(12)
        self.bus = SimBus.from_configs(self.configs, seed=0)
        self.transport = LoopbackTransport(self.bus, realtime=True)
        self.link = Link(self.transport)
        self.lock = threading.Lock()

    def meters(self) -> list[MeterRef]:
        return [MeterRef(c.primary_address, c.identification, c.manufacturer, None, c.version, c.medium)
                for c in self.configs if c.primary_address]

    def read(self, meter: MeterRef, cancel: threading.Event | None = None):
        from drivers.address import SecondaryMask
        from drivers.ops import read_meter
        from drivers.wakeup import profile_for_manufacturer

        with self.lock:
            self.link.cancel = cancel
            profile = None
            cfg = next((c for c in self.configs if c.identification == meter.secondary_address
                        and c.manufacturer == meter.manufacturer), None)
            if cfg is not None and cfg.wakeup:
                profile = profile_for_manufacturer(cfg.manufacturer)
            if meter.primary_address:
                return read_meter(self.link, address=meter.primary_address, profile=profile)
            return read_meter(self.link, secondary=SecondaryMask.parse(meter.secondary_address), profile=profile)


class WizardBus:
    """What the Commission wizard needs from the bus (see the module docstring)."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self._sim: _DemoSimulator | None = None
        self._sim_lock = threading.Lock()

    @property
    def service(self):
        return getattr(self.ctx, "bus", None)

    def available(self) -> bool:
        return self.service is not None or bool(self.ctx.demo)

    def _simulator(self) -> _DemoSimulator:
        with self._sim_lock:
            if self._sim is None:
                self._sim = _DemoSimulator()
            return self._sim

    def known_meters(self) -> list[MeterRef]:
        svc = self.service
        if svc is not None:
            return [MeterRef.from_any(m) for m in (getattr(svc, "meters", None) or [])]
        if self.ctx.demo:
            return self._simulator().meters()
        return []

    def selected(self) -> MeterRef | None:
        svc = self.service
        sel = getattr(svc, "selected", None) if svc is not None else None
        if callable(sel):
            sel = sel()
        return None if sel is None else MeterRef.from_any(sel)

    def describe(self) -> dict[str, Any]:
        c = self.ctx.connection.value
        if self.service is None and self.ctx.demo:
            return {"transport": "simulator", "port": "simulated bus", "baud": 2400}
        transport = "simulator" if c.simulated else ("tcp" if c.gateway else "serial")
        return {"transport": transport, "port": c.port or c.gateway or ("simulated bus" if c.simulated else None),
                "baud": c.baud}

    def read(self, meter: MeterRef, cancel: threading.Event | None = None) -> MeterReadout:
        """One complete readout. Runs in a worker thread (serial/TCP I/O)."""
        svc = self.service
        if svc is not None:
            res = svc.read_meter_blocking(meter, cancel=cancel)
        elif self.ctx.demo:
            res = self._simulator().read(meter, cancel)
        else:
            raise RuntimeError("not connected to a meter bus: connect first (Connect page)")
        return self._readout(meter, res)

    def _readout(self, meter: MeterRef, res: Any) -> MeterReadout:
        frames = [bytes(f) for f in res.frames]
        telegrams = [t if isinstance(t, dict) else t.to_json() for t in res.telegrams]
        first = telegrams[0] if telegrams else {}
        ref = MeterRef(getattr(res, "address", meter.primary_address),
                       first.get("identification") or meter.secondary_address, first.get("manufacturer"),
                       first.get("medium"), first.get("version"), first.get("medium_code"))
        return MeterReadout(read_at=dt.datetime.now(dt.timezone.utc), frames=frames, telegrams=telegrams, meter=ref,
                            **self.describe())
