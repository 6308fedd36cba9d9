"""The Commission page: a six-step wizard for one meter.

1 Identify (read it on the bus, or pick it from the register), 2 Place it,
3 Installation checklist (with photos), 4 Plausibility of a live readout (and
the clock step: set the meter's clock when its check fails), 5 Observation
window, 6 Sign-off with the certificate. The workflow (what is stored when,
the checks, the sign-off) is ``app.services.commissioning``, on the rules of
``app.core.commissioning``; this page keeps the navigation and the display.
The step widgets, the bus adapter, the certificate and the page's handlers
per step are in ``app.ui.commission``.

Nothing is lost: every step is saved as a draft in the register as it is
answered, every readout at once as evidence (with the record's id). Before the
meter is in the register the draft waits in the settings. On start the page
offers to resume the newest draft. Register and bus I/O run in worker tasks;
writes to the register go one after the other so that each carries the
version the previous one made.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStackedWidget

from app.core import commissioning as cm
from app.services import commissioning as svc
from app.ui.commission.flow_checks import ChecksFlow
from app.ui.commission.flow_evidence import EvidenceFlow
from app.ui.commission.flow_identify import IdentifyFlow
from app.ui.commission.flow_observe import ObserveFlow
from app.ui.commission.flow_radio import RadioFlow
from app.ui.commission.flow_sign import TECHNICIAN_KEY, SignFlow
from app.ui.pages.base import Page

PENDING_KEY = "pending"
STEP_GROUP = "step"           # banner messages about what the current step still needs (one at a time)
DEFAULT_WINDOW_MIN = 10
DEFAULT_INTERVAL_S = 5


class CommissionPage(IdentifyFlow, RadioFlow, ChecksFlow, EvidenceFlow, ObserveFlow, SignFlow, Page):
    name = "commission"
    title = "Commission"
    icon = "commission"
    summary = "Commission one meter, step by step; every answer is saved as a draft."

    # -- construction ----------------------------------------------------------------------
    def build(self) -> None:
        from app.ui.commission import steps as st
        from app.ui.commission.bus import WizardBus
        from app.ui.commission.widgets import StepBar

        self.bus = WizardBus(self.ctx)
        self.state = svc.CommissioningState()
        self.reached = 1
        self._writes: list[tuple] = []
        self._writing = False
        self._drafts_checked = False
        self._offer: dict[str, Any] | None = None
        self.certificate_path: str | None = None
        self.observation_seconds: float | None = None   # overrides the window's minutes (tests)
        self._obs: dict[str, Any] | None = None
        self.poller = None
        self._after_identified: Callable[[], None] | None = None   # demo chaining
        self._after_check: Callable[[], None] | None = None

        self.step_bar = StepBar(svc.STEPS, self.body)
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
        self.plausibility_step.clock_panel.setRequested.connect(lambda: self.set_meter_clock())
        self.checklist_step.photoRequested.connect(self.ask_photos)
        self.observe_step.startRequested.connect(self.start_observation)
        self.observe_step.endRequested.connect(self.end_observation_early)
        self.observe_step.extendRequested.connect(self.extend_observation)
        self.sign_step.signRequested.connect(self.sign)
        self.sign_step.openRequested.connect(self.open_certificate)
        self.sign_step.newRequested.connect(self.new_commissioning)

        self.observe_step.minutes.setValue(int(self.recall("window_min", DEFAULT_WINDOW_MIN, int)))
        self.observe_step.interval.setValue(int(self.recall("interval_s", DEFAULT_INTERVAL_S, int)))
        self.sign_step.suggest_names([self.recall(TECHNICIAN_KEY, "", str) or ""])

        self.make_action("Next step", self.go_next, "Ctrl+Return")
        self.make_action("Previous step", self.go_back, "Alt+Left")
        self.make_action("New commissioning (start over)", self.new_commissioning, "Ctrl+N")
        self._obs_timer = QTimer(self)
        self._obs_timer.setInterval(1000)
        self._obs_timer.timeout.connect(self._observation_tick)
        bus = self.ctx.bus
        bus.metersChanged.connect(self.refresh_bus_meters)
        bus.stateChanged.connect(self._bus_state_changed)
        bus.selectedChanged.connect(lambda _m: self.refresh_bus_meters())
        self._radio_setup()
        self.on_text_scale_changed(self.ctx.text_scale)
        self._show_step(1)

    # -- page hooks ------------------------------------------------------------------------
    def on_shown(self) -> None:
        self.refresh_bus_meters()
        self.refresh_radio_meters()
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

    def prepare_demo(self) -> None:
        """A wizard part-way through (``app.ui.commission.flow_sign.SignFlow.demo_walkthrough``)."""
        self.demo_walkthrough()

    # -- navigation ------------------------------------------------------------------------
    def _show_step(self, n: int) -> None:
        if n != self.state.step:
            self.banner.clear_group(STEP_GROUP)   # what the last step was missing no longer applies
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
                                           else ""), group=STEP_GROUP)
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
        elif n == 3:
            self.load_photos()
        elif n == 4:
            self._show_latest_values()
            if not self.state.readouts_with("check"):
                self.read_for_checks()
        elif n == 5:
            self._show_observation()
        elif n == 6:
            self.sign_step.load(self.state)
            if not self.state.technician:
                self.sign_step.suggest_names([self.recall(TECHNICIAN_KEY, "", str) or ""])

    def _checklist_missing(self, problems: list[cm.Problem]) -> None:
        row = self.checklist_step.show_problems(problems)
        n_items = len({p.key for p in problems})
        first = cm.CHECKLIST_BY_KEY[problems[0].key]
        number = [i.key for i in cm.CHECKLIST].index(first.key) + 1
        what = "an answer" if problems[0].field == "answer" else "a note"
        self.show_error(f"Item {number} needs {what}: {problems[0].message}"
                        + (f" {n_items - 1} more item{'s' if n_items > 2 else ''} marked in red." if n_items > 1
                           else "") + " Your other answers are kept.", group=STEP_GROUP)
        return row

    # -- register writes, one after the other -------------------------------------------------
    def _write(self, name: str, fn: Callable, on_done: Callable | None = None,
               on_fail: Callable | None = None) -> None:
        """Queue ``fn(register, state_copy)`` for a worker (an ``app.services.commissioning`` step, or a
        function of the same shape); writes run one after the other."""
        self._writes.append((name, fn, on_done, on_fail))
        if not self._writing:
            self._next_write()

    def _next_write(self) -> None:
        if not self._writes:
            self._writing = False
            return
        self._writing = True
        name, fn, on_done, on_fail = self._writes.pop(0)
        snapshot = svc.copy_state(self.state)
        ctx = self.ctx

        def work():
            return fn(ctx.register(), snapshot)

        task = self.run_task(name, work, on_finished=on_done, on_failed=on_fail)
        task.ended.connect(lambda _t: self._next_write())

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
        self._write("Saving the draft", svc.save_draft, self._apply_record)

    def save_answers(self) -> None:
        self.checklist_step.collect(self.state)
        self.save_draft()

    def _save_pending(self) -> None:
        if self.state.identify or self.state.readouts:
            self.remember(PENDING_KEY, json.dumps(self.state.to_json()))

    def _clear_pending(self) -> None:
        self.remember(PENDING_KEY, "")

    # -- drafts to resume -----------------------------------------------------------------------
    def check_drafts(self) -> None:
        pending = self.recall(PENDING_KEY, "", str) or ""

        def found(drafts: list[dict[str, Any]]) -> None:
            offers = list(drafts)
            if pending:
                try:
                    p = svc.CommissioningState.from_json(json.loads(pending))
                    offers.insert(0, {"id": None, "pending": p, "label": p.meter_label, "step": p.step})
                except (ValueError, TypeError, KeyError):
                    pass
            self._offer_resume(offers)

        ctx = self.ctx
        self.run_task("Looking for unfinished commissioning", lambda: svc.find_drafts(ctx.register()),
                      on_finished=found)

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

        def loaded(s) -> None:
            self._restore(s)
            self.show_info(f"Resumed the commissioning of {s.meter_label} at step {s.step}: your answers are back.")

        ctx = self.ctx
        self.run_task("Opening the draft", lambda: svc.load_draft(ctx.register(), rid), on_finished=loaded)

    def _restore(self, s) -> None:
        self.state = s
        self.reached = s.step
        for step in self.steps:
            step.load(s)
        self._sync_radio_bus()
        self.show_radio_status()
        if s.bus_meter:
            self.refresh_bus_meters()
        if s.observation.get("samples"):
            self._replot(s.observation)
        self._enter(s.step)
        if s.step == 5 and not s.observation.get("kpis"):
            self.show_info("The observation window was interrupted: start it again.")

    def new_commissioning(self) -> None:
        if self._obs is not None:
            self._stop_observation()
        self.state = svc.CommissioningState()
        self.reached = 1
        self.certificate_path = None
        for s in self.steps:
            s.load(self.state)
        self.identify_step.read_status.setText("")
        self.identify_step.register_status.setText("")
        self._sync_radio_bus()
        self.refresh_radio_meters()
        self.plausibility_step.show_values(None)
        self.plausibility_step.read_info.setText("No readout yet.")
        self.plausibility_step.mpe_label.setText("")
        self.checklist_step.gallery.clear()
        self.checklist_step.show_photo_counts()
        self.observe_step.plot.clear()
        self.observe_step.show_kpis({"completeness": {"pct": None, "received": 0, "expected": 0}, "vwaft_c": None})
        self.sign_step.set_signed("", False)
        self.sign_step.suggest_names([self.recall(TECHNICIAN_KEY, "", str) or ""])
        self.banner.clear()
        self._show_step(1)


__all__ = ["CommissionPage"]
