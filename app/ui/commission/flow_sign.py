"""Commission page, step 6: sign-off and the certificate; and the page's demo walkthrough.
Signing is ``app.services.commissioning.sign``; the certificate PDF is drawn by
``app.ui.commission.certificate`` from the data the sign-off returns.

A mixin of :class:`app.ui.pages.commission.CommissionPage`.
"""
from __future__ import annotations

import datetime as dt
import os

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app.core import commissioning as cm
from app.services import commissioning as svc

CERT_DIR_KEY = "certificate_dir"
#: what a technician writes on yes where the item asks for it (the demo's answers)
DEMO_NOTES = {"mid_marking": "M24", "straight_lengths": "10 DN / 5 DN",
              "environmental_class": "A, M1, E1 - indoor plant room",
              "static_pressure": "2.4 bar at the meter; minimum 1.0 bar"}
TECHNICIAN_KEY = "technician"


class SignFlow:
    def certificate_dir(self) -> str:
        d = self.recall(CERT_DIR_KEY, "", str)
        if d:
            return d
        demo = self.ctx.mode.certificates_dir()
        if demo:
            return demo
        from app import paths

        return str(paths.certificates_dir())

    def sign(self) -> None:
        from app.ui.commission.certificate import plot_image, write_signed

        problems = self.sign_step.problems()
        if problems:
            w, msg = problems[0]
            self.show_error(msg, group="step")
            w.setFocus()
            return
        self.sign_step.collect(self.state)
        if self.state.record_id is None:
            self.show_error("The record is not in the register yet: go back and place the meter.")
            return
        self.remember(TECHNICIAN_KEY, self.state.technician)
        obs = self.state.observation
        image = plot_image(obs.get("samples") or [], interval_s=(obs.get("kpis") or {}).get("interval_s") or 5.0)
        path = os.path.join(self.certificate_dir(), svc.certificate_file_name(self.state))
        self.sign_step.sign_button.setEnabled(False)

        def work(reg, s):
            signed = svc.sign(reg, s)
            write_signed(path, signed, plot_image=image)
            return signed.record, signed.state.readouts

        def done(res) -> None:
            rec, readouts = res
            self.state.readouts = readouts
            self.state.signed = True
            self._apply_record(rec)
            self._clear_pending()
            self.certificate_path = path
            shown = path.replace(os.sep, os.sep + "\u200b")   # the path may break at its separators
            self.sign_step.set_signed(f"Signed by {rec['signed_by']} on {str(rec['signed_at'])[:16]} UTC "
                                      f"(register record {rec['id']}). Certificate: {shown}", True)
            self._show_step(6)
            self.show_info(f"Commissioning of {self.state.meter_label} signed and saved in the register; "
                           "certificate written.", action_text="Open certificate", action=self.open_certificate)

        def failed(_msg: str) -> None:
            self.sign_step.sign_button.setEnabled(True)

        self._write("Signing the commissioning record", work, done, failed)

    def open_certificate(self) -> None:
        if self.certificate_path and self.ctx.mode.interactive:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.certificate_path))

    # -- demo -----------------------------------------------------------------------------------------------
    def demo_walkthrough(self) -> None:
        """A wizard part-way through: a simulated meter read, placed, checklist answered, at the
        plausibility step with the results of two live readouts ten simulated minutes apart."""
        from app.ui.bus import BusUnavailable
        from app.ui.demo import DEMO_PLACE, DEMO_RATING

        bus = self.ctx.bus
        if not bus.connected:
            return

        def read(ro) -> None:
            self.refresh_bus_meters()
            self._identify_read(svc.MeterReadout.from_readout(ro))
            self._after_identified = demo_fill

        def demo_fill() -> None:
            i = self.state.identify
            for k, v in DEMO_RATING.items():
                if i.get(k) in (None, ""):
                    i[k] = v
            if not self.state.place.get("site"):
                self.state.place = dict(DEMO_PLACE)
            self.state.place.setdefault("install_date", dt.date.today().isoformat())
            self.identify_step.load(self.state)
            self.state.answers = {item.key: {"answer": "yes", "note": DEMO_NOTES.get(item.key)}
                                  for item in cm.CHECKLIST if item.required}
            self.state.answers["heat_cooling_registers"] = {"answer": "na", "note": "heating only"}
            self.checklist_step.load(self.state)

            def checked_once() -> None:
                if len(self.state.readouts_with("check")) == 1:
                    self.bus.advance_simulated_clock(600)
                    self.read_for_checks()
                else:
                    self._after_check = None

            def placed() -> None:
                self.checklist_step.load(self.state)
                self._after_check = checked_once
                self._advance(4)

            self._finish_identify(then=lambda: self._finish_place(then=placed))

        try:
            bus.read_address(address=1, origin=self, on_finished=read)
        except BusUnavailable as exc:
            self.show_warning(str(exc))
