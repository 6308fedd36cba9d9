"""Commission page, step 1 for a radio meter: identify it from a telegram heard on the Radio page, check
that its key decrypts, its signal and its send interval, keep its telegrams as evidence. Display and
navigation only: the workflow is ``app.services.commissioning`` (``radio``).

A mixin of :class:`app.ui.pages.commission.CommissionPage`. Later readouts of a radio meter (step 4) and
its observation window (step 5) come from its telegrams too (:class:`app.ui.commission.bus.WizardBus`).
"""
from __future__ import annotations

import copy
import time
from collections import deque

from app.services import commissioning as svc
from app.ui.radio.model import KEY_WORDS, short_medium

RADIO_REFRESH_S = 2.0


def snapshot(meter):
    """A copy of a heard meter a worker may read while more telegrams arrive."""
    snap = copy.copy(meter)
    snap.log = deque(meter.log)
    return snap


class RadioFlow:
    def _radio_setup(self) -> None:
        self._radio_refreshed = 0.0
        radio = self.ctx.radio
        radio.batch.connect(self._radio_batch)
        radio.runningChanged.connect(lambda _r: self.refresh_radio_meters())
        self.identify_step.radioMeterChosen.connect(self.use_radio_meter)
        self._sync_radio_bus()

    def _radio_batch(self, _recs, _now, _changed) -> None:
        if self.state.step == 1 and self.isVisible() and time.monotonic() - self._radio_refreshed >= RADIO_REFRESH_S:
            self.refresh_radio_meters()

    def refresh_radio_meters(self) -> None:
        self._radio_refreshed = time.monotonic()
        radio = self.ctx.radio
        meters = sorted(radio.table.meters.values(), key=lambda m: -(m.rssi_median if m.rssi_median is not None
                                                                     else -999.0))
        items = []
        for m in meters:
            rssi = "" if m.rssi_median is None else f" · {m.rssi_median:.0f} dBm"
            items.append((m.key, f"{m.make} {m.identification} · {short_medium(m.medium)}{rssi} · "
                                 f"{KEY_WORDS.get(m.status, m.status)} · {m.count} telegram{'s' * (m.count != 1)}"))
        self.identify_step.set_radio_meters(items)
        if not self.state.identify.get("radio"):
            self.identify_step.radio_status.setText(
                "" if items else ("Receiving: no meter heard yet." if radio.running else
                                  "Not receiving: start the receiver on the Radio page to commission a radio meter."))

    def use_radio_meter(self, key: str) -> None:
        radio = self.ctx.radio
        meter = radio.table.meters.get(key)
        if meter is None:
            self.show_warning(f"{key} is no longer in the list of meters heard: pick it again.")
            return
        assessment = svc.radio_assessment(meter, since=radio.table.started_at, now=radio.table.now,
                                          sensitivity_dbm=radio.sensitivity_dbm)
        snap = snapshot(meter)
        keys = self.ctx.keys.lookup
        source = radio.source.label() if radio.source is not None else "radio"
        ctx = self.ctx

        def work():
            readout = svc.radio_readout(snap, keys, source=source)
            return readout, svc.match_meter(ctx.register(), readout)

        self.identify_step.radio_status.setText(f"Identifying {key} from its telegrams…")
        self.run_task("Identifying the radio meter", work, on_finished=lambda r: self._radio_identified(r, assessment),
                      on_failed=lambda msg: self.identify_step.radio_status.setText(f"Not identified: {msg}."))

    def _radio_identified(self, result, assessment) -> None:
        readout, meter = result
        self.identify_step.collect(self.state)
        svc.apply_radio_identification(self.state, readout, assessment, meter)
        self.identify_step.load(self.state)
        self._sync_radio_bus()
        self.show_radio_status()
        self._show_register_status(meter)
        self._update_footer()
        self._save_pending() if self.state.record_id is None else self.save_draft()
        problems = svc.radio_problems(assessment)
        if problems:
            self.show_warning(f"{self.state.meter_label}: {problems[0]}.")

    def show_radio_status(self) -> None:
        a = self.state.identify.get("radio")
        if not a:
            return
        marks = {True: "<span style='color:#0a6b2d'>✓</span>", False: "<span style='color:#a4001d'><b>✗</b></span>",
                 None: "<span style='color:#0b3d91'>…</span>"}
        n = len((self.state.readouts_with("identify") or [{}])[-1].get("frames_hex") or [])
        lines = [f"<b>{a['meter']}</b> identified from {n} telegram{'s' * (n != 1)} (kept as evidence), mode "
                 f"{(a.get('mode') or '?').upper()}:"]
        lines += [f"{marks[c['ok']]} {c['text']}" for c in a.get("checks") or ()]
        self.identify_step.radio_status.setText("<br>".join(lines))

    def _sync_radio_bus(self) -> None:
        """The wizard's readouts (step 4) and observation (step 5) come from the radio for a radio meter."""
        a = self.state.identify.get("radio") or {}
        self.bus.radio_meter = a.get("meter")
