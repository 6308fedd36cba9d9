"""The Radio page: wireless M-Bus meters heard, their telegrams, and the connectivity survey.

Top: the receiver (a USB stick found on USB, another port and stick type, or the simulated radio), the
radio mode (T1, C1, S1), Start/Stop, the key store (import keys, unlock). Receiving runs in a worker task
(:class:`app.ui.radio.service.RadioService`); decoded telegrams arrive in batches and update the table of
meters heard (:class:`app.ui.radio.model.HeardModel`): id, make, medium, RSSI now/min/median, telegrams
heard vs expected from the send interval, key status, last values. Pick a meter to see each of its
telegrams decoded, with its raw bytes. The second tab runs the connectivity survey
(:class:`app.ui.radio.survey_panel.SurveyPanel`).
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu,
                               QPlainTextEdit, QPushButton, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget)

from app.ui import icons
from app.ui.pages.base import Page
from app.ui.radio.model import COLUMNS, HeardModel, MeterRole, TelegramsModel
from app.ui.radio.service import SIMULATED, RadioService, Source

OTHER = "__other__"
STICK_NAMES = {"im871a": "IMST iM871A", "amb8465": "Amber AMB8465", "rtl-wmbus": "rtl-wmbus (SDR)"}
WIDTHS = {"meter": 96, "make": 96, "medium": 78, "rssi_now": 60, "rssi_min": 54, "rssi_median": 74, "heard": 66,
          "expected": 88, "ratio": 84, "interval": 76, "key": 76, "values": 250, "last": 90}


class RadioPage(Page):
    name = "radio"
    title = "Radio"
    icon = "radio"
    summary = "Wireless M-Bus meters heard: signal, telegrams, keys; and the connectivity survey (MMS 2.1.9)."

    def build(self) -> None:
        m = self.ctx.metrics
        self.service: RadioService = self.ctx.radio      # shared with the Commission wizard
        self.table = self.service.table
        self.update_ms = self.service.update_ms          # how long each update took on the GUI thread (bench)
        self._status_at = 0.0
        self._sticks: list[tuple[str, str]] = []
        self._selected_key: str | None = None
        self.clock = "real"          # the simulated radio's clock for Start ("virtual": no waiting; tests)

        # receiver row: [Receiver ▾] [port] [type ▾] [mode ▾] [Start] [Keys ▾] [Clear]
        row = QHBoxLayout()
        row.setSpacing(8)
        self.source_combo = QComboBox(self)
        self.source_combo.setToolTip("What to receive with: a USB stick found on USB, another port, or the "
                                     "simulated radio (a block of flats, marked SIMULATION)")
        self.source_combo.setMinimumContentsLength(22)
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.port_edit = QLineEdit(self.ctx.mode.recall(self.name, "port", "", str), self)
        self.port_edit.setPlaceholderText("/dev/ttyUSB0, COM3, socket://host:port, or a file")
        self.port_edit.setToolTip("Serial port of the stick, socket://HOST:PORT, or for rtl-wmbus a file, a pipe "
                                  "or socket://HOST:PORT")
        self.type_combo = QComboBox(self)
        self.type_combo.addItem("Type: detect", None)
        for k, v in STICK_NAMES.items():
            self.type_combo.addItem(v, k)
        self.type_combo.setToolTip("The receiver on that port (detect: from its USB ids)")
        self.mode_combo = QComboBox(self)
        for mode, tip in (("t1", "T1: frequent transmit (most heat meters)"), ("c1", "C1: compact (Kamstrup, newer "
                          "meters)"), ("s1", "S1: stationary (long intervals)")):
            self.mode_combo.addItem(mode.upper(), mode)
            self.mode_combo.setItemData(self.mode_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.mode_combo.setToolTip("Radio mode to receive (EN 13757-4); rtl-wmbus hears all three")
        saved_mode = self.ctx.mode.recall(self.name, "mode", "t1", str)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(saved_mode)))
        self.start_button = QPushButton("Start", self)
        self.start_button.setProperty("primary", True)
        self.start_button.setIcon(icons.icon("play", "#ffffff"))
        self.start_button.setToolTip("Start or stop receiving (Ctrl+R)")
        self.start_button.clicked.connect(self.toggle)
        self.keys_button = QPushButton("Keys", self)
        self.keys_button.setToolTip("The meter key store: import keys (CSV id,key or a key export), unlock it")
        menu = QMenu(self.keys_button)
        menu.addAction("Import keys from a file…", self.ask_import_keys)
        menu.addAction("Unlock the key store…", self.ask_unlock)
        self.keys_button.setMenu(menu)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setToolTip("Forget the meters heard (receiving goes on)")
        self.clear_button.clicked.connect(self.clear)
        for w in (self.source_combo, self.port_edit, self.type_combo, self.mode_combo):
            w.setMinimumHeight(m.input_height)
        for b in (self.start_button, self.keys_button, self.clear_button):
            b.setMinimumHeight(m.target)
        row.addWidget(self.source_combo, 2)
        row.addWidget(self.port_edit, 2)
        row.addWidget(self.type_combo, 1)
        row.addWidget(self.mode_combo)
        row.addWidget(self.start_button)
        row.addWidget(self.keys_button)
        row.addWidget(self.clear_button)
        self.body_layout.addLayout(row)
        self.status_label = QLabel("Not receiving.", self)
        self.status_label.setWordWrap(True)
        self.body_layout.addWidget(self.status_label)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._build_meters_tab(), "Meters heard")
        from app.ui.radio.survey_panel import SurveyPanel

        self.survey = SurveyPanel(self, self.tabs)
        self.tabs.addTab(self.survey, "Connectivity survey")
        self.body_layout.addWidget(self.tabs, 1)

        self.service.batch.connect(self.on_batch)
        self.service.runningChanged.connect(self._running_changed)
        self.service.failed.connect(self._failed)
        keys = self.ctx.keys
        keys.lockedNeeded.connect(self._keys_locked)
        keys.problem.connect(lambda text: self.show_warning(f"Key store: {text}"))
        self.make_action("Start or stop receiving", self.toggle, "Ctrl+R")
        self.make_action("Filter the meters heard", self.filter_edit.setFocus, "Ctrl+F")
        self._fill_sources()
        self._detect_sticks()

    def _build_meters_tab(self) -> QWidget:
        m = self.ctx.metrics
        w = QWidget(self)
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(8)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit(w)
        self.filter_edit.setPlaceholderText("Filter: id, make, medium, key status…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumHeight(m.input_height)
        self.kind_combo = QComboBox(w)
        for k, text in HeardModel.KINDS:
            self.kind_combo.addItem(text, k)
        self.kind_combo.setMinimumHeight(m.input_height)
        self.count_label = QLabel("", w)
        row.addWidget(self.filter_edit, 2)
        row.addWidget(self.kind_combo, 1)
        row.addWidget(self.count_label, 2)
        lay.addLayout(row)

        self.model = HeardModel(self.table, self)
        self.proxy = self.model          # the model filters and sorts itself (no proxy: fewer calls per paint)
        self.filter_edit.textChanged.connect(lambda t: self.model.set_filter(text=t))
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.model.set_filter(kind=self.kind_combo.currentData()))
        self.view = QTableView(w)
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        hh.setHighlightSections(False)
        self.view.selectionModel().currentRowChanged.connect(self._meter_picked)

        self.telegrams = TelegramsModel(self)
        self.tg_view = QTableView(w)
        self.tg_view.setModel(self.telegrams)
        self.tg_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tg_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tg_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tg_view.verticalHeader().setVisible(False)
        self.tg_view.horizontalHeader().setStretchLastSection(True)
        self.tg_view.selectionModel().currentRowChanged.connect(self._telegram_picked)
        self.detail = QPlainTextEdit(w)
        self.detail.setReadOnly(True)
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.detail.setPlaceholderText("Pick a meter above, then one of its telegrams: it shows here decoded, "
                                       "with its raw bytes.")
        lower = QSplitter(Qt.Orientation.Horizontal, w)
        lower.addWidget(self.tg_view)
        lower.addWidget(self.detail)
        lower.setStretchFactor(0, 2)
        lower.setStretchFactor(1, 5)
        lower.setSizes([340, 760])
        split = QSplitter(Qt.Orientation.Vertical, w)
        split.addWidget(self.view)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay.addWidget(split, 1)
        self.on_text_scale_changed(self.ctx.text_scale)
        return w

    # -- page hooks -----------------------------------------------------------------------------
    def on_text_scale_changed(self, scale: float) -> None:
        if not hasattr(self, "view"):
            return
        for i, (f, _h) in enumerate(COLUMNS):
            self.view.setColumnWidth(i, round(WIDTHS.get(f, 80) * scale))
        self.view.verticalHeader().setDefaultSectionSize(max(28, round(30 * scale)))
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(self.ctx.metrics.point_size * 0.92)
        self.detail.setFont(mono)
        for i, wd in enumerate((76, 46, 54, 92, 52)):
            self.tg_view.setColumnWidth(i, round(wd * scale))
        if hasattr(self, "survey"):
            self.survey.on_text_scale_changed(scale)

    def refresh(self) -> bool:
        self._detect_sticks()
        return True

    def prepare_demo(self) -> None:
        """Demo mode: the simulated block of flats, its keys in the demo key store, receiving."""
        self._select_source(SIMULATED)
        csv_text = self.service.simulated_keys_csv()
        keys = self.ctx.keys

        def work():
            return keys.import_text_now(csv_text, "simulated meters' keys")

        def then(_n) -> None:
            keys.changed.emit()
            if self.ctx.mode.screenshot:     # a finished picture: 20 simulated minutes, received at once
                task = self.start(clock="virtual", seconds=20 * 60)
                task.finished.connect(lambda _r: self._demo_pick())
            else:
                self.start()
        self.run_task("Keys of the simulated meters", work, on_finished=then)

    def _demo_pick(self) -> None:
        """Screenshots: a heat meter picked, its last telegram decoded below."""
        for key in self.table.order:
            m = self.table.meters[key]
            if m.status == "decrypted" and (m.medium or "").startswith("heat") and len(m.values) >= 4:
                self.select_meter(key)
                return

    def on_hidden(self) -> None:
        pass   # receiving goes on in the background (the survey may be running); Stop ends it

    # -- sources --------------------------------------------------------------------------------
    def _fill_sources(self) -> None:
        box = self.source_combo
        current = box.currentData()
        box.blockSignals(True)
        box.clear()
        for dev, kind in self._sticks:
            box.addItem(f"{STICK_NAMES.get(kind, kind)} on {dev}", (kind, dev))
        box.addItem("Other port…", OTHER)
        box.addItem("Simulated radio (SIMULATION)", SIMULATED)
        box.blockSignals(False)
        want = current if current is not None else (SIMULATED if self.ctx.mode.demo else None)
        i = box.findData(want) if want is not None else -1
        box.setCurrentIndex(i if i >= 0 else 0)
        self._source_changed()

    def _select_source(self, data) -> None:
        i = self.source_combo.findData(data)
        if i >= 0:
            self.source_combo.setCurrentIndex(i)

    def _source_changed(self, *_a) -> None:
        other = self.source_combo.currentData() == OTHER
        self.port_edit.setVisible(other)
        self.type_combo.setVisible(other)

    def _detect_sticks(self) -> None:
        def done(found) -> None:
            self._sticks = list(found)
            self._fill_sources()
        self.run_task("Looking for wireless M-Bus sticks", RadioService.detect_sticks, on_finished=done,
                      report_errors=False)

    def source(self) -> Source:
        data = self.source_combo.currentData()
        mode = self.mode_combo.currentData()
        if data == SIMULATED:
            return Source(SIMULATED, None, mode)
        if data == OTHER or data is None:
            return Source(self.type_combo.currentData(), self.port_edit.text().strip(), mode)
        kind, dev = data
        return Source(kind, dev, mode)

    # -- receiving ------------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.service.running:
            self.stop()
        else:
            self.start()

    def start(self, *, clock: str | None = None, seconds: float | None = None):
        src = self.source()
        if not src.simulated and not src.port:
            self.show_error("Give the port of the stick (or pick one found on USB), then Start.")
            self.port_edit.setFocus()
            return None
        self.banner.clear()
        self.ctx.mode.remember(self.name, "mode", src.mode)
        if not src.simulated and self.source_combo.currentData() == OTHER:
            self.ctx.mode.remember(self.name, "port", src.port or "")
        self.model.sensitivity_dbm = None
        task = self.service.start(src, clock=clock or self.clock, seconds=seconds, origin=self)
        self.model.sensitivity_dbm = self.service.sensitivity_dbm
        self.survey.receiver_changed(src, self.service.sensitivity_dbm)
        return task

    def stop(self) -> None:
        self.service.stop()

    def clear(self) -> None:
        self.service.clear()
        self.model.reset()
        self.telegrams.set_items([])
        self.detail.clear()
        self._selected_key = None
        self._update_status(force=True)

    def on_batch(self, recs, now, changed) -> None:
        """Decoded telegrams (GUI thread; the heard table has them already): the table view, the selected
        meter's telegrams, the survey."""
        self.model.apply(changed, time.monotonic())
        sel = self._selected_key
        if sel is not None and sel in changed:
            self.telegrams.append(r for r in recs if r.meter == sel)
        self.survey.feed(recs, now)
        self._update_status()

    def _running_changed(self, running: bool) -> None:
        self.start_button.setText("Stop" if running else "Start")
        self.start_button.setIcon(icons.icon("pause" if running else "play", "#ffffff"))
        for w in (self.source_combo, self.port_edit, self.type_combo, self.mode_combo):
            w.setEnabled(not running)
        if not running:
            self.model.settle()
        self._update_status(force=True)

    def _failed(self, message: str) -> None:
        self.show_error(message, action_text="Start again", action=self.start)

    def _update_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._status_at < 0.25:
            return
        self._status_at = now
        t = self.table
        src = self.service.source
        if self.service.running and src is not None:
            since = ""
            if t.started_at is not None and t.now is not None:
                secs = int((t.now - t.started_at).total_seconds())
                since = f" for {secs // 60}:{secs % 60:02d}"
            head = f"Receiving {src.mode.upper()} with {src.label()}{since}"
            if src.simulated:
                head = "SIMULATION — " + head + f" (simulated time runs ×{self.service.sim_speed:g})"
        elif src is not None:
            head = f"Stopped ({src.label()})"
        else:
            head = "Not receiving"
        sens = self.service.sensitivity_dbm
        tail = f" · receiver sensitivity {sens:.0f} dBm" if sens is not None and src is not None else ""
        self.status_label.setText(f"{head}: {len(t)} meters, {t.total} telegrams"
                                  f"{f', {t.errors} not decoded' if t.errors else ''}{tail}.")
        shown = self.model.rowCount()
        self.count_label.setText("" if shown == len(t) else f"{shown} of {len(t)} meters shown")

    # -- one meter's telegrams ------------------------------------------------------------------
    def _meter_picked(self, current, _previous) -> None:
        meter = current.data(MeterRole) if current.isValid() else None
        self._selected_key = meter.key if meter is not None else None
        self.telegrams.set_items(meter.log if meter is not None else [])
        self.detail.clear()
        if meter is not None and meter.log:
            last = self.telegrams.index(self.telegrams.rowCount() - 1, 0)
            self.tg_view.setCurrentIndex(last)
            self.tg_view.scrollTo(last)

    def _telegram_picked(self, current, _previous) -> None:
        from app.ui.radio.detail import telegram_text

        if not current.isValid() or current.row() >= len(self.telegrams.items):
            self.detail.clear()
            return
        self.detail.setPlainText(telegram_text(self.telegrams.items[current.row()], self.ctx.keys.lookup))

    def select_meter(self, key: str) -> bool:
        """Select the meter ``key`` ("FLAG id") in the table (tests, the survey's results)."""
        row = self.model.row_of(key)
        if row is None:
            return False
        self.view.setCurrentIndex(self.model.index(row, 0))
        return True

    # -- keys -----------------------------------------------------------------------------------
    def _keys_locked(self) -> None:
        self.show_warning("The key store is locked: encrypted telegrams show no readings until it is unlocked.",
                          action_text="Unlock…", action=self.ask_unlock)

    def ask_unlock(self) -> None:
        from app.ui.keys import ask_passphrase

        keys = self.ctx.keys
        if keys.protection != "passphrase":
            self.show_info("The key store needs no passphrase here" + (" (it holds no keys yet)."
                                                                        if keys.protection is None else "."))
            return
        text = ask_passphrase(self, new=False)
        if text:
            keys.unlock(text, origin=self, on_finished=lambda n: self.show_info(f"Key store open: {n} keys."),
                        on_failed=lambda msg: self.show_error(f"{msg}. The keys stay locked."))

    def ask_import_keys(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from app.ui.keys import ask_passphrase

        path, _f = QFileDialog.getOpenFileName(self, "Import meter keys", "",
                                               "Key files (*.csv *.txt *.json *.export);;All files (*)")
        if not path:
            return
        keys = self.ctx.keys
        if keys.needs_new_passphrase():
            text = ask_passphrase(self, new=True)
            if not text:
                return
            keys.set_passphrase(text)
        elif keys.locked:
            text = ask_passphrase(self, new=False)
            if not text:
                return
            keys.set_passphrase(text)
        export_pass = None
        try:
            with open(path, encoding="utf-8-sig") as fh:
                head = fh.read(200)
        except OSError as exc:
            self.show_error(f"Cannot read {path}: {exc.strerror or exc}.")
            return
        if head.lstrip().startswith("{"):
            export_pass = ask_passphrase(self, new=False, what="this key export")
            if not export_pass:
                return
        keys.import_file(path, export_passphrase=export_pass, origin=self,
                         on_finished=lambda n: self.show_info(f"{n} key(s) imported; telegrams heard from now on "
                                                              "are decrypted with them."),
                         on_failed=lambda msg: self.show_error(f"Keys not imported: {msg}."))
