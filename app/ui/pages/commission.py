"""The Commission page: a six-step wizard for one meter.

1 Identify (read it on the bus, or pick it from the register), 2 Place it,
3 Installation checklist, 4 Plausibility of a live readout, 5 Observation
window, 6 Sign-off with the certificate. The domain rules are in
``app.core.commissioning``; the step widgets, the bus adapter, the draft state
and the certificate in ``app.ui.commission``.

Nothing is lost: every step is saved as a draft in the register as it is
answered (``save_commissioning_step``), every readout at once as evidence
(``save_readout`` with the record's id). Before the meter is in the register
the draft waits in the settings. On start the page offers to resume the newest
draft. Register and bus I/O run in worker tasks; writes to the register go
one after the other so that each carries the version the previous one made.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import os
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStackedWidget

from app.core import commissioning as cm
from app.ui.pages.base import Page

PENDING_KEY = "pending"
CERT_DIR_KEY = "certificate_dir"
TECHNICIAN_KEY = "technician"
DEFAULT_WINDOW_MIN = 10
DEFAULT_INTERVAL_S = 5

# A typical plate of the simulated meter read in demo mode (Kamstrup MULTICAL 603, qp 1.5 m³/h, 1:100).
DEMO_RATING = {"model": "MULTICAL 603", "mid_class": 2, "qp_m3h": 1.5, "qi_m3h": 0.015, "qs_m3h": 3.0,
               "dtheta_min_k": 3.0, "dtheta_max_k": 150.0}
DEMO_PLACE = {"site": "Riverside Heat Network", "building": "Energy Centre", "location": "Substation 1, plant room",
              "monitoring_point": "SS2"}


def _user() -> str:
    from app.storage.register import default_user

    return default_user()


class CommissionPage(Page):
    name = "commission"
    title = "Commission"
    icon = "commission"
    summary = "Commission one meter, step by step; every answer is saved as a draft."

    # -- construction ----------------------------------------------------------------------
    def build(self) -> None:
        from app.ui.commission import steps as st
        from app.ui.commission.bus import WizardBus
        from app.ui.commission.state import STEPS, WizardState
        from app.ui.commission.widgets import StepBar

        self.bus = WizardBus(self.ctx)
        self.state = WizardState()
        self.reached = 1
        self._writes: list[tuple] = []
        self._writing = False
        self._save_again = False
        self._drafts_checked = False
        self._offer: dict[str, Any] | None = None
        self.certificate_path: str | None = None
        self.observation_seconds: float | None = None   # overrides the window's minutes (tests)
        self._obs: dict[str, Any] | None = None
        self.poller = None
        self._after_identified: Callable[[], None] | None = None   # demo chaining
        self._after_check: Callable[[], None] | None = None

        self.step_bar = StepBar(STEPS, self.body)
        self.step_bar.stepRequested.connect(self.go_to)
        self.body_layout.addWidget(self.step_bar)

        self.stack = QStackedWidget(self.body)
        self.identify_step = st.IdentifyStep(self.stack)
        self.place_step = st.PlaceStep(self.stack)
        self.checklist_step = st.ChecklistStep(self.stack)
        self.plausibility_step = st.PlausibilityStep(self.stack)
        self.observe_step = st.ObserveStep(self.stack)
        self.sign_step = st.SignStep(self.stack)
        self.steps = [self.identify_step, self.place_step, self.checklist_step, self.plausibility_step,
                      self.observe_step, self.sign_step]
        for s in self.steps:
            self.stack.addWidget(s)
        self.body_layout.addWidget(self.stack, 1)

        foot = QHBoxLayout()
        self.back_button = QPushButton("◀  Back", self.body)
        self.back_button.setObjectName("WizardBack")
        self.back_button.clicked.connect(self.go_back)
        foot.addWidget(self.back_button)
        self.footer_label = QLabel("", self.body)
        self.footer_label.setObjectName("WizardFooter")
        self.footer_label.setWordWrap(True)
        self.footer_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        foot.addWidget(self.footer_label, 1)
        self.next_button = QPushButton("Next  ▶", self.body)
        self.next_button.setObjectName("WizardNext")
        self.next_button.setProperty("primary", True)
        self.next_button.clicked.connect(self.go_next)
        foot.addWidget(self.next_button)
        self.body_layout.addLayout(foot)

        self.identify_step.readRequested.connect(self.read_for_identify)
        self.identify_step.refreshRequested.connect(self.refresh_bus_meters)
        self.identify_step.searchRequested.connect(self.search_register)
        self.identify_step.registerMeterChosen.connect(self.use_register_meter)
        self.place_step.siteChanged.connect(self._site_changed)
        self.checklist_step.changed.connect(lambda _k: self.save_answers())
        self.plausibility_step.readRequested.connect(self.read_for_checks)
        self.observe_step.startRequested.connect(self.start_observation)
        self.observe_step.endRequested.connect(self.end_observation_early)
        self.sign_step.signRequested.connect(self.sign)
        self.sign_step.openRequested.connect(self.open_certificate)
        self.sign_step.newRequested.connect(self.new_commissioning)

        s = self.ctx.settings
        self.observe_step.minutes.setValue(int(s.page_value(self.name, "window_min", DEFAULT_WINDOW_MIN, int)))
        self.observe_step.interval.setValue(int(s.page_value(self.name, "interval_s", DEFAULT_INTERVAL_S, int)))
        self.sign_step.technician.setText(s.page_value(self.name, TECHNICIAN_KEY, "", str) or "")

        self.make_action("Next step", self.go_next, "Ctrl+Return")
        self.make_action("Previous step", self.go_back, "Alt+Left")
        self.make_action("New commissioning (start over)", self.new_commissioning, "Ctrl+N")
        self._obs_timer = QTimer(self)
        self._obs_timer.setInterval(1000)
        self._obs_timer.timeout.connect(self._observation_tick)
        svc = self.ctx.bus
        svc.metersChanged.connect(self.refresh_bus_meters)
        svc.selectedChanged.connect(lambda _m: self.refresh_bus_meters())
        self.on_text_scale_changed(self.ctx.text_scale)
        self._show_step(1)

    # -- page hooks ------------------------------------------------------------------------
    def on_shown(self) -> None:
        self.refresh_bus_meters()
        if not self._drafts_checked:
            self._drafts_checked = True
            self.check_drafts()
        if self.state.step == 2:
            self._load_place_lists()

    def refresh(self) -> bool:
        step = self.state.step
        if step == 1:
            self.read_for_identify()
        elif step == 4:
            self.read_for_checks()
        elif step == 5 and self._obs is None:
            self.start_observation()
        else:
            return False
        return True

    def on_text_scale_changed(self, scale: float) -> None:
        m = self.ctx.metrics
        for b in (self.back_button, self.next_button):
            b.setMinimumHeight(m.target)
            b.setMinimumWidth(round(140 * scale))
        for n, s in enumerate(self.steps):
            s.set_target(m.target)
            s.show_hint(scale <= 1.0)
            self.step_bar.buttons[n].setToolTip(f"Step {n + 1}: {s.hint}")
        for b in self.step_bar.buttons:
            b.setMinimumHeight(m.target)
        self.observe_step.plot.set_text_scale(scale)

    # -- navigation ------------------------------------------------------------------------
    def _show_step(self, n: int) -> None:
        self.state.step = n
        self.reached = max(self.reached, n)
        self.stack.setCurrentIndex(n - 1)
        self.step_bar.set_state(n, self.reached)
        self.back_button.setEnabled(n > 1 and not self.state.signed)
        self.next_button.setVisible(n < 6)
        self.next_button.setEnabled(not self.state.signed)
        self._update_footer()

    def _update_footer(self) -> None:
        s = self.state
        bits = [f"Step {s.step} of 6"]
        if s.identify.get("serial") or s.identify.get("secondary_address"):
            bits.append(s.meter_label)
        if s.record_id is not None:
            bits.append(f"draft {s.record_id} saved in the register" if not s.signed else f"record {s.record_id} signed")
        elif s.identify:
            bits.append("draft kept on this laptop until the meter is placed")
        self.footer_label.setText(" · ".join(bits))

    def go_to(self, n: int) -> None:
        if n == self.state.step or n > self.reached or self.state.signed:
            self.step_bar.set_state(self.state.step, self.reached)
            return
        if n > self.state.step:  # forward through the steps in between: each must be complete
            self.step_bar.set_state(self.state.step, self.reached)
            self.go_next()
            return
        self.steps[self.state.step - 1].collect(self.state)
        self._enter(n)

    def go_back(self) -> None:
        if self.state.step > 1 and not self.state.signed:
            self.steps[self.state.step - 1].collect(self.state)
            self._enter(self.state.step - 1)

    def go_next(self) -> None:
        if self.state.signed:
            return
        n = self.state.step
        step = self.steps[n - 1]
        if n == 3:
            self.checklist_step.collect(self.state)
            problems = cm.checklist_problems(self.state.answers)
            if problems:
                self._checklist_missing(problems)
                return
        else:
            problems = step.problems()
            if problems:
                widget, message = problems[0]
                self.show_error(message + (f" ({len(problems) - 1} more to fix on this step)" if len(problems) > 1
                                           else ""))
                widget.setFocus()
                return
        step.collect(self.state)
        {1: self._finish_identify, 2: self._finish_place, 3: self._finish_checklist,
         4: self._finish_plausibility, 5: self._finish_observation_step}[n]()

    def _enter(self, n: int) -> None:
        self.steps[n - 1].load(self.state)
        self._show_step(n)
        if n == 2:
            self._load_place_lists()
        elif n == 4:
            self._show_latest_values()
            if not self.state.readouts_with("check"):
                self.read_for_checks()
        elif n == 5:
            self._show_observation()
        elif n == 6:
            self.sign_step.load(self.state)
            if not self.state.technician:
                self.sign_step.technician.setText(
                    self.ctx.settings.page_value(self.name, TECHNICIAN_KEY, "", str) or "")

    def _checklist_missing(self, problems: list[cm.Problem]) -> None:
        row = self.checklist_step.show_problems(problems)
        n_items = len({p.key for p in problems})
        first = cm.CHECKLIST_BY_KEY[problems[0].key]
        number = [i.key for i in cm.CHECKLIST].index(first.key) + 1
        what = "an answer" if problems[0].field == "answer" else "a note"
        self.show_error(f"Item {number} needs {what}: {problems[0].message}"
                        + (f" {n_items - 1} more item{'s' if n_items > 2 else ''} marked in red." if n_items > 1
                           else "") + " Your other answers are kept.")
        return row

    # -- register writes, one after the other -------------------------------------------------
    def _write(self, name: str, fn: Callable, on_done: Callable | None = None,
               on_fail: Callable | None = None) -> None:
        """Queue ``fn(state_copy, register)`` for a worker; writes run one after the other."""
        self._writes.append((name, fn, on_done, on_fail))
        if not self._writing:
            self._next_write()

    def _next_write(self) -> None:
        if not self._writes:
            self._writing = False
            return
        self._writing = True
        name, fn, on_done, on_fail = self._writes.pop(0)
        snapshot = self._copy_state()
        ctx = self.ctx

        def work():
            return fn(snapshot, ctx.register())

        task = self.run_task(name, work, on_finished=on_done, on_failed=on_fail)
        task.ended.connect(lambda _t: self._next_write())

    def _copy_state(self):
        from app.ui.commission.state import WizardState

        s = WizardState.from_json(copy.deepcopy(self.state.to_json()))
        s.signed = self.state.signed
        return s

    def _apply_record(self, rec: dict[str, Any] | None) -> None:
        if rec:
            self.state.record_id = rec["id"]
            self.state.version = rec["version"]
            self.state.meter_id = rec["meter_id"]
        self._update_footer()

    def save_draft(self) -> None:
        """Save the current state as the draft (the register, or the settings before the meter is placed)."""
        if self.state.signed:
            return
        if self.state.record_id is None:
            self._save_pending()
            return
        if any(w[0] == "Saving the draft" for w in self._writes):
            return  # one queued save takes the latest state when it starts

        def save(s, reg):
            return reg.save_commissioning_step(s.record_id, step=s.step, answers=s.answers,
                                               plausibility=s.plausibility_json(), expected_version=s.version,
                                               user=_user())

        self._write("Saving the draft", save, self._apply_record)

    def save_answers(self) -> None:
        self.checklist_step.collect(self.state)
        self.save_draft()

    def _save_pending(self) -> None:
        if self.ctx.screenshot or not (self.state.identify or self.state.readouts):
            return
        self.ctx.settings.set_page_value(self.name, PENDING_KEY, json.dumps(self.state.to_json()))

    def _clear_pending(self) -> None:
        if not self.ctx.screenshot:
            self.ctx.settings.set_page_value(self.name, PENDING_KEY, "")

    # -- drafts to resume -----------------------------------------------------------------------
    def check_drafts(self) -> None:
        pending = self.ctx.settings.page_value(self.name, PENDING_KEY, "", str) or ""

        def find(reg):
            out = []
            for rec in reg.list_commissioning(status="draft", created_by=_user()):
                try:
                    label = reg.get_meter(rec["meter_id"]).label
                except Exception:  # noqa: BLE001 - a draft of a deleted meter is not offered
                    continue
                out.append({"id": rec["id"], "label": label, "step": max(1, rec["current_step"] or 1),
                            "updated_at": rec["updated_at"]})
            return out

        def found(drafts: list[dict[str, Any]]) -> None:
            offers = list(drafts)
            if pending:
                try:
                    from app.ui.commission.state import WizardState

                    p = WizardState.from_json(json.loads(pending))
                    offers.insert(0, {"id": None, "pending": p, "label": p.meter_label, "step": p.step})
                except (ValueError, TypeError, KeyError):
                    pass
            self._offer_resume(offers)

        self.run_task("Looking for unfinished commissioning", lambda: find(self.ctx.register()), on_finished=found)

    def _pristine(self) -> bool:
        s = self.state
        return s.record_id is None and not s.identify and not s.readouts and s.step == 1

    def _offer_resume(self, offers: list[dict[str, Any]]) -> None:
        if not offers or not self._pristine():
            return
        o = offers[0]
        self._offer = o
        more = f" ({len(offers) - 1} more draft{'s' if len(offers) > 2 else ''} in the register)" \
            if len(offers) > 1 else ""
        text = f"Unfinished commissioning of {o['label']}, stopped at step {o['step']}{more}."
        # With larger text the full wording does not fit a 1366-px screen beside the message: shorter there.
        action = (f"Resume {o['label']} at step {o['step']}" if self.ctx.larger_text
                  else f"Resume commissioning of {o['label']} at step {o['step']}")
        self.show_info(text, action_text=action, action=lambda: self.resume(o))

    def resume(self, offer: dict[str, Any]) -> None:
        if offer.get("id") is None and offer.get("pending") is not None:
            self._restore(offer["pending"])
            self.show_info(f"Resumed the commissioning of {self.state.meter_label} at step {self.state.step}.")
            return
        rid = offer["id"]

        def load(reg):
            from app.ui.commission.state import WizardState

            rec = reg.get_commissioning(rid)
            s = WizardState.from_record(rec)
            meter = reg.get_meter(rec["meter_id"])
            s.meter_version = meter.version
            by_id = {r["id"]: r for r in reg.readouts(meter.id)}
            for entry in s.readouts:
                r = by_id.get(entry.get("id"))
                if r is not None:
                    entry["frames_hex"] = [f.hex().upper() for f in r["frames"]]
                    entry["telegrams"] = r["decoded"] or []
            return s

        def loaded(s) -> None:
            self._restore(s)
            self.show_info(f"Resumed the commissioning of {s.meter_label} at step {s.step}: your answers are back.")

        self.run_task("Opening the draft", lambda: load(self.ctx.register()), on_finished=loaded)

    def _restore(self, s) -> None:
        self.state = s
        self.reached = s.step
        for step in self.steps:
            step.load(s)
        if s.bus_meter:
            self.refresh_bus_meters()
        if s.observation.get("samples"):
            self._replot(s.observation)
        self._enter(s.step)
        if s.step == 5 and not s.observation.get("kpis"):
            self.show_info("The observation window was interrupted: start it again.")

    def new_commissioning(self) -> None:
        from app.ui.commission.state import WizardState

        if self._obs is not None:
            self._stop_observation()
        self.state = WizardState()
        self.reached = 1
        self.certificate_path = None
        for s in self.steps:
            s.load(self.state)
        self.identify_step.read_status.setText("")
        self.identify_step.register_status.setText("")
        self.plausibility_step.show_values(None)
        self.plausibility_step.read_info.setText("No readout yet.")
        self.plausibility_step.mpe_label.setText("")
        self.observe_step.plot.clear()
        self.observe_step.show_kpis({"completeness": {"pct": None, "received": 0, "expected": 0}, "vwaft_c": None})
        self.sign_step.set_signed("", False)
        self.sign_step.technician.setText(self.ctx.settings.page_value(self.name, TECHNICIAN_KEY, "", str) or "")
        self.banner.clear()
        self._show_step(1)

    # -- step 1: identify -------------------------------------------------------------------------
    def refresh_bus_meters(self) -> None:
        from app.ui.commission.bus import MeterRef

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
        first = readout.first
        ctx = self.ctx

        def match():
            meter, _how, _cands = ctx.register().match_meter(first.get("manufacturer"), first.get("identification"))
            return readout, meter

        self.run_task("Looking the meter up in the register", match, on_finished=self._identified,
                      on_failed=self._read_failed)

    def _read_failed(self, message: str) -> None:
        self.identify_step.read_button.setEnabled(True)
        self.identify_step.read_status.setText(f"Read failed: {message}. What you entered is kept.")

    def _identified(self, result) -> None:
        from app.ui.commission.state import readout_entry

        readout, meter = result
        self.identify_step.read_button.setEnabled(True)
        first = readout.first
        self.identify_step.collect(self.state)
        i = self.state.identify
        flag = first.get("manufacturer")
        vals = cm.readout_values(readout.telegrams, readout.read_at)
        fab = None
        for t in readout.telegrams:
            for r in t.get("records") or []:
                if r.get("quantity") == "fabrication_number" and not r.get("storage"):
                    fab = str(r.get("value"))
                    break
            if fab:
                break
        medium = first.get("medium")
        i.update({"mbus_manufacturer": flag, "secondary_address": first.get("identification"),
                  "identification": first.get("identification"), "medium": medium,
                  "medium_code": first.get("medium_code"), "version": first.get("version"),
                  "kind": cm.KIND_BY_MEDIUM.get(medium or "", "heat"),
                  "primary_address": readout.meter.primary_address or i.get("primary_address")})
        if not i.get("manufacturer") or (meter is None and i.get("mbus_manufacturer") != flag):
            from drivers.makes import make_name

            i["manufacturer"] = make_name(flag) or flag
        i["serial"] = fab or i.get("serial") or first.get("identification")
        if not i.get("flow_sensor_position"):
            i["flow_sensor_position"] = cm.POSITION_BY_MEDIUM.get(medium or "")
        if meter is not None:
            self._take_register_meter(meter)
        self.state.bus_meter = readout.meter.to_dict()
        self.state.readouts = [r for r in self.state.readouts if r.get("role") != "identify"]
        self.state.readouts.append(readout_entry("identify", readout))
        self.identify_step.load(self.state)
        status = "status OK" if not first.get("status") else f"status 0x{first.get('status'):02X}"
        self.identify_step.read_status.setText(
            f"Read {len(readout.frames)} telegram{'s' if len(readout.frames) > 1 else ''} at "
            f"{readout.read_at.astimezone().strftime('%H:%M:%S')}: {i['manufacturer']} {i['serial']}, "
            f"{(medium or 'unknown medium').replace('_', ' ')}, {status}"
            + (f", {vals.energy_kwh:,.0f} kWh".replace(",", " ") if vals.energy_kwh is not None else "") + ".")
        self._show_register_status(meter)
        self._update_footer()
        self._save_pending() if self.state.record_id is None else self.save_draft()
        then, self._after_identified = self._after_identified, None
        if then is not None:
            then()

    def _take_register_meter(self, meter) -> None:
        """Fill what the register knows (rating, place) without overwriting what was read."""
        i = self.state.identify
        self.state.meter_id = meter.id
        self.state.meter_version = meter.version
        for k in ("manufacturer", "model", "serial"):   # the register's identity wins: it names the meter
            if getattr(meter, k):
                i[k] = getattr(meter, k)
        for k in ("mid_class", "qp_m3h", "qs_m3h", "dtheta_min_k", "dtheta_max_k",
                  "flow_sensor_position", "mbus_manufacturer", "secondary_address", "primary_address"):
            v = getattr(meter, k)
            if v is not None and i.get(k) in (None, ""):
                i[k] = v
        if i.get("qi_m3h") in (None, "") and meter.qi_effective_m3h is not None:
            i["qi_m3h"] = round(meter.qi_effective_m3h, 6)
        if not self.state.place.get("site"):
            self.state.place = {"site": meter.site, "building": meter.building, "location": meter.location,
                                "monitoring_point": meter.monitoring_point}

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
        self.run_task("Searching the register", lambda: self.ctx.register().list_meters(search=text, limit=50),
                      on_finished=self.identify_step.set_found)

    def use_register_meter(self, meter_id: int) -> None:
        def work():
            return self.ctx.register().get_meter(meter_id)

        def got(meter) -> None:
            from app.ui.commission.bus import MeterRef

            self.identify_step.collect(self.state)
            self.state.identify = {}
            self._take_register_meter(meter)
            i = self.state.identify
            i.setdefault("kind", "heat")
            self.state.bus_meter = MeterRef(meter.primary_address, meter.secondary_address,
                                            meter.mbus_manufacturer).to_dict()
            self.identify_step.load(self.state)
            self._show_register_status(meter)
            self.refresh_bus_meters()
            self._update_footer()

        self.run_task("Opening the meter", work, on_finished=got)

    def _finish_identify(self, then: Callable[[], None] | None = None) -> None:
        s = self.state
        s.identify["mbus_manufacturer"] = s.identify.get("mbus_manufacturer") or flag_for_make(
            s.identify.get("manufacturer"))
        if s.bus_meter is None and s.identify.get("secondary_address"):
            from app.ui.commission.bus import MeterRef

            s.bus_meter = MeterRef(s.identify.get("primary_address"), s.identify.get("secondary_address"),
                                   s.identify.get("mbus_manufacturer")).to_dict()

        def work(s, reg):
            from app.storage.errors import NotFound

            meter = None
            if s.meter_id is not None:
                meter = reg.get_meter(s.meter_id)
            else:
                try:
                    meter = reg.find_meter(s.identify["manufacturer"], s.identify["serial"])
                except NotFound:
                    meter = None
            if meter is None:
                return {"meter": None}
            meter = _update_rating(reg, meter, s.identify)
            rec = None
            if s.record_id is None:
                rec = reg.create_commissioning(meter.id, user=_user())
                s.record_id, s.version = rec["id"], rec["version"]
            _save_unsaved_readouts(reg, s, meter.id)
            s.step = 2
            rec = reg.save_commissioning_step(s.record_id, step=2, plausibility=s.plausibility_json(),
                                              expected_version=s.version, user=_user())
            return {"meter": meter, "record": rec, "readouts": s.readouts}

        def done(res) -> None:
            meter = res["meter"]
            if meter is None:
                self.state.meter_id = None
                self.state.step = 2
                self._save_pending()
            else:
                self.state.meter_id, self.state.meter_version = meter.id, meter.version
                if not self.state.place.get("site"):
                    self.state.place = {"site": meter.site, "building": meter.building, "location": meter.location,
                                        "monitoring_point": meter.monitoring_point}
                self.state.readouts = res["readouts"]
                self._apply_record(res["record"])
                self._clear_pending()
            self._enter(2)
            if then is not None:
                then()

        self._write("Saving the identification", work, done)

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

        def work():
            from app.storage.register import annex_a

            reg = self.ctx.register()
            return [s["name"] for s in reg.list_sites()], annex_a(), reg.list_monitoring_points(site) if site else []

        def got(res) -> None:
            sites, annex, points = res
            self.place_step.set_sites(sites)
            self.place_step.set_points(annex, points)
            self.place_step.load(self.state)

        self.run_task("Loading sites", work, on_finished=got)

    def _site_changed(self, site: str) -> None:
        site = site.strip()
        if not site:
            return

        def work():
            from app.storage.register import annex_a

            return annex_a(), self.ctx.register().list_monitoring_points(site)

        self.run_task("Loading monitoring points", work,
                      on_finished=lambda res: self.place_step.set_points(res[0], res[1]), report_errors=False)

    def _finish_place(self, then: Callable[[], None] | None = None) -> None:
        def work(s, reg):
            p = s.place
            on = dt.date.fromisoformat(p["install_date"])
            if s.meter_id is None:
                fields = {k: s.identify.get(k) for k in ("manufacturer", "mbus_manufacturer", "model", "serial",
                                                         "secondary_address", "primary_address", "mid_class",
                                                         "qp_m3h", "qi_m3h", "qs_m3h", "dtheta_min_k", "dtheta_max_k",
                                                         "flow_sensor_position")}
                fields = {k: v for k, v in fields.items() if v not in (None, "")}
                fields.update({k: p[k] for k in ("site", "building", "location", "monitoring_point") if p.get(k)})
                fields.update(install_date=on, status="in_service")
                meter = reg.create_meter(fields, user=_user(), source="commissioning")
            else:
                meter = reg.get_meter(s.meter_id)
                meter = _update_rating(reg, meter, s.identify)
                moved = (meter.site != p["site"] or (meter.monitoring_point or None) != p.get("monitoring_point"))
                if moved:
                    meter = reg.move_meter(meter.id, on=on, site=p["site"], building=p.get("building"),
                                           monitoring_point=p.get("monitoring_point"), location=p.get("location"),
                                           expected_version=meter.version, user=_user(),
                                           reason="placed at commissioning")
                else:
                    changes = {k: p.get(k) for k in ("building", "location") if (getattr(meter, k) or None) != p.get(k)}
                    if meter.status != "in_service":
                        changes["status"] = "in_service"
                    if changes:
                        meter = reg.update_meter(meter.id, changes, expected_version=meter.version, user=_user(),
                                                 source="commissioning")
            if s.record_id is None:
                rec = reg.create_commissioning(meter.id, user=_user())
                s.record_id, s.version = rec["id"], rec["version"]
            s.meter_id = meter.id
            _save_unsaved_readouts(reg, s, meter.id)
            s.step = 3
            rec = reg.save_commissioning_step(s.record_id, step=3, plausibility=s.plausibility_json(),
                                              expected_version=s.version, user=_user())
            return {"meter": meter, "record": rec, "readouts": s.readouts}

        def done(res) -> None:
            meter = res["meter"]
            self.state.meter_id, self.state.meter_version = meter.id, meter.version
            self.state.readouts = res["readouts"]
            self._apply_record(res["record"])
            self._clear_pending()
            self._enter(3)
            if then is not None:
                then()

        self._write("Placing the meter", work, done)

    # -- step 3: checklist ---------------------------------------------------------------------------
    def _finish_checklist(self) -> None:
        self._advance(4)

    def _advance(self, to: int) -> None:
        def work(s, reg):
            s.step = to
            return reg.save_commissioning_step(s.record_id, step=to, answers=s.answers,
                                               plausibility=s.plausibility_json(), expected_version=s.version,
                                               user=_user())

        def done(rec) -> None:
            self._apply_record(rec)
            self._enter(to)

        self._write(f"Saving step {to - 1}", work, done)

    # -- step 4: plausibility ------------------------------------------------------------------------
    def _meter_ref(self):
        from app.ui.commission.bus import MeterRef

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
        from app.ui.commission.state import compute_checks, readout_entry

        i = self.state.identify
        got, want = readout.first.get("identification"), i.get("secondary_address")
        if want and got and got != want:
            self.plausibility_step.read_button.setEnabled(True)
            self.plausibility_step.read_info.setText("Read failed: another meter answered.")
            self.show_error(f"{readout.meter.label} answered, not the meter being commissioned ({want}): "
                            "check its address (step 1). Nothing was saved from this readout.")
            return
        if readout.meter.key:
            self.state.bus_meter = readout.meter.to_dict()
        for k in ("medium", "medium_code", "version"):
            if i.get(k) in (None, ""):
                i[k] = readout.first.get(k)
        if not i.get("kind"):
            i["kind"] = cm.KIND_BY_MEDIUM.get(i.get("medium") or "", "heat")
        entry = readout_entry("check", readout)

        def save(s, reg):
            res = reg.save_readout(readout.frames, readout.telegrams, meter_id=s.meter_id, user=_user(),
                                   read_at=readout.read_at.astimezone(dt.timezone.utc).replace(tzinfo=None),
                                   transport=readout.transport, port=readout.port, baud=readout.baud,
                                   primary_address=readout.meter.primary_address, commissioning_id=s.record_id)
            s.readouts.append(dict(entry, id=res.readout_id))
            return (res.readout_id, *compute_checks(s))

        def saved(res) -> None:
            entry["id"] = res[0]
            self._checked(entry, res[1], res[2])

        def failed(_msg: str) -> None:   # not saved: checked all the same, saved with the record at the next step
            def check():
                s = self._copy_state()
                s.readouts.append(entry)
                return compute_checks(s)

            self.run_task("Checking the readout", check, on_finished=lambda r: self._checked(entry, r[0], r[1]))

        self._write("Saving the readout as evidence", save, saved, failed)

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
        from app.ui.commission.state import entry_values

        s = self.state
        entries = [r for r in s.readouts if r.get("role") in ("check", "observation_end") and r.get("telegrams")]
        if not entries:
            self.plausibility_step.show_checks(s.checks)
            return
        e = entries[-1]
        v = entry_values(e, s.kind)
        n = len(s.readouts_with("check"))
        when = dt.datetime.fromisoformat(e["read_at"]).astimezone().strftime("%H:%M:%S")
        self.plausibility_step.show_values(v, f"{n} readout{'s' if n != 1 else ''} for the checks; latest at {when}"
                                              + (" (end of the observation window)." if e["role"] ==
                                                 "observation_end" else "."))
        self.plausibility_step.show_checks(s.checks)
        op = (s.mpe or {}).get("operating_point") or {}
        self.plausibility_step.show_mpe(s.mpe, op.get("q_m3h"), op.get("dtheta_k"))
        self.plausibility_step.read_button.setText("Read again  (F5)")

    def _finish_plausibility(self) -> None:
        if not self.state.readouts_with("check"):
            self.show_error("Read the meter first (Read now): the plausibility checks need a live readout.")
            self.plausibility_step.read_button.setFocus()
            return
        self._advance(5)

    # -- step 5: observation window --------------------------------------------------------------------
    def _show_observation(self) -> None:
        obs = self.state.observation
        if obs.get("kpis"):
            inc = next((c for c in self.state.checks if c["key"] == "energy_increment"), None)
            self.observe_step.show_kpis(obs["kpis"], obs["kpis"]["duration_s"], obs["kpis"]["duration_s"], inc)

    def start_observation(self) -> None:
        if self._obs is not None:
            return
        ref = self._meter_ref()
        interval = self.observe_step.interval.value()
        total = self.observation_seconds or self.observe_step.minutes.value() * 60
        if not self.ctx.screenshot:
            self.ctx.settings.set_page_value(self.name, "window_min", self.observe_step.minutes.value())
            self.ctx.settings.set_page_value(self.name, "interval_s", interval)
        self.state.observation = {}
        self.state.readouts = [r for r in self.state.readouts
                               if r.get("role") not in ("observation_start", "observation_end")]
        plot = self.observe_step.plot
        plot.clear()
        plot.max_gap_s = 2.5 * interval
        plot.set_window(max(120, int(total)))
        from app.ui.bus import BusUnavailable

        try:
            self.poller = self.bus.poller(ref, interval, self, f"Observation window {self.state.meter_label}")
        except BusUnavailable as exc:
            self.show_warning(str(exc))
            return
        self._obs = {"start": time.time(), "total": float(total), "interval": float(interval), "samples": [],
                     "first": None, "last": None, "missed": 0, "warned": False}
        self.poller.sample.connect(self._obs_sample)
        self.poller.missed.connect(self._obs_missed)
        self.poller.start()
        self._obs_timer.start()
        self.observe_step.set_running(True)
        self.observe_step.show_plot()
        self.next_button.setEnabled(False)
        self._observation_tick()

    def _obs_sample(self, t: float, service_readout) -> None:
        from app.ui.commission.bus import MeterReadout

        o = self._obs
        if o is None:
            return
        readout = MeterReadout.from_service(service_readout)
        v = cm.readout_values(readout.telegrams, readout.read_at, self.state.kind)
        o["samples"].append(cm.ObservationSample(t, v.flow_m3h, v.t_flow_c, v.t_return_c, v.power_kw, v.energy_kwh,
                                                 v.volume_m3))
        if o["first"] is None:
            o["first"] = readout
        o["last"] = readout
        self.observe_step.plot.add_sample(t, v.power_kw, v.flow_m3h, v.t_flow_c, v.t_return_c)
        self._observation_tick()

    def _obs_missed(self, t: float, message: str) -> None:
        o = self._obs
        if o is None:
            return
        o["missed"] += 1
        self.observe_step.plot.add_gap(t)
        if not o["warned"]:
            o["warned"] = True
            self.show_warning(f"A poll got no answer ({message}); the window goes on and the missed polls lower the "
                              "data completeness.")

    def _obs_kpis(self, end: float) -> dict[str, Any]:
        o = self._obs
        return cm.observation_kpis(o["samples"], start_epoch_s=o["start"], end_epoch_s=end, interval_s=o["interval"])

    def _observation_tick(self) -> None:
        o = self._obs
        if o is None:
            self._obs_timer.stop()
            return
        now = time.time()
        elapsed = now - o["start"]
        k = self._obs_kpis(min(now, o["start"] + o["total"]))
        self.observe_step.show_kpis(k, min(elapsed, o["total"]), o["total"])
        if elapsed >= o["total"]:
            self._end_observation(None)

    def end_observation_early(self) -> None:
        reason = self.observe_step.reason.text().strip()
        if not reason:
            self.show_error("Say why you end the observation window early (the reason goes on the certificate).")
            self.observe_step.reason.setFocus()
            return
        self._end_observation(reason)

    def _stop_observation(self) -> None:
        self._obs_timer.stop()
        if self.poller is not None:
            self.poller.stop()
            self.poller.deleteLater()
            self.poller = None
        self._obs = None
        self.observe_step.set_running(False)
        self.next_button.setEnabled(True)

    def _end_observation(self, reason: str | None) -> None:
        from app.ui.commission.state import readout_entry

        o = self._obs
        if o is None:
            return
        end = min(time.time(), o["start"] + o["total"])
        kpis = self._obs_kpis(end)
        self._stop_observation()
        s = self.state
        s.observation = {"kpis": kpis, "ended_early": reason,
                         "started": dt.datetime.fromtimestamp(o["start"]).astimezone().isoformat(timespec="seconds"),
                         "ended": dt.datetime.fromtimestamp(end).astimezone().isoformat(timespec="seconds"),
                         "planned_s": o["total"], "missed": o["missed"],
                         "samples": [[x.t_epoch_s, x.power_kw, x.flow_m3h, x.t_flow_c, x.t_return_c, x.energy_kwh,
                                      x.volume_m3] for x in o["samples"]]}
        if o["first"] is not None:
            s.readouts.append(readout_entry("observation_start", o["first"]))
        if o["last"] is not None and o["last"] is not o["first"]:
            s.readouts.append(readout_entry("observation_end", o["last"]))
        weights = [(x.flow_m3h, x.t_flow_c, x.t_return_c, o["interval"]) for x in o["samples"]]
        self.observe_step.show_kpis(kpis, end - o["start"], o["total"])
        c = kpis["completeness"]
        pct = "—" if c["pct"] is None else f"{c['pct']:.1f} %"
        self.show_info(f"Observation window done: completeness {pct} ({c['received']} of {c['expected']} polls)"
                       + (f", VWAFT {kpis['vwaft_c']:.2f} °C" if kpis.get("vwaft_c") is not None else "")
                       + (f"; ended early: {reason}" if reason else "") + ".")

        def work(st, reg):
            from app.ui.commission.state import compute_checks

            st.checks, st.mpe = compute_checks(st, weights)   # the increment over the whole window
            rec = None
            if st.record_id is not None:
                _save_unsaved_readouts(reg, st, st.meter_id)
                rec = reg.save_commissioning_step(st.record_id, step=5, plausibility=st.plausibility_json(),
                                                  expected_version=st.version, user=_user())
            return rec, st.readouts, st.checks, st.mpe

        def done(res) -> None:
            rec, readouts, checks, mpe = res
            ids = {(r["role"], r["read_at"]): r.get("id") for r in readouts}
            for r in self.state.readouts:
                if r.get("id") is None:
                    r["id"] = ids.get((r["role"], r["read_at"]))
            self.state.checks, self.state.mpe = checks, mpe
            self._show_latest_values()
            self._show_observation()
            self._apply_record(rec)

        self._write("Saving the observation window", work, done)

    def _finish_observation_step(self) -> None:
        if self._obs is not None:
            self.show_warning("The observation window is still running: wait for it, or end it early with a reason.")
            return
        if not self.state.observation.get("kpis"):
            self.show_error("Run the observation window first (Start observation); you may end it early with a "
                            "reason.")
            self.observe_step.start_button.setFocus()
            return
        self._advance(6)

    def _replot(self, obs: dict[str, Any]) -> None:
        plot = self.observe_step.plot
        plot.clear()
        rows = [tuple(r[:5]) for r in obs.get("samples") or []]
        if rows:
            plot.add_samples(rows)
            plot.show_all()
        self._show_observation()

    # -- step 6: sign-off -------------------------------------------------------------------------------
    def certificate_dir(self) -> str:
        d = self.ctx.settings.page_value(self.name, CERT_DIR_KEY, "", str)
        if d:
            return d
        if self.ctx.demo_dir:
            return os.path.join(self.ctx.demo_dir, "certificates")
        from app import paths

        return str(paths.certificates_dir())

    def sign(self) -> None:
        from app.ui.commission.certificate import file_name, write_certificate

        problems = self.sign_step.problems()
        if problems:
            w, msg = problems[0]
            self.show_error(msg)
            w.setFocus()
            return
        self.sign_step.collect(self.state)
        if self.state.record_id is None:
            self.show_error("The record is not in the register yet: go back and place the meter.")
            return
        if not self.ctx.screenshot:
            self.ctx.settings.set_page_value(self.name, TECHNICIAN_KEY, self.state.technician)
        from app.ui.commission.certificate import plot_image

        obs = self.state.observation
        image = plot_image(obs.get("samples") or [], interval_s=(obs.get("kpis") or {}).get("interval_s") or 5.0)
        path = os.path.join(self.certificate_dir(), file_name(self.state))
        self.sign_step.sign_button.setEnabled(False)

        def work(s, reg):
            from app.storage.register import annex_a

            _save_unsaved_readouts(reg, s, s.meter_id)
            today = dt.date.today()
            rec = reg.save_commissioning_step(s.record_id, step=6, answers=s.answers, notes=s.notes or None,
                                              plausibility=s.plausibility_json(), technician=s.technician,
                                              commissioned_on=today, expected_version=s.version, user=_user())
            rec = reg.sign_commissioning(s.record_id, user=_user(), signed_by=s.technician)
            s.signed = True
            point = annex_a().get((s.place.get("monitoring_point") or "").upper())
            write_certificate(path, s, record=rec, point_info=point, plot_image=image)
            return rec, s.readouts

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
        if self.certificate_path and not self.ctx.screenshot:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.certificate_path))

    # -- demo -----------------------------------------------------------------------------------------------
    def prepare_demo(self) -> None:
        """A wizard part-way through: a simulated meter read, placed, checklist answered, at the
        plausibility step with the results of two live readouts ten simulated minutes apart."""
        from app.ui.bus import BusUnavailable

        svc = self.ctx.bus
        if not svc.connected:
            return

        def read(ro) -> None:
            from app.ui.commission.bus import MeterReadout

            readout = MeterReadout.from_service(ro)
            self.refresh_bus_meters()
            self._identify_read(readout)
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
            self.state.answers = {item.key: {"answer": "yes", "note": "M24" if item.key == "mid_marking" else None}
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
            svc.read_address(address=1, origin=self, on_finished=read)
        except BusUnavailable as exc:
            self.show_warning(str(exc))

# --------------------------------------------------------------------------- helpers (worker side)


def _update_rating(reg, meter, identify: dict[str, Any]):
    """Write the rating and identity the technician entered where the register differs."""
    changes = {}
    for k in ("model", "mbus_manufacturer", "secondary_address", "primary_address", "mid_class", "qp_m3h", "qi_m3h",
              "qs_m3h", "dtheta_min_k", "dtheta_max_k", "flow_sensor_position"):
        v = identify.get(k)
        if v in (None, ""):
            continue
        cur = getattr(meter, k)
        if isinstance(v, float) and isinstance(cur, (int, float)) and abs(v - cur) < 1e-9:
            continue
        if cur != v:
            changes[k] = v
    if "qi_m3h" in changes and meter.qp_qi_ratio:
        qp = changes.get("qp_m3h", meter.qp_m3h)
        if qp and abs(qp / changes["qi_m3h"] - meter.qp_qi_ratio) > 0.01 * meter.qp_qi_ratio:
            changes["qp_qi_ratio"] = round(qp / changes["qi_m3h"], 6)
    if not changes:
        return meter
    return reg.update_meter(meter.id, changes, expected_version=meter.version, user=_user(), source="commissioning")


def _save_unsaved_readouts(reg, s, meter_id: int) -> None:
    """Save every readout of the wizard not in the register yet (evidence, with the record's id)."""
    for r in s.readouts:
        if r.get("id") is not None or not r.get("frames_hex"):
            continue
        res = reg.save_readout([bytes.fromhex(h) for h in r["frames_hex"]], r.get("telegrams") or [],
                               meter_id=meter_id, user=_user(),
                               read_at=dt.datetime.fromisoformat(r["read_at"]).astimezone(dt.timezone.utc)
                               .replace(tzinfo=None),
                               transport=r.get("transport"), port=r.get("port"), baud=r.get("baud"),
                               primary_address=(r.get("telegrams") or [{}])[0].get("address"),
                               commissioning_id=s.record_id)
        r["id"] = res.readout_id


def flag_for_make(make: str | None) -> str | None:
    from app.storage.manufacturers import flag_for_make as f

    return f(make)


__all__ = ["CommissionPage"]
