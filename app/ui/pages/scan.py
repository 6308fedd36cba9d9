"""The Scan page: find the meters on the bus, primary or secondary, and list them.

The scan runs in the bus service (one operation on the wire at a time); found
meters appear in the list as they answer; Cancel (or Esc) stops it within one
response timeout; an error (e.g. the USB head unplugged) is one line in the
banner and every meter found so far stays in the list. Double-click a meter
(or Read) to read it on the Readout page.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QRadioButton, QSizePolicy, QSpinBox, QTableView)

from app.ui import icons
from app.ui.pages.base import Page


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def eta_words(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{_clock(seconds)} left"


class ScanPage(Page):
    name = "scan"
    title = "Scan"
    icon = "scan"
    summary = "Find the meters on the bus by primary address or secondary (wildcard) search."

    def build(self) -> None:
        from app.ui.widgets.meters import MetersModel

        self.bus = self.ctx.bus
        m = self.ctx.metrics
        from app.ui.widgets.scroll import scroll_body

        body = scroll_body(self)
        self.task = None
        self._secondary = False
        self._t0 = time.monotonic()

        # (o) Primary addresses  from [1] to [250]          [Start scan]
        # (o) Secondary search   below [FFFFFFFF]           [Cancel]
        # [progress ............................] time left · found
        mode = QGridLayout()
        mode.setHorizontalSpacing(12)
        mode.setVerticalSpacing(8)
        self.mode_group = QButtonGroup(self)
        self.primary_radio = QRadioButton("Primary addresses", self)
        self.primary_radio.setToolTip("Ask every primary address in the range (about 0.2 s each at 2400 Bd)")
        self.secondary_radio = QRadioButton("Secondary search", self)
        self.secondary_radio.setToolTip("Wildcard search over the identification numbers: also finds meters "
                                        "that share a primary address (e.g. all at 0)")
        for b in (self.primary_radio, self.secondary_radio):
            b.setMinimumHeight(m.target)
            self.mode_group.addButton(b)
        self.first_spin = QSpinBox(self)
        self.first_spin.setRange(0, 250)
        self.first_spin.setValue(1)
        self.last_spin = QSpinBox(self)
        self.last_spin.setRange(0, 250)
        self.last_spin.setValue(250)
        self.mask_edit = QLineEdit("FFFFFFFF", self)
        self.mask_edit.setMaxLength(8)
        self.mask_edit.setToolTip("Identification mask: 8 digits, F = any (e.g. 1234FFFF)")
        self.mask_edit.setMinimumWidth(round(150 * self.ctx.text_scale))
        prim = QHBoxLayout()
        prim.setSpacing(10)
        for w in (QLabel("from", self), self.first_spin, QLabel("to", self), self.last_spin):
            prim.addWidget(w)
        prim.addStretch(1)
        sec = QHBoxLayout()
        sec.setSpacing(10)
        sec.addWidget(QLabel("below", self))
        sec.addWidget(self.mask_edit)
        sec.addStretch(1)
        mode.addWidget(self.primary_radio, 0, 0)
        mode.addLayout(prim, 0, 1)
        mode.addWidget(self.secondary_radio, 1, 0)
        mode.addLayout(sec, 1, 1)
        mode.setColumnStretch(1, 1)
        mode_value = self.recall("mode", "primary", str)
        (self.secondary_radio if mode_value == "secondary" else self.primary_radio).setChecked(True)

        self.start_button = QPushButton("Start scan", self)
        self.start_button.setProperty("primary", True)
        self.start_button.setIcon(icons.icon("scan", "#ffffff"))
        self.start_button.setToolTip("Start the scan (Ctrl+Return)")
        self.start_button.clicked.connect(self.start_scan)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setIcon(icons.icon("cancel"))
        self.cancel_button.setToolTip("Stop the scan; the meters found so far stay in the list (Esc)")
        self.cancel_button.clicked.connect(self.cancel_scan)
        self.read_button = QPushButton("Read meter", self)
        self.read_button.setIcon(icons.icon("readout"))
        self.read_button.setToolTip("Read the selected meter on the Readout page (Enter, or double-click)")
        self.read_button.clicked.connect(self.read_selected)
        self.clear_button = QPushButton("Clear list", self)
        self.clear_button.clicked.connect(self.clear_list)
        self.settings_button = QPushButton("Address / baud…", self)
        self.settings_button.setToolTip("Give the selected meter another primary address or baud rate "
                                        "(checked first, confirmed by a read afterwards)")
        self.settings_button.clicked.connect(self.change_selected)
        self.settings_dialog = None
        for b in (self.start_button, self.cancel_button, self.read_button, self.clear_button, self.settings_button):
            b.setMinimumHeight(m.target)
        mode.addWidget(self.start_button, 0, 2)
        mode.addWidget(self.cancel_button, 1, 2)
        body.addLayout(mode)

        row = QHBoxLayout()
        self.progress = QProgressBar(self)
        self._progress_idle("no scan yet")
        row.addWidget(self.progress, 1)
        self.eta_label = QLabel("", self)
        self.eta_label.setMinimumWidth(round(220 * self.ctx.text_scale))
        row.addWidget(self.eta_label)
        body.addLayout(row)
        # the scan's outcome in a line of its own, under the controls: the banner above them would push
        # them down just as a gloved finger goes for Read meter (the banner is for errors)
        res = QHBoxLayout()
        self.result_label = QLabel("", self)
        self.result_label.setObjectName("ScanResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setMinimumHeight(round(3.3 * self.fontMetrics().height()))   # outcome + 2 warnings
        self.result_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        res.addWidget(self.result_label, 1)
        self.result_button = QPushButton("", self)
        self.result_button.setMinimumHeight(m.target)
        self.result_button.hide()
        self.result_button.clicked.connect(self._result_action)
        self._action = None
        res.addWidget(self.result_button)
        body.addLayout(res)

        self.model = MetersModel(self.bus, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(round(m.target * 0.82))
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for col in (2, 3, 4, 5):   # identification, address, medium, last read: as wide as their text
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        hh.setHighlightSections(False)
        self.table.doubleClicked.connect(lambda _i: self.read_selected())
        self.table.activated.connect(lambda _i: self.read_selected())
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.model.modelReset.connect(self._restore_selection)
        body.addWidget(self.table, 1)

        foot = QHBoxLayout()
        self.count_label = QLabel("", self)
        self.count_label.setWordWrap(True)
        foot.addWidget(self.count_label, 1)
        foot.addWidget(self.settings_button)
        foot.addWidget(self.read_button)
        foot.addWidget(self.clear_button)
        body.addLayout(foot)

        self.make_action("Start scan", self.start_scan, "Ctrl+Return")
        self.make_action("Read the selected meter", self.read_selected, "Ctrl+R")
        self.bus.metersChanged.connect(self._update_counts)
        self.bus.meterChanged.connect(lambda _m: self._update_counts())   # found again, or missed by a scan
        self.bus.selectedChanged.connect(lambda _m: self._restore_selection())
        self.bus.stateChanged.connect(lambda _s: self._update_counts())
        self.bus.busyChanged.connect(lambda _b: self._sync())
        self._update_counts()
        self._sync()

    # -- state -------------------------------------------------------------------------
    def _sync(self) -> None:
        scanning = self.task is not None and self.task.running
        self.start_button.setEnabled(not scanning and self.bus.connected)
        self.cancel_button.setEnabled(scanning)
        self.read_button.setEnabled(self.bus.connected and self.bus.selected is not None and not scanning)
        self.settings_button.setEnabled(self.read_button.isEnabled())

    def _update_counts(self) -> None:
        meters = self.bus.meters()
        n = len(meters)
        if not n:
            where = "" if self.bus.connected else " Connect first (Connect page)."
            self.count_label.setText(f"No meters in the list yet.{where}")
        else:
            sec = sum(1 for x in meters if x.primary_address is None)
            extra = f", {sec} reachable by secondary address only" if sec else ""
            gone = sum(1 for x in meters if self.bus.absence(x))
            if gone:
                extra += f"; {gone} not seen on this bus now (grey)"
            self.count_label.setText(f"{n} meter{'s' if n != 1 else ''} in the list{extra}. "
                                     "Double-click one to read it.")
        self._sync()

    def _row_changed(self, current, _previous) -> None:
        m = self.model.meter_at(current.row())
        if m is not None:
            self.bus.select(m)
        self._sync()

    def _restore_selection(self) -> None:
        sel = self.bus.selected
        if sel is not None:
            r = self.model.row_of(sel.key)
            if r >= 0:
                self.table.selectRow(r)

    # -- actions --------------------------------------------------------------------------
    def start_scan(self) -> None:
        from app.ui.bus import BusUnavailable

        secondary = self.secondary_radio.isChecked()
        self.remember("mode", "secondary" if secondary else "primary")
        try:
            if secondary:
                mask = self.mask_edit.text().strip().upper() or "FFFFFFFF"
                task = self.bus.scan_secondary(mask, origin=self, on_item=self._found, on_progress=self._progress,
                                               on_finished=self._finished, on_cancelled=self._cancelled)
            else:
                first, last = self.first_spin.value(), self.last_spin.value()
                if first > last:
                    self.show_warning(f"The range is empty: {first} is above {last}.")
                    return
                task = self.bus.scan_primary(first, last, origin=self, on_item=self._found,
                                             on_progress=self._progress, on_finished=self._finished,
                                             on_cancelled=self._cancelled)
        except BusUnavailable as exc:
            self.show_warning(str(exc), action_text="Connect", action=lambda: self.ctx.window.show_page("connect"))
            return
        except ValueError as exc:
            self.show_warning(str(exc))
            return
        self.task = task
        self.banner.clear()
        self.show_result("Scanning…")
        task.failed.connect(self._failed)
        task.ended.connect(lambda _t: self._sync())
        self._secondary = secondary
        self._t0 = time.monotonic()
        self.progress.setRange(0, 0)             # busy until the first step is done
        self.progress.setFormat("starting…")
        self.eta_label.setText("starting…")
        self._found_now = 0
        self._sync()

    def cancel_scan(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.eta_label.setText("stopping…")

    def _found(self, m) -> None:
        self._found_now += 1
        r = self.model.row_of(m.key)
        if r >= 0 and self.bus.selected is None:
            self.table.selectRow(r)

    def _progress(self, done, total, eta_s, text) -> None:
        elapsed = time.monotonic() - self._t0
        if self._secondary:
            # how many selections a secondary search needs is known only at its end: a busy bar, the
            # selections sent and the time so far; no "done", no time left
            self.progress.setRange(0, 0)
            self.progress.setFormat("searching…")
            self.eta_label.setText(" · ".join(x for x in (text, f"{_clock(elapsed)} so far") if x))
            return
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(int(done))
            self.progress.setFormat("%v / %m addresses")
        # the time left once the rate is known (a few addresses in), never from the first one or two
        eta = eta_words(eta_s) if done >= min(5, total or 5) and elapsed >= 1.0 else ""
        self.eta_label.setText(" · ".join(x for x in (eta, text) if x))

    def _progress_idle(self, text: str, value: int = 0) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(value)
        self.progress.setFormat(text)

    def show_result(self, text: str, warnings: list[str] = (), action_text: str | None = None,
                    action=None) -> None:
        """The scan's outcome under the controls (see build): a line, then its warnings in bold."""
        from html import escape

        lines = [escape(text)] + [f"<b style='color:#8b0000'>{escape(w)}</b>" for w in warnings]
        self.result_label.setText("<br>".join(lines))
        self._action = action
        self.result_button.setVisible(action is not None)
        self.result_button.setText(action_text or "")

    def result_text(self) -> str:
        """The outcome line as plain text (tests, the manual)."""
        from PySide6.QtGui import QTextDocument

        d = QTextDocument()
        d.setHtml(self.result_label.text())
        return d.toPlainText()

    def _result_action(self) -> None:
        if self._action is not None:
            self._action()

    def _finished(self, summary) -> None:
        self._progress_idle(f"done: {summary.found} found", 1)
        found = summary.found
        text = (f"{'Primary scan' if summary.mode == 'primary' else 'Secondary search'}: {found} meter"
                f"{'s' if found != 1 else ''} found ({summary.new} new) in {summary.elapsed_s:.1f} s, "
                f"{summary.requests} requests at {summary.baud} Bd.")
        if self.bus.simulated:
            text += " The simulated line runs faster than a real one: a real bus takes longer."
        self.eta_label.setText(f"{found} found")
        warnings, action = [], None
        if summary.garbled_addresses:
            addrs = ", ".join(map(str, summary.garbled_addresses))
            warnings.append(f"Several meters answer at address {addrs} (a collision until a secondary search "
                            "tells them apart).")
            action = ("Secondary search", self._secondary_now)
        if summary.unresolved:
            warnings.append(f"Meters that could not be told apart: {', '.join(summary.unresolved)}.")
        asleep = self._missed_sleepers()
        if asleep:
            warnings.append(f"Not found: {asleep}, found before after a wake-up. A battery meter behind its optical "
                            "port answers only after one: choose the optical head profile (Connect page) and scan "
                            "again.")
            action = action or ("Connect page", lambda: self.ctx.window and self.ctx.window.show_page("connect"))
        if found == 0:
            warnings.append("Nothing answered. Check the wiring and the baud rate (Connect page: Test line); "
                            "battery meters need their optical head profile.")
        self.show_result(text, warnings, *(action or (None, None)))

    def _missed_sleepers(self) -> str:
        """Meters of this bus with an optical wake-up profile that this scan missed while the connection
        sends no wake-up: the likely reason they were missed."""
        spec = self.bus.spec
        prof = self.bus.session.connection_profile() if spec is not None else None
        if prof is not None and prof.has_preamble:
            return ""
        return ", ".join(m.label for m in self.bus.meters()
                         if m.woken and m.optical_profile and m.missed_by and m.port in (None, self.bus.here()))

    def _secondary_now(self) -> None:
        self.secondary_radio.setChecked(True)
        self.start_scan()
        if self.task is not None:
            def read_some(_summary) -> None:
                # a few meters read, so that "Last read" shows what a working list looks like
                for key in ("71234567.KAM.08.04", "62100015.SEN.0E.04", "12345679.SVM.09.04"):
                    if self.bus.meter(key) is not None:
                        self.bus.read_meter(key, origin=self)
                if self.bus.meter("71234567.KAM.08.04") is not None:
                    self.bus.select("71234567.KAM.08.04")
            # on "ended": the bus is free of the scan by then (reads are refused during a scan)
            self.task.ended.connect(lambda t: t.state == "finished" and read_some(t.result))

    def _cancelled(self) -> None:
        self._progress_idle("cancelled")
        n = len(self.bus.meters())
        self.eta_label.setText("cancelled")
        self.show_result(f"Scan cancelled; the {n} meter{'s' if n != 1 else ''} in the list are kept.")

    def _failed(self, message: str) -> None:
        self._progress_idle("stopped by an error")
        self.eta_label.setText("stopped by an error")
        self.show_result("The scan stopped: see the message above.", [message[:1].upper() + message[1:]])

    def read_selected(self) -> None:
        m = self.bus.selected
        if m is None:
            self.show_warning("Pick a meter in the list first.")
            return
        win = self.ctx.window
        if win is None:
            return
        page = win.show_page("readout")
        if hasattr(page, "read_now"):
            page.read_now()

    def change_selected(self) -> None:
        """The selected meter's primary address or baud rate (``app.ui.widgets.meter_settings``)."""
        from app.ui.widgets.meter_settings import MeterSettingsDialog

        m = self.bus.selected
        if m is None:
            self.show_warning("Pick a meter in the list first.")
            return
        if self.settings_dialog is not None:
            self.settings_dialog.close()
        self.settings_dialog = MeterSettingsDialog(self.ctx, m, self, on_message=self.banner.show_message)
        if self.ctx.mode.interactive:
            self.settings_dialog.open()

    def clear_list(self) -> None:
        if self.task is not None and self.task.running:
            self.show_warning("Wait for the scan to end (or cancel it) before clearing the list.")
            return
        self.bus.clear_meters()

    # -- page hooks ---------------------------------------------------------------------------
    def on_shown(self) -> None:
        self._sync()
        self._update_counts()

    def refresh(self) -> bool:
        self.start_scan()
        return True

    def prepare_demo(self) -> None:
        """A finished secondary search of the simulated bus (every meter, the sleeping one woken)."""
        if not self.bus.connected:
            self.ctx.mode.connect_simulator()
        if self.bus.simulated:
            self.bus.set_profile("optical-55")
        self.secondary_radio.setChecked(True)
        self.start_scan()
        if self.task is not None:
            def read_some(_summary) -> None:
                # a few meters read, so that "Last read" shows what a working list looks like
                for key in ("71234567.KAM.08.04", "62100015.SEN.0E.04", "12345679.SVM.09.04"):
                    if self.bus.meter(key) is not None:
                        self.bus.read_meter(key, origin=self)
                if self.bus.meter("71234567.KAM.08.04") is not None:
                    self.bus.select("71234567.KAM.08.04")
            # on "ended": the bus is free of the scan by then (reads are refused during a scan)
            self.task.ended.connect(lambda t: t.state == "finished" and read_some(t.result))
