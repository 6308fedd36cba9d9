"""The Readout page: every record of every telegram of one meter, decoded, with its raw bytes.

Read the selected meter (F5) through the bus service; the header says who
answered and its status in words; the table lists each record (quantity,
value, unit, storage, tariff, subunit, function, modifiers) with its raw hex
and the telegram's hex on demand (Raw hex); the selection copies as TSV; the
readout exports as CSV or JSON; "Save to register" stores the frames and the
decoded telegrams as evidence against the meter (offering to create it when
the register does not know it). Where the make's driver recognises
volume-weighted temperature registers (Kamstrup E8/E9), the average flow and
return temperatures they imply are shown above the table.
"""
from __future__ import annotations

import io
import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QFrame,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from app.services import readouts
from app.services.readouts import Evidence
from app.ui import icons
from app.ui.pages.base import Page
from app.ui.widgets.readout_header import PROTOCOL_CHOICES, optical_header_html

COLUMNS = ("Tel.", "Quantity", "Value", "Unit", "Stor.", "Tariff", "Sub.", "Function", "Modifiers", "Raw hex")
FUNCTION_WORDS = {"instantaneous": "instant", "maximum": "max", "minimum": "min", "error": "error"}
RAW_COLUMN = COLUMNS.index("Raw hex")
CSV_HEADER = ("telegram", "record", "quantity", "value", "unit", "storage", "tariff", "subunit", "function",
              "modifiers", "raw")


STATUS_WORDS = {
    "application_busy": "application busy", "application_error": "application error",
    "abnormal_condition": "abnormal condition (alarm)", "power_low": "power low (battery)",
    "permanent_error": "permanent error", "temporary_error": "temporary error",
    "stored_values": "stored values", "binary_counters": "binary counters",
}


def words(name: str | None) -> str:
    """``flow_temperature`` -> ``Flow temperature``."""
    from app.core.registers import words as _words

    return _words(name)


def status_text(flags: list[str]) -> str:
    out = []
    for f in flags:
        if f.startswith("manufacturer_specific_"):
            out.append(f"manufacturer flag {f.rsplit('_', 1)[-1]}")
        else:
            out.append(STATUS_WORDS.get(f, f.replace("_", " ")))
    return ", ".join(out)


def number_text(v: float, decimals: int | None = None) -> str:
    from app.core.registers import number

    return number(v, decimals)


def display_value(rec) -> tuple[str, str]:
    """(value, unit) as the page shows them: kWh, kW, m³, °C, hours for on/operating time
    (``app.core.registers.scaled``, always kWh here: the commissioning checks read kWh too)."""
    from app.core.registers import scaled

    return scaled(rec, large=False)


def hex_block(data: bytes, per_line: int = 16) -> str:
    return "\n".join(" ".join(f"{b:02X}" for b in data[i:i + per_line]) for i in range(0, len(data), per_line))


class CreateMeterDialog(QDialog):
    """Create the meter a readout belongs to, from the register's proposal (make, model, serial, site)."""

    def __init__(self, fields: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add this meter to the register")
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        for key, label in (("manufacturer", "Make"), ("model", "Model"), ("serial", "Serial"), ("site", "Site"),
                           ("location", "Location")):
            e = QLineEdit(str(fields.get(key) or ""), self)
            self.edits[key] = e
            form.addRow(label, e)
        note = QLabel(f"FLAG code {fields.get('mbus_manufacturer') or '?'}, secondary address "
                      f"{fields.get('secondary_address') or '?'}, primary address "
                      f"{fields.get('primary_address') if fields.get('primary_address') is not None else '—'}.", self)
        note.setWordWrap(True)
        form.addRow(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create and save the readout")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.base = dict(fields)

    def values(self) -> dict:
        out = dict(self.base)
        for k, e in self.edits.items():
            out[k] = e.text().strip() or None
        return out


class ReadoutPage(Page):
    name = "readout"
    title = "Readout"
    icon = "readout"
    summary = "Every record of every telegram the meter sent, decoded, with the raw bytes."

    def build(self) -> None:
        from app.ui.widgets.meters import MeterPicker

        self.bus = self.ctx.bus
        m = self.ctx.metrics
        from app.ui.widgets.scroll import scroll_body

        body = scroll_body(self)
        self.readout = None
        self.task = None
        self.create_dialog: CreateMeterDialog | None = None
        self.last_save = None

        top = QHBoxLayout()
        self.picker = MeterPicker(self.bus, self)
        top.addWidget(self.picker, 1)
        self.read_button = QPushButton("Read", self)
        self.read_button.setProperty("primary", True)
        self.read_button.setIcon(icons.icon("readout", "#ffffff"))
        self.read_button.setToolTip("Read every telegram of the meter (F5)")
        self.read_button.clicked.connect(self.read_now)
        self.raw_button = QPushButton("Raw hex", self)
        self.raw_button.setCheckable(True)
        self.raw_button.setToolTip("Show each record's bytes and the whole telegram (Ctrl+H)")
        self.raw_button.toggled.connect(self.set_raw_visible)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the selected rows (all rows when none is selected) as tab-separated text (Ctrl+C)")
        self.copy_button.clicked.connect(self.copy_selection)
        self.csv_button = QPushButton("CSV", self)
        self.csv_button.setIcon(icons.icon("export"))
        self.csv_button.setToolTip("Export the records as CSV (Ctrl+E)")
        self.csv_button.clicked.connect(lambda: self._ask_export("csv"))
        self.json_button = QPushButton("JSON", self)
        self.json_button.setIcon(icons.icon("export"))
        self.json_button.setToolTip("Export the readout as JSON: the decode contract's telegrams, plus the raw "
                                    "frames (Ctrl+Shift+E)")
        self.json_button.clicked.connect(lambda: self._ask_export("json"))
        self.save_button = QPushButton("Save to register", self)
        self.save_button.setIcon(icons.icon("register"))
        self.save_button.setToolTip("Store the raw frames and the decoded telegrams as evidence for this meter (Ctrl+S)")
        self.save_button.clicked.connect(self.save_to_register)
        self.protocol_combo = QComboBox(self)
        self.protocol_combo.setObjectName("ReadProtocol")
        for key, text in PROTOCOL_CHOICES:
            self.protocol_combo.addItem(text, key)
        self.protocol_combo.setToolTip("How to read: M-Bus (wired, or an optical head in M-Bus mode), or the "
                                       "meter's own optical protocol through the head: EN 62056-21 (Landis+Gyr "
                                       "UH50/T550) or KMP (Kamstrup MULTICAL)")
        self.protocol_combo.setMinimumHeight(m.input_height)
        self.history_button = QPushButton("Read history", self)
        self.history_button.setToolTip("Read the meter's stored values too: its billing telegrams (EN 13757-3 "
                                       "application reset), shown in the History tab")
        self.history_button.clicked.connect(self.read_history)
        self.read_button.setMinimumHeight(m.target)
        self.history_button.setMinimumHeight(m.target)
        top.addWidget(self.protocol_combo)
        top.addWidget(self.read_button)
        top.addWidget(self.history_button)
        body.addLayout(top)
        # what to do with the readout: beside the page title (room that is free there)
        for b in (self.raw_button, self.copy_button, self.csv_button, self.json_button, self.save_button):
            b.setMinimumHeight(m.target)
            self.header_layout.addWidget(b)

        self.header_label = QLabel("", self)
        self.header_label.setObjectName("ReadoutHeader")
        self.header_label.setWordWrap(True)
        self.header_label.setTextFormat(Qt.TextFormat.RichText)
        self.header_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header_label.setStyleSheet("#ReadoutHeader { background: #ffffff; border: 2px solid #303030; "
                                        "border-radius: 4px; padding: 8px; }")
        body.addWidget(self.header_label)

        self.vw_label = QLabel("", self)
        self.vw_label.setObjectName("VolumeWeighted")
        self.vw_label.setWordWrap(True)
        self.vw_label.setTextFormat(Qt.TextFormat.RichText)
        self.vw_label.setStyleSheet("#VolumeWeighted { background: #e6f0ff; border: 2px solid #0b3d91; "
                                    "border-radius: 4px; padding: 8px; color: #000000; }")
        self.vw_label.hide()
        body.addWidget(self.vw_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.table = QTableWidget(0, len(COLUMNS), self.splitter)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(round(m.target * 0.72))
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)   # a long text value must not push
        hh.setSectionResizeMode(RAW_COLUMN, QHeaderView.ResizeMode.Interactive)    # the numbers off screen
        hh.setStretchLastSection(True)     # quantity, value and unit always whole; the table scrolls sideways if need be
        hh.setHighlightSections(False)
        for col, tip in ((0, "Telegram number within the readout"),
                         (4, "Storage number: 0 = current value, 1 and up = stored (history) values"),
                         (5, "Tariff register (0 = the main register)"),
                         (6, "Subunit (device unit) of the meter"),
                         (7, "Function: instant(aneous) value, max(imum), min(imum) or error state"),
                         (8, "VIF extensions that change the meaning (e.g. a cooling register)")):
            item = self.table.horizontalHeaderItem(col)
            if item is not None:
                item.setToolTip(tip)
        self.table.setColumnHidden(RAW_COLUMN, True)
        self.table.setMinimumHeight(round(m.target * 0.72) * 7)   # never squeezed below a few rows: the page scrolls
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.raw_panel = QPlainTextEdit(self.splitter)
        self.raw_panel.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.raw_panel.setFont(mono)
        self.raw_panel.hide()
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        from app.ui.widgets.history import HistoryView

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("ReadoutTabs")
        self.tabs.addTab(self.splitter, "Records")
        self.history_view = HistoryView(self.ctx, self)
        self.history_view.message.connect(lambda kind, text: self.show_info(text) if kind == "info"
                                          else self.show_error(text))
        self.tabs.addTab(self.history_view, "History")
        body.addWidget(self.tabs, 1)

        # F5 (the window's Refresh / read) reads the meter: see refresh()
        self.make_action("Copy the selected records", self.copy_selection, QKeySequence(QKeySequence.StandardKey.Copy).toString())
        self.make_action("Show / hide raw hex", lambda: self.raw_button.toggle(), "Ctrl+H")
        self.make_action("Export the records as CSV", lambda: self._ask_export("csv"), "Ctrl+E")
        self.make_action("Export the readout as JSON", lambda: self._ask_export("json"), "Ctrl+Shift+E")
        self.make_action("Save the readout to the register", self.save_to_register, "Ctrl+S")
        self.bus.selectedChanged.connect(self._selected_changed)
        self.bus.stateChanged.connect(lambda _s: self._sync())
        self._rows: list[tuple[int, int, object]] = []   # (telegram index, record index, record)
        self.stale = False                               # the table shows a readout a later read failed to renew
        self.show_readout(None)

    # -- reading ---------------------------------------------------------------------------
    def protocol(self) -> str:
        return self.protocol_combo.currentData() or "mbus"

    def set_protocol(self, protocol: str) -> None:
        i = self.protocol_combo.findData(protocol)
        if i >= 0:
            self.protocol_combo.setCurrentIndex(i)

    def read_now(self, *, history: bool = False) -> None:
        from app.ui.bus import BusUnavailable

        m = self.bus.selected
        proto = self.protocol()
        if m is None and proto == "mbus":
            self.show_warning("Pick a meter first (Scan page, or the list above).",
                              action_text="Scan", action=lambda: self.ctx.window.show_page("scan"))
            return
        try:
            fail = {"on_failed": lambda msg, m=m: self._read_failed(m, msg)}
            if m is None:                       # the meter on the optical head, whichever it is
                self.task = self.bus.read_optical(proto, origin=self, on_finished=self._read_done, **fail)
            elif history and proto == "mbus":
                self.task = self.bus.read_history(m, origin=self, on_finished=self._read_done, **fail)
            else:
                self.task = self.bus.read_meter(m, protocol=proto, origin=self, on_finished=self._read_done,
                                                **fail)
        except (BusUnavailable, ValueError) as exc:
            self.show_warning(str(exc))
            return
        self._history_asked = history
        self.task.ended.connect(self._read_ended)
        who = _esc(m.label) if m is not None else "the meter on the optical head"
        how = "" if proto == "mbus" else f" by {self.protocol_combo.currentText()}"
        self.header_label.setText(f"Reading <b>{who}</b>{how}{' with its history' if history else ''}…")
        self._sync()

    def read_history(self) -> None:
        self.read_now(history=True)

    def _read_done(self, ro) -> None:
        if ro is not None and self.bus.selected is None:
            self.bus.select(ro.meter_key)
        self.show_readout(ro)
        if getattr(self, "_history_asked", False) or getattr(ro, "optical", False):
            h = ro.history() if ro is not None else None
            if h is not None and any(k > 0 for k in h.dates):
                self.show_history_tab()

    def show_history_tab(self) -> None:
        """Bring the History tab into view (with larger text the page scrolls to it)."""
        self.tabs.setCurrentWidget(self.history_view)
        area = getattr(self, "scroll_area", None)
        if area is not None:
            area.verticalScrollBar().setValue(self.tabs.y())

    def _read_ended(self, task) -> None:
        if task.state == "cancelled":           # the header must not stay on "Reading …"
            self._mark_not_current(self.bus.meter(self._reading_key(task)), "The read was cancelled")
        self._sync()

    def _reading_key(self, task) -> str | None:
        sel = self.bus.selected
        return sel.key if sel is not None else (self.readout.meter_key if self.readout is not None else None)

    def _read_failed(self, m, message: str) -> None:
        """A failed read never leaves an older readout looking current: the previous readout of this
        meter stays, marked and greyed, under the failure; another meter's is cleared."""
        import datetime as _dt

        from app.ui.widgets.meters import when_words

        when = when_words(_dt.datetime.now(_dt.timezone.utc))
        self._mark_not_current(m, f"The read at {when} failed: {message}")

    def _mark_not_current(self, m, why: str) -> None:
        from app.ui.widgets.meters import when_words

        ro = self.readout
        if ro is not None and m is not None and ro.meter_key == m.key:
            self.header_label.setText(
                f"<span style='color:#a4001d'><b>{_esc(why)}</b></span><br>"
                f"<b>Below: the previous readout of {_esc(when_words(ro.read_at))}, not current.</b><br>"
                + (optical_header_html(ro) if getattr(ro, "optical", False) else self._header_html(ro)))
            self.table.setEnabled(False)         # greyed: not what the meter says now
            self.stale = True
            return
        self.show_readout(None)
        self.header_label.setText(f"<span style='color:#a4001d'><b>{_esc(why)}</b></span><br>"
                                  f"{_esc(m.label) if m is not None else 'The meter'}: no readout to show.")

    def _selected_changed(self, m) -> None:
        if self.task is not None and self.task.running:
            return
        ro = m.last_readout if m is not None else None
        if ro is not self.readout:
            self.show_readout(ro)

    def _sync(self) -> None:
        reading = self.task is not None and self.task.running
        self.read_button.setEnabled(self.bus.connected and not reading)
        self.history_button.setEnabled(self.bus.connected and not reading)
        has = self.readout is not None
        for b in (self.copy_button, self.csv_button, self.json_button, self.save_button):
            b.setEnabled(has)

    # -- showing ------------------------------------------------------------------------------
    def show_readout(self, ro) -> None:
        """Fill the page with a :class:`app.ui.bus.Readout` (None: empty)."""
        self.readout = ro
        self.stale = False
        self.table.setEnabled(True)
        self.table.setRowCount(0)
        self._rows = []
        self.raw_panel.clear()
        self._sync()
        if ro is None:
            sel = self.bus.selected
            if sel is not None:
                self.header_label.setText(f"<b>{_esc(sel.label)}</b>: not read yet. Press <b>Read</b> (F5).")
            else:
                self.header_label.setText("No readout yet. Pick a meter above (or on the Scan page) and press "
                                          "<b>Read</b> (F5).")
            self.vw_label.hide()
            self.history_view.set_history(None)
            return
        self.header_label.setText(optical_header_html(ro) if getattr(ro, "optical", False)
                                  else self._header_html(ro))
        h = ro.history()
        self.history_view.set_history(h, {"meter": ro.meter_key.split(".")[0], "read_at": ro.read_at})
        n_stored = len([k for k in h.dates if k > 0])
        self.tabs.setTabText(1, f"History ({n_stored} stored date{'s' if n_stored != 1 else ''})")
        vw = self._volume_weighted_html(ro)
        self.vw_label.setVisible(bool(vw))
        self.vw_label.setText(vw)
        special = {(v.telegram, v.record): v for v in ro.volume_weighted()}
        rows = []
        for ti, tg in enumerate(ro.telegrams):
            for ri, rec in enumerate(tg.records):
                rows.append((ti, ri, rec))
        self._rows = rows
        self.table.setRowCount(len(rows))
        from app.core.registers import other_modifiers, register_name

        for row, (ti, ri, rec) in enumerate(rows):
            value, unit = display_value(rec)
            quantity = register_name(rec, ro.telegrams[ti].medium)     # heat or cooling energy (MMS 1.1.13)
            vw_rec = special.get((ti, ri))
            if vw_rec is not None:
                quantity = f"{'Flow' if vw_rec.pipe == 'flow' else 'Return'} temperature × volume"
                unit = "m³·°C"
            mods = ", ".join(other_modifiers(rec))
            if rec.flags:
                mods = ", ".join(x for x in (mods, "; ".join(words(f).lower() for f in rec.flags)) if x)
            if rec.record_error and rec.record_error != "none":
                mods = ", ".join(x for x in (mods, f"error: {words(rec.record_error).lower()}") if x)
            raw = getattr(rec, "text", "") or " ".join(f"{b:02X}" for b in rec.raw)   # optical: the data set
            cells = (str(ti + 1), quantity, value, unit, str(rec.storage), str(rec.tariff), str(rec.subunit),
                     FUNCTION_WORDS.get(rec.function, rec.function), mods, raw)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (2,):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 2 and rec.value is not None:
                    item.setToolTip(f"{rec.value!r} {rec.unit} (as decoded)")
                if col == 1 and vw_rec is not None:
                    item.setToolTip(vw_rec.source)
                elif col == 1 and getattr(rec, "register", ""):
                    item.setToolTip(f"register {rec.register}")
                self.table.setItem(row, col, item)
        cap = round(260 * self.ctx.text_scale)
        for col in (2, RAW_COLUMN):
            self.table.setColumnWidth(col, min(max(self.table.sizeHintForColumn(col), 80), cap))
        self._show_raw()

    def _header_html(self, ro) -> str:
        from drivers.makes import make_name, model_name

        from app.ui.widgets.meters import medium_words, when_words

        first = ro.telegrams[0]
        make = make_name(first.manufacturer) or first.manufacturer or "?"
        model = model_name(first.manufacturer, first.version)
        ver = f"version 0x{first.version:02X}" if first.version is not None else "version ?"
        line1 = (f"<b>{_esc(make)}</b> ({_esc(first.manufacturer or '')}) · <b>{_esc(first.identification or '')}</b>"
                 f" · {(_esc(model) + ' (' + ver + ')') if model else ver} · {_esc(medium_words(first.medium))}")
        statuses = []
        for t in ro.telegrams:
            flags = t.status_flags
            words_ = status_text(flags) if flags else "OK"
            if t.application_error:
                words_ += f", application error: {words(t.application_error).lower()}"
            statuses.append((words_, t.status or 0, bool(flags or t.application_error)))
        if len({(w, st) for w, st, _bad in statuses}) == 1:
            w, st, bad = statuses[0]
            every = " (every telegram)" if len(statuses) > 1 else ""
            status = f"0x{st:02X}: " + (f"<span style='color:#8b0000'><b>{_esc(w)}</b></span>" if bad
                                        else "OK, no flags") + every
        else:
            status = "; ".join(f"telegram {i + 1}: 0x{st:02X} " + (f"<span style='color:#8b0000'><b>{_esc(w)}</b></span>"
                                                                  if bad else "OK")
                               for i, (w, st, bad) in enumerate(statuses))
        acc = [t.access_number for t in ro.telegrams if t.access_number is not None]
        acc_text = ("access no. " + (f"{acc[0]}" if len(acc) == 1 else f"{acc[0]}–{acc[-1]}")) if acc else ""
        n_rec = sum(len(t.records) for t in ro.telegrams)
        where = f"address {ro.address}" if ro.address not in (None, 253) else "secondary address"
        line2 = " · ".join(x for x in (status, acc_text) if x)
        line3 = (f"Read {when_words(ro.read_at)}: {len(ro.telegrams)} telegram{'s' if len(ro.telegrams) != 1 else ''},"
                 f" {n_rec} records · {where}, {ro.baud} Bd · {ro.elapsed_s:.1f} s")
        lines = [line1, "Status " + line2, line3]
        enc = _encryption_html(ro.telegrams)
        if enc:
            lines.append(enc)
        errs = [r for t in ro.telegrams for r in t.records if r.quantity == "error_flags" and r.value]
        if errs:
            lines.append(f"<b>Meter error flags: {', '.join(str(r.value) for r in errs)}</b>")
        return "<br>".join(lines)

    def _volume_weighted_html(self, ro) -> str:
        vws = ro.volume_weighted()
        if not vws:
            return ""
        rd = ro.readings()
        now = {"flow": rd.t_flow_c, "return": rd.t_return_c}
        parts = []
        vol = None
        for v in vws:
            pipe = "flow" if v.pipe == "flow" else "return"
            if v.average_c is None:
                parts.append(f"{pipe}: no volume to divide by")
                continue
            text = f"{pipe} <b>{v.average_c:.1f} °C</b>"
            if v.storage == 0 and now.get(v.pipe) is not None:
                text += f" (now {now[v.pipe]:.1f})"
            if v.storage:
                text += f" to stored value {v.storage}"
            if not v.plausible:
                text += " <b>— implausible: not the register the make's driver expects?</b>"
            parts.append(text)
            vol = v.volume_m3
        regs = ", ".join(f"{number_text(v.register_m3c)} m³·°C" for v in vws)
        tip = "; ".join(sorted({v.source for v in vws}))
        self.vw_label.setToolTip(f"{tip}. Average = register ÷ volume: {regs} ÷ {number_text(vol or 0)} m³.")
        return (f"<b>Volume-weighted average temperatures</b> since the meter started: " + ", ".join(parts)
                + f"<br><span style='color:#222'>Σ temperature × volume ÷ volume ({regs} ÷ "
                  f"{number_text(vol or 0)} m³; {_esc(tip)})</span>")

    def set_raw_visible(self, on: bool) -> None:
        self.table.setColumnHidden(RAW_COLUMN, not on)
        self.raw_panel.setVisible(on)
        if self.raw_button.isChecked() != on:
            self.raw_button.setChecked(on)
        self._show_raw()

    def _selection_changed(self) -> None:
        self._show_raw()

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def _show_raw(self) -> None:
        ro = self.readout
        if ro is None or not self.raw_panel.isVisible():
            return
        rows = self.selected_rows()
        ti = self._rows[rows[0]][0] if rows else 0
        frame = ro.frames[ti] if ti < len(ro.frames) else b""
        text = [f"Telegram {ti + 1} of {len(ro.frames)}: {len(frame)} bytes", hex_block(frame)]
        if rows:
            rec = self._rows[rows[0]][2]
            text += ["", f"Record {self._rows[rows[0]][1] + 1} ({words(rec.quantity)}): {len(rec.raw)} bytes",
                     hex_block(rec.raw)]
        self.raw_panel.setPlainText("\n".join(text))

    # -- copy and export ---------------------------------------------------------------------------
    def table_text(self, rows: list[int] | None = None) -> str:
        """Tab-separated text of ``rows`` (default: the selection, else every row), with a header line."""
        if rows is None:
            rows = self.selected_rows() or list(range(self.table.rowCount()))
        cols = [c for c in range(len(COLUMNS)) if not self.table.isColumnHidden(c)]
        out = ["\t".join(COLUMNS[c] for c in cols)]
        for r in rows:
            out.append("\t".join(self.table.item(r, c).text() if self.table.item(r, c) else "" for c in cols))
        return "\n".join(out) + "\n"

    def copy_selection(self) -> None:
        if self.readout is None:
            return
        QGuiApplication.clipboard().setText(self.table_text())
        n = len(self.selected_rows()) or self.table.rowCount()
        self.ctx.window and self.ctx.window.statusBar().showMessage(f"Copied {n} record{'s' if n != 1 else ''}.", 4000)

    def csv_text(self) -> str:
        buf = io.StringIO()
        from app.storage.safe_export import SafeCsvWriter

        w = SafeCsvWriter(buf, CSV_HEADER, numeric=("telegram", "record", "value", "storage", "tariff", "subunit"),
                          lineterminator="\n")
        for ti, ri, rec in self._rows:
            w.writerow([ti + 1, ri + 1, rec.quantity, "" if rec.value is None else rec.value, rec.unit, rec.storage,
                        rec.tariff, rec.subunit, rec.function, " ".join(rec.modifiers or ()), rec.raw.hex().upper()])
        return buf.getvalue()

    def export_csv(self, path: str) -> None:
        """Records in canonical units (decode contract), UTF-8 with BOM (spreadsheets open it right)."""
        from app.storage import safe_export

        with safe_export.atomic_file(path, "w", encoding="utf-8-sig", newline="") as f:
            f.write(self.csv_text())

    def export_json(self, path: str) -> None:
        """The ``heatmeter read --json`` document (telegrams and records as docs/decoder.md describes) plus the raw frames."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.readout.document(), f, ensure_ascii=False, indent=1)
            f.write("\n")

    def _ask_export(self, kind: str) -> None:
        if self.readout is None or not self.ctx.mode.interactive:
            return
        ro = self.readout
        default = f"readout-{ro.meter_key.split('.')[0]}-{ro.read_at.astimezone().strftime('%Y%m%d-%H%M%S')}.{kind}"
        filt = "CSV (*.csv)" if kind == "csv" else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export the readout as {kind.upper()}", default, filt)
        if not path:
            return
        from app.storage.errors import ExportError

        try:
            (self.export_csv if kind == "csv" else self.export_json)(path)
        except ExportError as exc:
            self.show_error(f"{exc}.")
            return
        except OSError as exc:
            self.show_error(f"Cannot write {path}: {exc.strerror or exc}.")
            return
        self.show_info(f"Exported to {path}.")

    # -- the register -------------------------------------------------------------------------------
    def save_to_register(self) -> None:
        ro = self.readout
        if ro is None:
            self.show_warning("Read the meter first.")
            return
        if not self.ctx.mode.interactive:
            return
        ctx = self.ctx
        ev = Evidence.from_readout(ro)

        def save():
            from app.storage.register import default_user

            return readouts.save_readout(ctx.register(), ev, user=default_user())
        self.run_task("Save readout to the register", save, on_finished=self._saved)

    def _saved(self, res) -> None:
        self.last_save = res
        if res.status == "saved":
            m = res.meter
            self.show_info(f"Saved to the register: {m.manufacturer} {m.serial}, readout no. {res.readout_id} "
                           f"({len(self.readout.frames)} frames kept byte for byte).")
            return
        self.show_warning(f"The register has no meter {res.label}. Add it from this readout?", action_text="Add meter",
                          action=lambda: self.ask_create(res.proposal))

    def ask_create(self, fields: dict) -> CreateMeterDialog | None:
        """The dialog to create the meter from the proposed ``fields`` (``SavedReadout.proposal``)."""
        if not self.ctx.mode.interactive:
            return None
        dlg = CreateMeterDialog(fields, self)
        dlg.accepted.connect(lambda: self.create_and_save(dlg.values()))
        self.create_dialog = dlg
        dlg.open()
        return dlg

    def create_and_save(self, fields: dict) -> None:
        ro = self.readout
        if ro is None:
            return
        ctx = self.ctx
        ev = Evidence.from_readout(ro)

        def work():
            from app.storage.register import default_user

            return readouts.create_meter_and_save(ctx.register(), ev, fields, user=default_user(), source="readout")
        self.run_task("Add meter and save readout", work, on_finished=self._saved)

    # -- page hooks -------------------------------------------------------------------------------
    def on_shown(self) -> None:
        if self.bus.connected:
            self.set_protocol(self.bus.protocol)
        sel = self.bus.selected
        if self.readout is None and sel is not None and sel.last_readout is not None:
            self.show_readout(sel.last_readout)
        self._sync()

    def refresh(self) -> bool:
        self.read_now()
        return True

    def prepare_demo(self) -> None:
        """A real two-telegram readout of the simulated Kamstrup (with its E8/E9 registers)."""
        bus = self.bus
        if not bus.connected:
            self.ctx.mode.connect_simulator()
        m = bus.meter("71234567.KAM.08.04")
        if m is not None:
            bus.select(m)
            self.read_now()
            return
        task = bus.read_address(address=1, origin=self)

        def done(ro) -> None:
            bus.select(ro.meter_key)
            self.show_readout(ro)
        task.finished.connect(done)


def _esc(s: str) -> str:
    return (s or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _encryption_html(telegrams) -> str:
    """One line about encryption (MMS 2.3.4): decrypted with the meter's key, or records withheld and why."""
    modes = [t.security_mode for t in telegrams if t.security_mode not in (None, 0)]
    if not modes:
        return ""
    mode = "ELL AES-128-CTR" if modes[0] == "ell_ctr" else f"security mode {modes[0]}"
    withheld = [t for t in telegrams if t.security_reason]
    if not withheld:
        return f"Encrypted (AES-128, {_esc(mode)}): decrypted with the meter's key from the key store."
    reason = withheld[0].security_reason
    what = ("no key for this meter in the key store: import it on the Radio page (Keys…)" if reason == "no key"
            else _esc(reason))
    return (f"<span style='color:#8b0000'><b>Encrypted ({_esc(mode)}): records withheld</b></span> — {what}.")

