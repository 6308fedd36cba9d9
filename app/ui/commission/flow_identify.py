"""Commission page, steps 1 and 2: identify the meter (read it on the bus or pick it from the register)
and place it. Display and navigation only: the workflow is ``app.services.commissioning``.

A mixin of :class:`app.ui.pages.commission.CommissionPage` (it uses the page's
state, step widgets, banner and write queue).
"""
from __future__ import annotations

from collections.abc import Callable

from app.core import commissioning as cm
from app.core.registers import medium_words, number
from app.services import commissioning as svc
from app.services.commissioning import MeterRef


class IdentifyFlow:
    # -- step 1: identify -------------------------------------------------------------------------
    def refresh_bus_meters(self) -> None:
        meters = self.bus.known_meters()
        selected = self.bus.selected()
        if self.state.bus_meter:
            want = MeterRef.from_any(self.state.bus_meter)
            if not any((m.secondary_address, m.manufacturer) == (want.secondary_address, want.manufacturer)
                       for m in meters):
                meters = [want] + meters
            selected = want
        self.identify_step.set_bus_meters(meters, selected)
        if not meters:
            self.identify_step.read_status.setText(
                "No meter on the bus yet: connect and scan (Connect, Scan pages), or pick the meter from the register.")

    def read_for_identify(self) -> None:
        ref = self.identify_step.chosen_bus_meter()
        if ref is None:
            self.show_warning("No meter to read: scan the bus first (Scan page), or pick the meter from the register.")
            return
        if not self._start_read(ref, self._identify_read, self._read_failed):
            return
        self.identify_step.read_button.setEnabled(False)
        self.identify_step.read_status.setText(f"Reading {ref.label}…")

    def _start_read(self, ref, on_finished, on_failed) -> bool:
        """Start a readout through the bus service; a refusal (not connected, scan running) goes to the banner."""
        from app.ui.bus import BusUnavailable

        try:
            self.bus.read(ref, origin=self, on_finished=on_finished, on_failed=on_failed)
        except BusUnavailable as exc:
            self.show_warning(str(exc))
            return False
        return True

    def _identify_read(self, readout) -> None:
        ctx = self.ctx
        self.run_task("Looking the meter up in the register",
                      lambda: (readout, svc.match_meter(ctx.register(), readout)),
                      on_finished=self._identified, on_failed=self._read_failed)

    def _read_failed(self, message: str) -> None:
        self.identify_step.read_button.setEnabled(True)
        self.identify_step.read_status.setText(f"Read failed: {message}. What you entered is kept.")

    def _identified(self, result) -> None:
        readout, meter = result
        self.identify_step.read_button.setEnabled(True)
        self.identify_step.collect(self.state)
        svc.apply_identification(self.state, readout, meter)
        self.identify_step.load(self.state)
        self._sync_radio_bus()
        i, first = self.state.identify, readout.first
        vals = cm.readout_values(readout.telegrams, readout.read_at, self.state.kind)
        status = "status OK" if not first.get("status") else f"status 0x{first.get('status'):02X}"
        self.identify_step.read_status.setText(
            f"Read {len(readout.frames)} telegram{'s' if len(readout.frames) > 1 else ''} at "
            f"{readout.read_at.astimezone().strftime('%H:%M:%S')}: {i['manufacturer']} {i['serial']}, "
            f"{medium_words(first.get('medium')) or 'unknown medium'}, {status}"
            + (f", {'cooling' if self.state.kind == 'cooling' else 'heat'} energy "
               f"{number(round(vals.energy_kwh))} kWh" if vals.energy_kwh is not None else "") + ".")
        self._show_register_status(meter)
        self._update_footer()
        self._save_pending() if self.state.record_id is None else self.save_draft()
        then, self._after_identified = self._after_identified, None
        if then is not None:
            then()

    def _show_register_status(self, meter) -> None:
        if meter is not None:
            where = " · ".join(x for x in (meter.site, meter.building, meter.location, meter.monitoring_point) if x)
            self.identify_step.register_status.setText(
                f"In the register: {meter.label} ({meter.model}) at {where}. Its rating is filled in from there.")
        else:
            self.identify_step.register_status.setText(
                "Not in the register yet: it is created when you place it (next step). Enter the model and the "
                "rating from the plate.")

    def search_register(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        ctx = self.ctx
        self.run_task("Searching the register", lambda: ctx.register().list_meters(search=text, limit=50),
                      on_finished=self.identify_step.set_found)

    def use_register_meter(self, meter_id: int) -> None:
        ctx = self.ctx

        def got(meter) -> None:
            self.identify_step.collect(self.state)
            svc.use_register_meter(self.state, meter)
            self.identify_step.load(self.state)
            self._sync_radio_bus()
            self._show_register_status(meter)
            self.refresh_bus_meters()
            self._update_footer()

        self.run_task("Opening the meter", lambda: ctx.register().get_meter(meter_id), on_finished=got)

    def _finish_identify(self, then: Callable[[], None] | None = None) -> None:
        svc.complete_identity(self.state)

        def done(res) -> None:
            meter = res["meter"]
            if meter is None:
                self.state.meter_id = None
                self.state.step = 2
                self._save_pending()
            else:
                self.state.meter_id, self.state.meter_version = meter.id, meter.version
                if not self.state.place.get("site"):
                    self.state.place = svc.place_of(meter)
                self.state.readouts = res["readouts"]
                self._apply_record(res["record"])
                self._clear_pending()
            self._enter(2)
            if then is not None:
                then()

        self._write("Saving the identification", svc.identify, done)

    # -- step 2: place ------------------------------------------------------------------------------
    def _load_place_lists(self) -> None:
        site = self.place_step.site.currentText().strip() or self.state.place.get("site")
        if self.state.meter_id is None:
            self.place_step.where_now.setText(f"{self.state.meter_label} is not in the register yet: Next creates it "
                                              "here, with the identity and rating of step 1.")
        else:
            self.place_step.where_now.setText(f"{self.state.meter_label} is in the register. If you name another "
                                              "site or monitoring point, it is recorded as moved here on the "
                                              "installation date.")

        def got(res) -> None:
            sites, annex, points = res
            self.place_step.set_sites(sites)
            self.place_step.set_points(annex, points)
            self.place_step.load(self.state)

        ctx = self.ctx
        self.run_task("Loading sites", lambda: svc.place_lists(ctx.register(), site), on_finished=got)

    def _site_changed(self, site: str) -> None:
        site = site.strip()
        if not site:
            return
        ctx = self.ctx
        self.run_task("Loading monitoring points", lambda: svc.monitoring_points(ctx.register(), site),
                      on_finished=lambda res: self.place_step.set_points(res[0], res[1]), report_errors=False)

    def _finish_place(self, then: Callable[[], None] | None = None) -> None:
        def done(res) -> None:
            meter = res["meter"]
            self.state.meter_id, self.state.meter_version = meter.id, meter.version
            self.state.readouts = res["readouts"]
            self._apply_record(res["record"])
            self._clear_pending()
            self._enter(3)
            if then is not None:
                then()

        self._write("Placing the meter", svc.place, done)
