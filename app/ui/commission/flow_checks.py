"""Commission page, steps 3 and 4: the checklist, and the plausibility checks on live readouts.
Display and navigation only: the workflow is ``app.services.commissioning``.

A mixin of :class:`app.ui.pages.commission.CommissionPage`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from app.services import commissioning as svc
from app.services.commissioning import MeterRef


class ChecksFlow:
    # -- step 3: checklist ---------------------------------------------------------------------------
    def _finish_checklist(self) -> None:
        self._advance(4)

    def _advance(self, to: int) -> None:
        def done(rec) -> None:
            self._apply_record(rec)
            self._enter(to)

        self._write(f"Saving step {to - 1}", lambda reg, s: svc.advance(reg, s, to), done)

    # -- step 4: plausibility ------------------------------------------------------------------------
    def _meter_ref(self) -> MeterRef:
        if self.state.bus_meter:
            return MeterRef.from_any(self.state.bus_meter)
        i = self.state.identify
        return MeterRef(i.get("primary_address"), i.get("secondary_address"), i.get("mbus_manufacturer"))

    def read_for_checks(self) -> None:
        ref = self._meter_ref()
        if not (ref.primary_address or ref.secondary_address):
            self.show_warning("No bus address for this meter: go back to step 1 and read it on the bus.")
            return

        def failed(msg: str) -> None:
            self.plausibility_step.read_button.setEnabled(True)
            self.plausibility_step.read_info.setText(f"Read failed: {msg}. Earlier results are kept.")

        if not self._start_read(ref, self._check_read, failed):
            return
        self.plausibility_step.read_button.setEnabled(False)
        self.plausibility_step.read_info.setText(f"Reading {ref.label}…")

    def _check_read(self, readout) -> None:
        """Save the readout as evidence at once and run the checks, both in a worker (queued write)."""
        wrong = svc.check_identity(self.state, readout)
        if wrong:
            self.plausibility_step.read_button.setEnabled(True)
            self.plausibility_step.read_info.setText("Read failed: another meter answered.")
            self.show_error(wrong)
            return
        entry = svc.note_check_readout(self.state, readout)

        def saved(res) -> None:
            entry["id"] = res[0]
            self._checked(entry, res[1], res[2])

        def failed(_msg: str) -> None:   # not saved: checked all the same, saved with the record at the next step
            s = svc.copy_state(self.state)
            self.run_task("Checking the readout", lambda: svc.run_checks(s, entry),
                          on_finished=lambda r: self._checked(entry, r[0], r[1]))

        self._write("Saving the readout as evidence",
                    lambda reg, s: svc.save_check_readout(reg, s, readout, entry), saved, failed)

    def _checked(self, entry: dict[str, Any], checks: list[dict[str, Any]], mpe: dict[str, Any] | None) -> None:
        self.plausibility_step.read_button.setEnabled(True)
        self.plausibility_step.read_button.setText("Read again  (F5)")
        self.state.readouts.append(entry)
        self.state.checks, self.state.mpe = checks, mpe
        self._show_latest_values()
        self.save_draft()
        if self._after_check is not None:
            self._after_check()

    def _show_latest_values(self) -> None:
        s = self.state
        entries = [r for r in s.readouts if r.get("role") in ("check", "observation_end") and r.get("telegrams")]
        if not entries:
            self.plausibility_step.show_checks(s.checks, s.clock, not s.identify.get("radio"))
            return
        e = entries[-1]
        v = svc.entry_values(e, s.kind)
        n = len(s.readouts_with("check"))
        when = dt.datetime.fromisoformat(e["read_at"]).astimezone().strftime("%H:%M:%S")
        self.plausibility_step.show_values(v, f"{n} readout{'s' if n != 1 else ''} for the checks; latest at {when}"
                                              + (" (end of the observation window)." if e["role"] ==
                                                 "observation_end" else "."))
        self.plausibility_step.show_checks(s.checks, s.clock, not s.identify.get("radio"))
        op = (s.mpe or {}).get("operating_point") or {}
        self.plausibility_step.show_mpe(s.mpe, op.get("q_m3h"), op.get("dtheta_k"))
        self.plausibility_step.read_button.setText("Read again  (F5)")

    def _finish_plausibility(self) -> None:
        if not self.state.readouts_with("check"):
            self.show_error("Read the meter first (Read now): the plausibility checks need a live readout.",
                            group="step")
            self.plausibility_step.read_button.setFocus()
            return
        self._advance(5)
