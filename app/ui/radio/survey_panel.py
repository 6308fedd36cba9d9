"""The connectivity survey tab of the Radio page (MMS 2.1.9).

The technician names the site and a location (name, floor, flat, riser), presses **Listen here**: the
telegrams received during the set time (on the receiver's clock) are kept for that location; then the
next location. After each location the survey is judged again in a worker
(:func:`app.core.radio.survey.assess`) and the results table shows every meter's verdict and why. The
survey is saved with its site in the register (all telegrams, the verdicts and a digest), and exported as
CSV and as a PDF report with a table and a chart.
"""
from __future__ import annotations

import datetime as _dt
import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.core.radio.survey import Location, Survey, SurveyResult, SurveySettings, assess
from app.ui.radio.survey_report import VERDICT_INK, attention_order

RESULT_COLUMNS = ("Meter", "Make", "Medium", "Key", "Verdict", "Best location", "dBm", "Margin", "Heard/exp.",
                  "Why")
RESULT_TIPS = {6: "Median RSSI of its telegrams at its best location (dBm)",
               7: "Median RSSI above the receiver's sensitivity (dB)",
               8: "Telegrams heard / expected at its best location (listening time / send interval)"}
LOCATION_COLUMNS = ("#", "Location", "Floor", "Flat", "Riser", "Minutes", "Meters heard", "Reliable here")
NO_DBM = -131.0          # the sensitivity spin's "not in dBm" value


class SurveyPanel(QWidget):
    def __init__(self, page, parent=None) -> None:
        super().__init__(parent)
        self.page = page
        self.ctx = page.ctx
        m = self.ctx.metrics
        self.survey: Survey | None = None
        self.active: Location | None = None
        self.until: _dt.datetime | None = None
        self._pending_start = False
        self.result: SurveyResult | None = None
        self.saved_id: int | None = None
        self._assess_gen = 0

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 8, 0, 0)
        outer.setSpacing(8)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        self.site_combo = QComboBox(self)
        self.site_combo.setEditable(True)
        self.site_combo.setToolTip("The site surveyed: a site of the register, or a new name (saved with it)")
        self.site_combo.lineEdit().setPlaceholderText("Site")
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("Survey name (e.g. Block A, before handover)")
        self.tech_edit = QLineEdit(self)
        self.tech_edit.setPlaceholderText("Technician")
        self.loc_edit = QLineEdit(self)
        self.loc_edit.setPlaceholderText("Location (e.g. stairwell, plant room)")
        self.floor_edit = QLineEdit(self)
        self.floor_edit.setPlaceholderText("Floor")
        self.flat_edit = QLineEdit(self)
        self.flat_edit.setPlaceholderText("Flat")
        self.riser_edit = QLineEdit(self)
        self.riser_edit.setPlaceholderText("Riser")
        self.minutes_spin = QSpinBox(self)
        self.minutes_spin.setRange(1, 120)
        self.minutes_spin.setValue(self.ctx.mode.recall("radio", "survey_minutes", 5, int))
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setToolTip("How long to listen at this location (on the receiver's clock); at least five "
                                     "send intervals of the slowest meter for a verdict")
        self.listen_button = QPushButton("Listen here", self)
        self.listen_button.setProperty("primary", True)
        self.listen_button.setToolTip("Listen at this location for the time set (starts receiving if needed)")
        self.listen_button.clicked.connect(self.listen_here)
        self.stop_button = QPushButton("Stop here", self)
        self.stop_button.setToolTip("End this location now (what was heard is kept)")
        self.stop_button.clicked.connect(self.stop_here)
        for w in (self.site_combo, self.name_edit, self.tech_edit, self.loc_edit, self.floor_edit, self.flat_edit,
                  self.riser_edit, self.minutes_spin):
            w.setMinimumHeight(m.input_height)
        for b in (self.listen_button, self.stop_button):
            b.setMinimumHeight(m.target)
        grid.addWidget(self.site_combo, 0, 0, 1, 2)
        grid.addWidget(self.name_edit, 0, 2, 1, 3)
        grid.addWidget(self.tech_edit, 0, 5, 1, 2)
        grid.addWidget(self.loc_edit, 1, 0, 1, 2)
        grid.addWidget(self.floor_edit, 1, 2)
        grid.addWidget(self.flat_edit, 1, 3)
        grid.addWidget(self.riser_edit, 1, 4)
        grid.addWidget(self.minutes_spin, 1, 5)
        row = QHBoxLayout()
        row.addWidget(self.listen_button)
        row.addWidget(self.stop_button)
        grid.addLayout(row, 1, 6)
        for c, s in enumerate((3, 2, 1, 1, 1, 1, 2)):
            grid.setColumnStretch(c, s)
        outer.addLayout(grid)

        row = QHBoxLayout()
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("Name a location and press Listen here.", self)
        self.progress_label.setWordWrap(True)
        row.addWidget(self.progress, 1)
        row.addWidget(self.progress_label, 2)
        outer.addLayout(row)

        row = QHBoxLayout()
        self.sens_spin = QDoubleSpinBox(self)
        self.sens_spin.setRange(NO_DBM, -60.0)
        self.sens_spin.setDecimals(0)
        self.sens_spin.setSuffix(" dBm")
        self.sens_spin.setSpecialValueText("not in dBm")
        self.sens_spin.setValue(-105.0)
        self.sens_spin.setToolTip("The receiver's sensitivity in this mode (from its data sheet): the margin is "
                                  "measured from it")
        self.sens_spin.valueChanged.connect(lambda _v: self._settings_changed())
        self.margin_spin = QDoubleSpinBox(self)
        self.margin_spin.setRange(0.0, 40.0)
        self.margin_spin.setDecimals(0)
        self.margin_spin.setValue(10.0)
        self.margin_spin.setSuffix(" dB")
        self.margin_spin.setToolTip("Required median RSSI above the sensitivity (10 dB: see docs/wireless.md)")
        self.margin_spin.valueChanged.connect(lambda _v: self._settings_changed())
        for w in (self.sens_spin, self.margin_spin):
            w.setMinimumHeight(m.input_height)
        self.rule_label = QLabel("", self)
        self.rule_label.setWordWrap(True)
        row.addWidget(QLabel("Sensitivity", self))
        row.addWidget(self.sens_spin)
        row.addWidget(QLabel("margin", self))
        row.addWidget(self.margin_spin)
        row.addWidget(self.rule_label, 1)
        outer.addLayout(row)

        self.locations = _table(self, LOCATION_COLUMNS)
        self.results = _table(self, RESULT_COLUMNS)
        for c, tip in RESULT_TIPS.items():
            self.results.horizontalHeaderItem(c).setToolTip(tip)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.locations)
        split.addWidget(self.results)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([150, 360])
        outer.addWidget(split, 1)
        self.split = split
        self.on_text_scale_changed(self.ctx.text_scale)

        row = QHBoxLayout()
        self.save_button = QPushButton("Save to register", self)
        self.save_button.setToolTip("Keep the survey with its site in the register: every telegram heard, the "
                                    "verdicts, a digest (evidence)")
        self.save_button.clicked.connect(self.save)
        self.csv_button = QPushButton("CSV…", self)
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.pdf_button = QPushButton("PDF report…", self)
        self.pdf_button.clicked.connect(lambda: self.export("pdf"))
        self.new_button = QPushButton("New survey", self)
        self.new_button.clicked.connect(self.new_survey)
        self.summary_label = QLabel("", self)
        for b in (self.save_button, self.csv_button, self.pdf_button, self.new_button):
            b.setMinimumHeight(m.target)
            row.addWidget(b)
        row.addWidget(self.summary_label, 1)
        outer.addLayout(row)
        self._settings_changed()
        self._sync()
        self._load_sites()

    def on_text_scale_changed(self, scale: float) -> None:
        for t, widths in ((self.locations, (40, 200, 70, 70, 70, 80, 120, 120)),
                          (self.results, (92, 100, 70, 64, 110, 200, 70, 76, 96, 300))):
            for i, w in enumerate(widths):
                t.setColumnWidth(i, round(w * scale))
            t.verticalHeader().setDefaultSectionSize(max(28, round(30 * scale)))
        self.locations.setMinimumHeight(round(34 * scale) + 2 * max(28, round(30 * scale)) + 4)

    # -- settings ---------------------------------------------------------------------------------
    def settings(self) -> SurveySettings:
        src = self.page.service.source
        sens = self.sens_spin.value()
        from app.ui.radio.service import SIMULATED

        dongle = None if src is None else (SIMULATED if src.simulated else src.dongle)
        return SurveySettings(dongle=dongle, mode=src.mode if src is not None else "t1",
                              sensitivity_dbm=None if sens <= NO_DBM else sens, margin_db=self.margin_spin.value())

    def receiver_changed(self, source, sensitivity_dbm: float | None) -> None:
        """Receiving started with ``source``: its sensitivity unless a survey is under way."""
        if self.survey is None or not self.survey.locations:
            self.sens_spin.setValue(NO_DBM if sensitivity_dbm is None else sensitivity_dbm)

    def _settings_changed(self) -> None:
        st = self.settings()
        sens = "the receiver's sensitivity" if st.sensitivity_dbm is None else f"{st.sensitivity_dbm:.0f} dBm"
        self.rule_label.setText(f"Reliable: median RSSI ≥ {sens} + {st.margin_db:g} dB, and ≥ {st.min_ratio:.0%} of "
                                f"the telegrams expected (judged from {st.min_expected:g} expected).")
        if self.survey is not None:
            self.survey.settings = st
            self._reassess()

    def _load_sites(self) -> None:
        if not self.ctx.mode.has_register:
            return

        def work():
            return [s["name"] for s in self.ctx.register().list_sites()]

        def done(names) -> None:
            text = self.site_combo.currentText()
            self.site_combo.clear()
            self.site_combo.addItems(names)
            self.site_combo.setEditText(text or (names[0] if names else ""))
        self.page.run_task("Sites of the register", work, on_finished=done, report_errors=False)

    # -- listening ---------------------------------------------------------------------------------
    def listen_here(self) -> None:
        name = self.loc_edit.text().strip() or ", ".join(
            x for x in (self.floor_edit.text().strip() and f"floor {self.floor_edit.text().strip()}",
                        self.flat_edit.text().strip() and f"flat {self.flat_edit.text().strip()}") if x)
        site = self.site_combo.currentText().strip()
        if not site:
            self.page.show_error("Name the site surveyed first (a site of the register, or a new name).")
            self.site_combo.setFocus()
            return
        if not name:
            self.page.show_error("Name the location first (or give its floor and flat).")
            self.loc_edit.setFocus()
            return
        if self.active is not None:
            self.stop_here()
        if self.saved_id is not None:
            self.page.show_info(f"Survey {self.saved_id} is saved; this location starts a new survey.")
            self.new_survey(keep_site=True)
        if not self.page.service.running:
            if self.page.start() is None:
                return
        if self.survey is None:
            self.survey = Survey(site, self.name_edit.text().strip(), self.tech_edit.text().strip(),
                                 settings=self.settings())
        self.survey.site = site
        self.active = Location(name, self.floor_edit.text().strip(), self.flat_edit.text().strip(),
                               self.riser_edit.text().strip())
        self._pending_start = True
        self.ctx.mode.remember("radio", "survey_minutes", self.minutes_spin.value())
        src = self.page.service.source
        field = self.page.service.field
        if field is not None and src is not None and src.simulated:
            # SIMULATION: the floor given moves the simulated receiver (each floor between costs path loss)
            floor = self.active.floor.lstrip("+-")
            field.move_receiver(int(self.active.floor) if floor.isdigit() else None)
        self.progress_label.setText(f"Listening at {name}…")
        self._sync()

    def feed(self, recs, now: _dt.datetime) -> None:
        """A batch from the receiver (GUI thread): kept for the active location while its time runs."""
        loc = self.active
        if loc is None:
            return
        if self._pending_start:
            self._pending_start = False
            loc.started_at = now
            self.until = now + _dt.timedelta(minutes=self.minutes_spin.value())
            return
        until = self.until
        loc.receptions.extend(r for r in recs if loc.started_at < r.received_at <= until)
        done = now >= until
        secs = (min(now, until) - loc.started_at).total_seconds()
        total = (until - loc.started_at).total_seconds()
        self.progress.setValue(round(1000 * secs / total) if total else 1000)
        heard = len({r.meter for r in loc.receptions if r.meter})
        self.progress_label.setText(f"Listening at {loc.name}: {int(secs) // 60}:{int(secs) % 60:02d} of "
                                    f"{int(total) // 60}:{int(total) % 60:02d} · {len(loc.receptions)} telegrams, "
                                    f"{heard} meters heard here")
        if done:
            self._finish(until)

    def stop_here(self) -> None:
        loc = self.active
        if loc is None:
            return
        if loc.started_at is None:           # stopped before the first batch: nothing listened
            self.active = None
            self._pending_start = False
            self._sync()
            return
        self._finish(self.page.table.now or loc.started_at)

    def _finish(self, at: _dt.datetime) -> None:
        loc = self.active
        self.active = None
        loc.ended_at = max(at, loc.started_at)
        self.survey.locations.append(loc)
        self.progress.setValue(1000)
        self.progress_label.setText(f"Done at {loc.name}: {len(loc.receptions)} telegrams in "
                                    f"{loc.duration_s / 60:.1f} min. Name the next location and press Listen here.")
        self.loc_edit.clear()
        self.flat_edit.clear()
        self._fill_locations()
        self._reassess()
        self._sync()

    # -- results -----------------------------------------------------------------------------------
    def _reassess(self) -> None:
        s = self.survey
        if s is None or not s.locations:
            return
        snapshot = self._snapshot()
        self._assess_gen += 1
        gen = self._assess_gen

        def done(result) -> None:
            if gen == self._assess_gen:
                self.result = result
                self._fill_results()
                self._fill_locations()
                self._sync()
        ctx = self.ctx

        def work():
            from app.services.surveys import radio_meters_of_site

            try:   # the site's radio meters in the register: one never heard is listed as "not heard"
                expected = radio_meters_of_site(ctx.register(), snapshot.site, ctx.keys.ids())
            except Exception:  # noqa: BLE001 - no register at hand: judge the meters heard
                expected = ()
            return assess(snapshot, expected)

        self.page.run_task("Judging the survey", work, on_finished=done)

    def _snapshot(self) -> Survey:
        """A copy of the survey a worker may read while this one goes on."""
        s = self.survey
        return Survey(s.site, s.name, s.technician, s.notes, s.settings,
                      [Location(x.name, x.floor, x.flat, x.riser, x.note, x.started_at, x.ended_at,
                                list(x.receptions)) for x in s.locations])

    def _fill_locations(self) -> None:
        s = self.survey
        locs = s.locations if s is not None else []
        t = self.locations
        t.setRowCount(len(locs))
        res = self.result if self.result is not None and len(self.result.survey.locations) == len(locs) else None
        for i, loc in enumerate(locs):
            heard = len({r.meter for r in loc.receptions if r.meter})
            reliable = res.location_counts(i)["reliable"] if res is not None else ""
            for c, v in enumerate((i + 1, loc.name, loc.floor, loc.flat, loc.riser, f"{loc.duration_s / 60:.1f}",
                                   heard, reliable)):
                t.setItem(i, c, QTableWidgetItem(str(v)))

    def _fill_results(self) -> None:
        from app.ui.radio.model import KEY_WORDS, short_medium

        from drivers.makes import make_name

        res = self.result
        t = self.results
        t.setSortingEnabled(False)
        t.setRowCount(0)
        if res is None:
            return
        meters = attention_order(res.meters)
        t.setRowCount(len(meters))
        for row, m in enumerate(meters):
            b = m.best
            loc = res.survey.locations[b.location].label() if b is not None else "—"
            ratio = "—" if b is None or b.expected is None else f"{b.telegrams} / {b.expected:.1f}"
            cells = (m.identification or m.meter, make_name(m.manufacturer) or m.manufacturer or "", short_medium(m.medium),
                     KEY_WORDS.get(m.status, m.status), m.verdict, loc,
                     "—" if b is None or b.rssi_median_dbm is None else f"{b.rssi_median_dbm:.1f}",
                     "—" if b is None or b.margin_db is None else f"{b.margin_db:.1f}", ratio,
                     b.reason if b is not None else "heard nowhere")
            for c, v in enumerate(cells):
                item = QTableWidgetItem(v)
                if c == 4:
                    item.setForeground(QBrush(QColor(VERDICT_INK.get(m.verdict, "#000000"))))
                if c == 9:
                    item.setToolTip(v)
                t.setItem(row, c, item)
        t.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        t.setSortingEnabled(True)        # in attention order until a header is clicked
        c = res.counts()
        self.summary_label.setText(f"{len(res.meters)} meters: {c['reliable']} reliable, {c['marginal']} marginal, "
                                   f"{c['listen longer']} listen longer, {c['not heard']} not heard.")

    def _sync(self) -> None:
        listening = self.active is not None
        has = self.survey is not None and bool(self.survey.locations)
        self.listen_button.setEnabled(not listening)
        self.stop_button.setEnabled(listening)
        self.save_button.setEnabled(has and not listening and self.saved_id is None)
        for b in (self.csv_button, self.pdf_button):
            b.setEnabled(self.result is not None and not listening)

    # -- saving and exporting ----------------------------------------------------------------------
    def save(self) -> None:
        s = self.survey
        if s is None or not s.locations or self.active is not None:
            return
        s.name = self.name_edit.text().strip() or s.name or f"Connectivity survey {s.site}"
        s.technician = self.tech_edit.text().strip() or s.technician
        res = self.result
        user = self.ctx.mode.register_user()
        snap = self._snapshot()

        def work():
            from app.services.surveys import save_survey

            return save_survey(self.ctx.register(), snap, user=user,
                               result=res if res is not None and len(res.survey.locations) == len(s.locations)
                               else None)

        def done(sid) -> None:
            self.saved_id = sid
            self.page.show_info(f"Survey saved with the site {s.site} in the register (survey {sid}, "
                                f"{sum(len(x.receptions) for x in s.locations)} telegrams).")
            self._sync()
        self.page.run_task("Saving the survey", work, on_finished=done,
                           on_failed=lambda msg: self.page.show_error(f"The survey was not saved: {msg}. It is "
                                                                      "still here; try again."))

    def export(self, kind: str) -> None:
        res = self.result
        if res is None:
            return
        base = f"survey-{res.survey.site}".replace(os.sep, "-").replace(" ", "-")
        path, _f = QFileDialog.getSaveFileName(self, "Export the survey", f"{base}.{kind}",
                                               "PDF (*.pdf)" if kind == "pdf" else "CSV (*.csv)")
        if path:
            self.export_to(path, kind)

    def export_to(self, path: str, kind: str):
        res, sid = self.result, self.saved_id

        def work():
            if kind == "pdf":
                from app.ui.radio.survey_report import write_survey_pdf

                write_survey_pdf(path, res, survey_id=sid)
            else:  # the one safe writer: no live formula, written atomically
                from app.services.surveys import write_csv

                write_csv(path, res)
            return path
        return self.page.run_task(f"Writing {os.path.basename(path)}", work,
                                  on_finished=lambda p: self.page.show_info(f"Written: {p}"))

    def new_survey(self, keep_site: bool = False) -> None:
        if self.active is not None:
            self.stop_here()
        self.survey = None
        self.result = None
        self.saved_id = None
        self._assess_gen += 1
        if not keep_site:
            self.name_edit.clear()
        self.locations.setRowCount(0)
        self.results.setRowCount(0)
        self.summary_label.setText("")
        self.progress.setValue(0)
        self.progress_label.setText("Name a location and press Listen here.")
        self._sync()


def _table(parent, columns) -> QTableWidget:
    t = QTableWidget(0, len(columns), parent)
    t.setHorizontalHeaderLabels(list(columns))
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return t
