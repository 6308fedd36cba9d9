"""The wizard's thin adapter over the app's bus service (``ctx.bus``).

The wizard needs four things from the bus: the meters it knows (and the one
selected on the Scan page), one complete readout of a meter, a live poller for
the observation window, and the readout as plain data for the evidence. The
bus service does the work (one operation at a time on the wire, in workers);
this module only turns the wizard's stored meter reference
(:class:`~app.services.commissioning.MeterRef`) into a known meter and a
service :class:`~app.ui.bus.Readout` into a
:class:`~app.services.commissioning.MeterReadout`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.services.commissioning.meter import MeterReadout, MeterRef


class WizardBus:
    """What the Commission wizard asks of ``ctx.bus`` (see the module docstring).

    Start methods run on the GUI thread and raise ``app.ui.bus.BusUnavailable``
    (not connected, a scan running) with a one-line message.
    """

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.radio_meter: str | None = None    # "FLAG id" of a radio meter: readouts come from its telegrams

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
        """One complete readout of ``ref`` through the bus service; ``on_finished(MeterReadout)``. For a radio
        meter: its latest telegrams heard (decoded again with the key store)."""
        if self.radio_meter is not None:
            return self._read_radio(origin, on_finished, on_failed)
        svc = self.service
        m = self._known(ref)
        cb = {"on_failed": on_failed} if on_failed is not None else {}
        done = (lambda ro: on_finished(MeterReadout.from_readout(ro)))
        if m is not None:
            return svc.read_meter(m, origin=origin, on_finished=done, **cb)
        if ref.secondary_address and not ref.primary_address:
            return svc.read_address(secondary=ref.secondary_address, origin=origin, on_finished=done, **cb)
        return svc.read_address(address=ref.primary_address, origin=origin, on_finished=done, **cb)

    def _read_radio(self, origin, on_finished, on_failed):
        from app.services.commissioning import radio_readout
        from app.ui.commission.flow_radio import snapshot

        radio = self.ctx.radio
        meter = radio.table.meters.get(self.radio_meter)
        if meter is None or not meter.log:
            msg = (f"{self.radio_meter} has not been heard" + ("" if radio.running else
                   ": the receiver is off; start it on the Radio page"))
            if on_failed is not None:
                on_failed(msg)
            return None
        snap, keys = snapshot(meter), self.ctx.keys.lookup
        source = radio.source.label() if radio.source is not None else "radio"
        return self.ctx.tasks.start(f"Radio readout {self.radio_meter}",
                                    lambda: radio_readout(snap, keys, source=source, telegrams=3), origin=origin,
                                    on_finished=on_finished, on_failed=on_failed, report_errors=on_failed is None)

    def poller(self, ref: MeterRef, interval_s: float, parent, name: str):
        """A live poller (``app.ui.workers.Poller``: ``sample(t, Readout)``, ``missed(t, message)``); for a
        radio meter, one sample per telegram it sends (:class:`RadioPoller`)."""
        if self.radio_meter is not None:
            return RadioPoller(self.ctx, self.radio_meter, interval_s, parent)
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

    def reconfiguration_warning(self, ref: MeterRef, model: str | None = None) -> dict | None:
        """The warning to confirm before writing ``ref``'s clock when its make counts reconfigurations."""
        m = self._known(ref)
        if m is None:
            from drivers.session import reconfiguration_warning

            return reconfiguration_warning(ref.manufacturer, model)
        return self.service.reconfiguration_warning(m, model=model)

    def set_clock(self, ref: MeterRef, *, agreed: bool, model: str | None, origin: Any,
                  on_finished: Callable[[Any], None], on_failed: Callable[[str], None] | None = None):
        """Set ``ref``'s clock to the laptop's time (confirmed by a read-back); ``on_finished(ClockWriteResult)``."""
        from app.ui.bus import BusUnavailable

        m = self._known(ref)
        if m is None:
            raise BusUnavailable("Read the meter once first: its clock is set by its full secondary address.")
        cb = {"on_failed": on_failed} if on_failed is not None else {}
        return self.service.set_clock(m, agreed=agreed, model=model, origin=origin, on_finished=on_finished, **cb)

    def port(self) -> tuple[str | None, str]:
        """(port, transport kind) of the connection, for the evidence of a write."""
        spec = self.service.spec
        if spec is None:
            return None, "serial"
        return spec.url, spec.transport_kind

class RadioPoller(QObject):
    """The observation window's samples from a radio meter: one per telegram it sends (decoded in the
    receiver's worker; here decoded again with the key store for its records). ``interval_s``: the
    meter's send interval (its estimate; else the one asked for), which the completeness is counted
    against. Same signals as :class:`app.ui.workers.Poller`."""

    sample = Signal(float, object)
    missed = Signal(float, str)
    stopped = Signal()

    def __init__(self, ctx, key: str, interval_s: float, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.key = key
        meter = ctx.radio.table.meters.get(key)
        est = meter.interval_s if meter is not None else None
        self.interval_s = float(est) if est else float(interval_s)
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if not self._running:
            self._running = True
            self.ctx.radio.batch.connect(self._batch)

    def stop(self) -> None:
        if self._running:
            self._running = False
            self.ctx.radio.batch.disconnect(self._batch)
            self.stopped.emit()

    def _batch(self, recs, _now, changed) -> None:
        if self.key not in changed:
            return
        from app.core.radio.reception import decode_again
        from app.ui.bus import Readout

        for r in recs:
            if r.meter != self.key:
                continue
            t, err = decode_again(r, self.ctx.keys.lookup)
            when = time.time()      # when it reached the app: the window's clock (a simulator's may run faster)
            if t is None or t.security_reason:
                self.missed.emit(when, err or t.security_reason)
                continue
            ro = Readout(self.key, [r.raw], [t], r.received_at, secondary_address=t.identification,
                         port=self.ctx.radio.source.label() if self.ctx.radio.source else "radio", transport="radio")
            self.sample.emit(when, ro)
