"""The Register page: every meter of every site, filtered, edited in place, imported, exported.

The table is a window onto the ordered ids of the matching meters
(:mod:`app.ui.register.model`): it opens with the first rows and the count,
then the in-memory index (:class:`app.storage.browse.BrowseIndex`) arrives and
filtering, sorting and the counts in the filter lists run on it in a worker;
rows are fetched a page at a time by id. The meter page (installations,
commissioning evidence, calibration, lots, event log, data-protection
actions) opens on Enter or a double-click.
"""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QFrame, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu,
    QMessageBox, QPushButton, QSizePolicy, QStackedWidget, QStyledItemDelegate, QTableView, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.ui.pages.base import Page

SEARCH_DELAY_MS = 250
ANY = ""


class _ChoiceDelegate(QStyledItemDelegate):
    """A combo box for the columns with a fixed set of values (status, flow sensor position)."""

    CHOICES = {"status": ("in_service", "removed", "spare", "in_repair", "at_lab", "scrapped"),
               "flow_sensor_position": ("", "flow", "return")}

    def __init__(self, fields: tuple[str, ...], parent=None) -> None:
        super().__init__(parent)
        self.fields = fields

    def createEditor(self, parent, option, index):  # noqa: N802
        field = self.fields[index.column()]
        if field in self.CHOICES:
            box = QComboBox(parent)
            box.addItems(list(self.CHOICES[field]))
            return box
        return super().createEditor(parent, option, index)

    def setEditorData(self, editor, index):  # noqa: N802
        if isinstance(editor, QComboBox):
            editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole) or "")
            return
        super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):  # noqa: N802
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
            return
        super().setModelData(editor, model, index)


class RegisterPage(Page):
    name = "register"
    title = "Register"
    icon = "register"
    summary = "All meters of all sites, for their whole life."

    # -- building ------------------------------------------------------------------
    def build(self) -> None:
        from app.storage.browse import Filters
        from app.ui.register.model import COLUMNS, FIELDS, MeterTableModel
        from app.ui.workers import TaskRunner

        self.filters = Filters()
        self.sort_key, self.sort_desc = "manufacturer", False
        self.index = None          # BrowseIndex once loaded
        self.due_map = None
        self.total = 0
        self._apply_gen = 0
        self._pending_apply = False
        self._loading = False
        self._loaded_once = False
        self.last_conflict: dict[str, Any] | None = None
        self.last_import_report = None
        self._import_path: str | None = None
        self.rows_runner = TaskRunner(self, max_threads=2)  # row pages: quick, not shown in the status bar

        self.stack = QStackedWidget(self.body)
        self.body_layout.addWidget(self.stack, 1)
        listing = QWidget(self.stack)
        lay = QVBoxLayout(listing)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.stack.addWidget(listing)

        # filters: the search box on the row of the filter lists; at the larger-text setting it gets
        # a row of its own (above them) so that the lists keep room for their words
        self.search_row = QHBoxLayout()
        self.search_row.setSpacing(8)
        lay.addLayout(self.search_row)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.filter_row = row
        self.search = QLineEdit(listing)
        self.search.setPlaceholderText("Search make, model, serial, address, location, site…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Every word must appear in the make, model, serial, secondary address, location, "
                               "site, building or monitoring point")
        self.search.setMinimumWidth(150)
        row.addWidget(self.search, 2)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.apply_filters)
        self.combos: dict[str, QComboBox] = {}
        for key, word in (("site", "All sites"), ("make", "All makes"), ("model", "All models"),
                          ("status", "Any status"), ("due", "Any due state")):
            box = QComboBox(listing)
            box.setObjectName(f"filter_{key}")
            box.addItem(word, ANY)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(5)
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            box.setMinimumWidth(90)
            box.setToolTip(f"Filter by {key if key != 'due' else 'due state (maintenance schedule)'}; "
                           "the number is how many meters that choice shows")
            box.currentIndexChanged.connect(lambda _i, k=key: self._combo_changed(k))
            self.combos[key] = box
            row.addWidget(box, 1)
        self.clear_button = QPushButton("Clear", listing)
        self.clear_button.setToolTip("Clear every filter (Ctrl+Shift+L)")
        self.clear_button.clicked.connect(self.clear_filters)
        row.addWidget(self.clear_button)
        lay.addLayout(row)

        # actions
        row = QHBoxLayout()
        row.setSpacing(8)
        self.count_label = QLabel("Opening the register…", listing)
        self.count_label.setObjectName("RegisterCount")
        f = self.count_label.font()
        f.setBold(True)
        self.count_label.setFont(f)
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.count_label, 1)
        self.open_button = QPushButton("Open meter", listing)
        self.open_button.setToolTip("The meter page: installations, commissioning, calibration, lots, event log (Enter)")
        self.open_button.clicked.connect(self.open_current)
        row.addWidget(self.open_button)
        self.import_button = QPushButton("Import…", listing)
        self.import_button.setToolTip("Import meters from a CSV or XLSX file (Ctrl+I)")
        self.import_button.clicked.connect(self.ask_import)
        row.addWidget(self.import_button)
        self.export_button = QPushButton("Export", listing)
        menu = QMenu(self.export_button)
        menu.addAction("CSV of the meters shown…", lambda: self.ask_export("csv"))
        menu.addAction("XLSX of the meters shown…", lambda: self.ask_export("xlsx"))
        self.export_button.setMenu(menu)
        row.addWidget(self.export_button)
        self.reports_button = QPushButton("Reports", listing)
        menu = QMenu(self.reports_button)
        menu.addAction("HNTAS evidence pack (E27, E28)…", self.ask_evidence)
        menu.addAction("Personal data export (MMS 2.2.1)…", self.ask_personal_export)
        self.reports_button.setMenu(menu)
        row.addWidget(self.reports_button)
        self.work_button = QPushButton("Record work", listing)
        self.work_button.setToolTip("Recalibration, battery change, replacement or no access, for the selected "
                                    "meters on one date; or a lab's or contractor's results file")
        menu = QMenu(self.work_button)
        menu.addAction("For the selected meters…", self.ask_work)
        menu.addAction("Import lab or contractor results…", self.ask_import_results)
        self.work_button.setMenu(menu)
        row.addWidget(self.work_button)
        lay.addLayout(row)

        # bad rows of the last import
        self.bad_rows = QFrame(listing)
        self.bad_rows.setObjectName("BadRows")
        self.bad_rows.setFrameShape(QFrame.Shape.StyledPanel)
        bl = QVBoxLayout(self.bad_rows)
        bl.setContentsMargins(10, 8, 10, 8)
        self.bad_rows_label = QLabel(self.bad_rows)
        self.bad_rows_label.setWordWrap(True)
        bl.addWidget(self.bad_rows_label)
        self.bad_rows_table = QTableWidget(0, 2, self.bad_rows)
        self.bad_rows_table.setHorizontalHeaderLabels(["Line", "Reason"])
        self.bad_rows_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.bad_rows_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.bad_rows_table.verticalHeader().setVisible(False)
        self.bad_rows_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.bad_rows_table.setMaximumHeight(170)
        bl.addWidget(self.bad_rows_table)
        br = QHBoxLayout()
        for text, slot, tip in (
                ("Open the file", self.open_import_file, "Open it in the program that edits it, fix the lines, save"),
                ("Import again", lambda: self.start_import(self._import_path, False), "After fixing the file"),
                ("Import the valid rows only", lambda: self.start_import(self._import_path, True),
                 "Store the valid rows; the lines listed stay out"),
                ("Close", self.bad_rows.hide, "")):
            b = QPushButton(text, self.bad_rows)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            br.addWidget(b)
        br.addStretch(1)
        bl.addLayout(br)
        self.bad_rows.hide()
        lay.addWidget(self.bad_rows)

        # the table
        self.model = MeterTableModel(self)
        self.model.request_rows.connect(self._fetch_rows)
        self.model.edit_requested.connect(self._save_edit)
        self.model.edit_refused.connect(lambda text: self.show_error(text))
        self.view = QTableView(listing)
        self.view.setObjectName("RegisterTable")
        self.view.setModel(self.model)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setWordWrap(False)
        self.view.setItemDelegate(_ChoiceDelegate(FIELDS, self.view))
        vh = self.view.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setVisible(False)
        hh = self.view.horizontalHeader()
        hh.setSectionsClickable(True)
        hh.setSortIndicatorShown(True)
        hh.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        hh.sortIndicatorChanged.connect(self._sort_changed)
        hh.setHighlightSections(False)
        widths = {"manufacturer": 100, "model": 120, "serial": 95, "site": 165, "building": 78, "location": 180,
                  "monitoring_point": 55, "status": 95, "due": 135, "due_date": 100, "install_date": 95,
                  "qp_m3h": 75, "qp_qi_ratio": 60, "dn": 45, "mid_class": 55, "secondary_address": 140,
                  "primary_address": 70, "battery_expiry": 100, "flow_sensor_position": 95, "notes": 200, "key": 55}
        self._widths = [widths.get(field, 100) for field, _h in COLUMNS]
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.activated.connect(lambda i: self.open_meter(self.model.id_at(i.row())))
        lay.addWidget(self.view, 1)

        from app.ui.register.meter import MeterView

        self.meter_view = MeterView(self, self.stack)
        self.stack.addWidget(self.meter_view)

        self.make_action("Search the register", self.search.setFocus, "Ctrl+F")
        self.make_action("Clear the filters", self.clear_filters, "Ctrl+Shift+L")
        self.make_action("Open the selected meter (or Enter in the table)", self.open_current, "Ctrl+O")
        self.make_action("Back to all meters", self.show_list, "Alt+Left")
        self.make_action("Import a CSV or XLSX file", self.ask_import, "Ctrl+I")
        self.make_action("Export the meters shown as CSV", lambda: self.ask_export("csv"), "Ctrl+E")
        self.on_text_scale_changed(self.ctx.text_scale)

    # -- page hooks ------------------------------------------------------------------
    def on_shown(self) -> None:
        if self._loaded_once or self._loading:
            return
        if not self.ctx.mode.has_register:
            self.count_label.setText("No register opened (screenshot without --demo or --db).")
            return
        self.load()

    def refresh(self) -> bool:
        if self.stack.currentWidget() is self.meter_view:
            self.meter_view.reload()
        else:
            self.load()
        return True

    def prepare_demo(self) -> None:
        if not self._loaded_once and not self._loading:
            self.load()

    def can_leave(self) -> bool:
        return True

    def on_text_scale_changed(self, scale: float) -> None:
        m = self.ctx.metrics
        own_row = scale > 1.0
        if own_row and self.filter_row.indexOf(self.search) >= 0:
            self.filter_row.removeWidget(self.search)
            self.search_row.addWidget(self.search, 1)
        elif not own_row and self.search_row.indexOf(self.search) >= 0:
            self.search_row.removeWidget(self.search)
            self.filter_row.insertWidget(0, self.search, 2)
        self.view.verticalHeader().setDefaultSectionSize(max(30, round(32 * scale)))
        for i, w in enumerate(self._widths):
            self.view.setColumnWidth(i, round(w * scale))
        for w in (self.search, *self.combos.values()):
            w.setMinimumHeight(m.input_height)
        for b in (self.clear_button, self.open_button, self.import_button, self.export_button, self.reports_button):
            b.setMinimumHeight(m.target)

    # -- loading -----------------------------------------------------------------------
    def register(self):
        """The open register (call from a worker)."""
        return self.ctx.register()

    def load(self) -> None:
        """Open the register: the first rows and the count at once, then the index and the schedule."""
        from app.storage.browse import first_page
        from app.ui.register.model import PAGE

        self._loading = True
        self.index = None
        self.model.clear_cache()
        filters = self.filters

        def work():
            reg = self.register()
            return first_page(reg, filters.without("due"), PAGE * 2)

        self.count_label.setText("Opening the register…")
        self.run_task("Opening the register", work, on_finished=self._first_page, on_failed=self._load_failed,
                      report_errors=False)

    def _load_failed(self, message: str) -> None:
        self._loading = False
        self.count_label.setText("The register could not be opened.")
        self.banner.clear()
        self.show_error(f"Cannot open the register: {message}. Nothing was changed; check the database and retry.",
                        action_text="Retry", action=self.load)

    def _first_page(self, result) -> None:
        from app.storage.browse import BrowseIndex

        records, total = result
        self._loaded_once = True
        if not self.filters.due and self.sort_key == "manufacturer" and not self.sort_desc:
            self.model.set_placeholder(records, total)
        self.total = total
        self._show_count(total if not self.filters.due else None)

        def work():
            return BrowseIndex.load(self.register())

        self.run_task("Indexing the register", work, on_finished=self._index_loaded, on_failed=self._load_failed,
                      report_errors=False)

    def _index_loaded(self, index) -> None:
        self.index = index
        self._loading = False
        self.total = len(index) - index.restricted_count()
        self.apply_filters()
        self.load_schedule()
        self.load_key_index()

    def load_key_index(self) -> None:
        """Which meters have a key in the key store (the Key column; ids only, no passphrase needed)."""
        keys = self.ctx.keys
        if not getattr(self, "_keys_connected", False):
            keys.changed.connect(self.load_key_index)
            self._keys_connected = True
        self.run_task("Key store", keys.key_index, on_finished=self.model.set_key_index, report_errors=False)

    def load_schedule(self) -> None:
        from app.storage.browse import due_states

        def work():
            return due_states(self.register())

        self.run_task("Maintenance schedule", work, on_finished=self._schedule_loaded, report_errors=False,
                      on_failed=lambda m: self.show_warning(f"Due states not shown: {m}"))

    def _schedule_loaded(self, due_map) -> None:
        self.due_map = due_map
        self.model.set_due_map(due_map)
        if self.filters.due or self.sort_key in ("due", "due_date"):
            self.apply_filters()
        else:
            self._refresh_facets()

    # -- filtering -----------------------------------------------------------------------
    def _combo_changed(self, key: str) -> None:
        if getattr(self, "_updating_combos", False):
            return
        self.apply_filters()

    def current_filters(self):
        from app.storage.browse import Filters

        def val(k):
            return self.combos[k].currentData() or None

        return Filters(site=val("site"), make=val("make"), model=val("model"), status=val("status"),
                       search=self.search.text().strip() or None, due=val("due"))

    def set_filters(self, **values: Any) -> None:
        """Set filters programmatically (search=, site=, make=, model=, status=, due=) and apply them."""
        self._updating_combos = True
        try:
            for k, v in values.items():
                if k == "search":
                    self.search.setText(v or "")
                    self._search_timer.stop()
                    continue
                box = self.combos[k]
                i = box.findData(v or ANY)
                if i < 0:
                    box.addItem(str(v), v)
                    i = box.count() - 1
                box.setCurrentIndex(i)
        finally:
            self._updating_combos = False
        self.apply_filters()

    def clear_filters(self) -> None:
        self.set_filters(search="", site=None, make=None, model=None, status=None, due=None)

    def apply_filters(self) -> None:
        """Run the filters and the sort on the index (in a worker); the table follows."""
        self._search_timer.stop()
        self.filters = self.current_filters()
        if self.index is None:
            self._pending_apply = True
            return
        self._pending_apply = False
        if self.filters.due and self.due_map is None:
            self.count_label.setText("Waiting for the maintenance schedule…")
            return
        self._apply_gen += 1
        gen = self._apply_gen
        index, filters, key, desc, due = self.index, self.filters, self.sort_key, self.sort_desc, self.due_map
        from app.storage.browse import meters_by_id
        from app.ui.register.model import PAGE

        def work():
            ids = index.select(filters, sort=key, descending=desc, due_map=due)
            first = ids[:PAGE]
            return ids, meters_by_id(self.register(), first)

        self.run_task("Filtering the register", work, on_finished=lambda r: self._filtered(gen, r),
                      report_errors=False, on_failed=lambda m: self.show_error(f"Filter not applied: {m}"))

    def _filtered(self, gen: int, result) -> None:
        if gen != self._apply_gen:
            return  # a later filter is on its way
        ids, first = result
        self.model.set_ids(ids, first)
        self._show_count(len(ids))
        self._refresh_facets()

    def _show_count(self, shown: int | None) -> None:
        total = self.total
        if shown is None or (shown == total and not self.filters.active):
            text = f"{total:,} meters"
        else:
            text = f"{shown:,} of {total:,} meters"
        restricted = self.restricted_count()
        if restricted:
            text += f" ({restricted:,} under restricted processing not shown)"
        self.count_label.setText(text)

    def restricted_count(self) -> int:
        if self.index is None:
            return 0
        return self.index.restricted_count()

    def _refresh_facets(self) -> None:
        if self.index is None:
            return
        index, filters, due = self.index, self.filters, self.due_map

        def work():
            return index.facets(filters, due_map=due)

        self.run_task("Counting", work, on_finished=self._facets_ready, report_errors=False)

    def _facets_ready(self, facets: dict[str, dict[str, int]]) -> None:
        from app.ui.register.model import DUE_WORDS, STATUS_WORDS

        self._updating_combos = True
        try:
            for key, box in self.combos.items():
                counts = facets.get(key)
                if counts is None:
                    box.setEnabled(key != "due")
                    continue
                box.setEnabled(True)
                current = box.currentData()
                first = box.itemText(0)
                box.clear()
                box.addItem(first, ANY)
                for value, n in counts.items():
                    if key == "due" and n == 0 and value != current:
                        continue
                    label = {"status": STATUS_WORDS, "due": DUE_WORDS}.get(key, {}).get(value, value)
                    if key == "due" and value == "not_scheduled":
                        label = "Not scheduled"
                    if key == "due" and value == "in_service":
                        label = "Not due (in service)"
                    box.addItem(f"{label} ({n:,})", value)
                i = box.findData(current or ANY)
                if i < 0 and current:
                    box.addItem(f"{current} (0)", current)
                    i = box.count() - 1
                box.setCurrentIndex(max(0, i))
        finally:
            self._updating_combos = False

    def _sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        from app.storage.browse import SORT_KEYS

        key = self.model.sort_key(column)
        if key not in SORT_KEYS and key not in ("due", "due_date"):
            return
        self.sort_key, self.sort_desc = key, order == Qt.SortOrder.DescendingOrder
        self.apply_filters()

    # -- rows ----------------------------------------------------------------------------
    def _fetch_rows(self, generation: int, ids: list[int]) -> None:
        from app.storage.browse import meters_by_id

        def work():
            return meters_by_id(self.register(), ids)

        self.rows_runner.start("Rows", work, on_finished=lambda recs: self.model.add_records(generation, recs),
                               report_errors=False,
                               on_failed=lambda m: self.show_error(f"Rows not loaded: {m}", action_text="Retry",
                                                                   action=lambda: self.model.forget(ids)))

    # -- editing -------------------------------------------------------------------------
    def _save_edit(self, rec, changes: dict[str, Any]) -> None:
        from app.storage.errors import ConflictError

        user = None

        def work():
            reg = self.register()
            try:
                return "saved", reg.update_meter(rec.id, changes, expected_version=rec.version, user=user)
            except ConflictError as exc:
                return "conflict", exc

        what = ", ".join(f"{k} = {v if v is not None else '(empty)'}" for k, v in changes.items()
                         if k != "install_year_only")
        self.run_task(f"Saving {rec.label}", work, report_errors=False,
                      on_finished=lambda r: self._saved(rec, changes, r),
                      on_failed=lambda m: self._save_failed(rec, changes, what, m))

    def _saved(self, rec, changes, result) -> None:
        kind, value = result
        self.model.saving.discard(rec.id)
        if kind == "saved":
            self.model.replace_record(value)
            if self.index is not None:
                self.index.update(value)
            self.last_conflict = None
            return
        exc = value
        self.last_conflict = {"meter": rec, "yours": changes, "changes": exc.changes, "message": str(exc)}
        self.model.replace_record(rec)
        self.show_error(f"Not saved: {exc}", action_text="Reload", action=lambda: self.reload_meter(rec.id))

    def _save_failed(self, rec, changes, what: str, message: str) -> None:
        self.model.saving.discard(rec.id)
        self.model.replace_record(rec)
        self.show_error(f"{rec.label}: {what} not saved: {message}. Your value is kept here: retry when the "
                        "database is back.", action_text="Retry", action=lambda: self._save_edit(rec, changes))

    def reload_meter(self, meter_id: int) -> None:
        """Fetch one meter again (after a conflict): the table shows what is stored now."""
        def work():
            return self.register().get_meter(meter_id)

        def done(rec):
            self.model.replace_record(rec)
            if self.index is not None:
                self.index.update(rec)
            self.show_info(f"{rec.label} reloaded (version {rec.version}): apply your change again if it still "
                           "stands.")

        self.run_task("Reloading a meter", work, on_finished=done)

    # -- recording work ------------------------------------------------------------------------
    def selected_records(self) -> list:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [r for r in (self.model.record_at(i) for i in rows) if r is not None]

    def ask_work(self, kind: str = "recalibrate") -> None:
        from app.ui.register import work

        work.ask(self, self, self.selected_records(), kind, on_done=lambda _r: self.load())

    def ask_import_results(self) -> None:
        from app.ui.register import work

        path = self.ask_file(False, "Lab or contractor results (a filled-in job list)",
                             "Job lists (*.csv *.xlsx);;All files (*)")
        if path:
            work.import_results(self, path, on_done=lambda _r: self.load())

    # -- meter page -------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        ids = [self.model.id_at(r) for r in rows]
        return [i for i in ids if i is not None]

    def _double_clicked(self, index) -> None:
        from app.storage.browse import EDITABLE_FIELDS
        from app.ui.register.model import FIELDS

        if FIELDS[index.column()] not in EDITABLE_FIELDS:
            self.open_meter(self.model.id_at(index.row()))

    def open_current(self) -> None:
        idx = self.view.currentIndex()
        mid = self.model.id_at(idx.row()) if idx.isValid() else None
        if mid is None:
            ids = self.selected_ids()
            mid = ids[0] if ids else None
        if mid is None:
            self.show_info("Select a meter first (click a row), then open it.")
            return
        self.open_meter(mid)

    def open_meter(self, meter_id: int | None) -> None:
        if meter_id is None:
            return
        self.meter_view.show_meter(meter_id)
        self.stack.setCurrentWidget(self.meter_view)

    def show_list(self) -> None:
        self.stack.setCurrentWidget(self.stack.widget(0))
        self.view.setFocus()

    def meter_changed(self, rec) -> None:
        """The meter page saved something: keep the table and the index in step."""
        self.model.replace_record(rec)
        if self.index is not None and self.index.update(rec) and rec.restrict_processing:
            self.apply_filters()

    def select_row(self, row: int) -> None:
        idx = self.model.index(row, 0)
        self.view.setCurrentIndex(idx)
        self.view.selectionModel().select(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                          | QItemSelectionModel.SelectionFlag.Rows)
        self.view.scrollTo(idx)

    # -- import / export -------------------------------------------------------------------
    def ask(self, title: str, text: str, ok: str = "OK") -> bool:
        """A yes/no confirmation (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, self)
        yes = box.addButton(ok, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is yes

    def ask_file(self, save: bool, caption: str, filters: str, suggested: str = "") -> str | None:
        """A file name from the user (tests replace it)."""
        folder = self.recall("folder", os.path.expanduser("~"), str)
        start = os.path.join(folder, suggested) if suggested else folder
        if save:
            path, _f = QFileDialog.getSaveFileName(self, caption, start, filters)
        else:
            path, _f = QFileDialog.getOpenFileName(self, caption, start, filters)
        if path:
            self.remember("folder", os.path.dirname(path))
        return path or None

    def ask_import(self) -> None:
        self.open_import_wizard()

    def open_import_wizard(self, path: str | None = None):
        """The import wizard (file, preview, columns, dates and numbers, check, store): nothing is
        stored before the user confirmed the counts of what will and will not be."""
        from app.ui.register.import_wizard import ImportWizard

        self.import_wizard = ImportWizard(self, path)
        self.import_wizard.open()
        if path:
            self.import_wizard.read_preview()
        return self.import_wizard

    def start_import(self, path: str | None, skip_invalid: bool) -> None:
        """Import a file in the register's own format: all rows or none; with ``skip_invalid`` the
        file is checked first and the valid rows are stored only after the user agreed to the counts."""
        if not path:
            return
        from app.storage.errors import InvalidRows

        self._import_path = path
        if skip_invalid:
            self._check_then_store(path)
            return

        def work(progress):
            reg = self.register()
            try:
                return reg.import_file(path, progress=lambda d, t: progress(d, t, "rows written"))
            except InvalidRows as exc:
                return exc

        self.bad_rows.hide()
        self.run_task(f"Importing {os.path.basename(path)}", work, on_finished=self._imported)

    def _check_then_store(self, path: str) -> None:
        from app.ui.register.import_wizard import check_then_store

        check_then_store(self, path)

    def _imported(self, result) -> None:
        from app.storage.errors import InvalidRows

        if isinstance(result, InvalidRows):
            report = result.report
            self.last_import_report = report
            self._show_bad_rows(report, stored=False)
            n = len(report.invalid)
            self.show_error(f"{report.file}: {n} invalid row{'s' if n != 1 else ''}; nothing was stored. "
                            "The lines are listed below the buttons.")
            return
        report = result
        self.last_import_report = report
        parts = [f"{report.created:,} new", f"{report.updated:,} updated", f"{report.unchanged:,} unchanged"]
        if report.moved:
            parts.append(f"{report.moved:,} moved")
        text = f"{report.file}: {', '.join(parts)}"
        if report.invalid:
            self._show_bad_rows(report, stored=True)
            text += f"; {len(report.invalid)} invalid rows left out (listed below)"
        self.show_info(text + ".")
        self.load()

    def _show_bad_rows(self, report, *, stored: bool) -> None:
        n = len(report.invalid)
        head = (f"{report.file}: {n} invalid row{'s' if n != 1 else ''}. "
                + ("The valid rows were stored; these were left out." if stored else
                   "Nothing was stored. Fix these lines in the file and import again, or import the valid rows only.")
                + (f" By reason: {report.problem_text()}." if getattr(report, "problems", None) else ""))
        self.bad_rows_label.setText(head)
        t = self.bad_rows_table
        t.setRowCount(n)
        for i, (line, reason) in enumerate(report.invalid):
            a = QTableWidgetItem(str(line))
            a.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(i, 0, a)
            t.setItem(i, 1, QTableWidgetItem(reason))
        self.bad_rows.show()

    def open_import_file(self) -> None:
        if self._import_path:
            self.open_file(self._import_path)

    def open_file(self, path: str) -> None:
        """Open a file in the program the desktop uses for it (tests replace it)."""
        if self.ctx.mode.interactive:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def ask_export(self, kind: str) -> None:
        stamp = dt.date.today().isoformat()
        path = self.ask_file(True, f"Export {kind.upper()}", "CSV (*.csv)" if kind == "csv" else "Excel (*.xlsx)",
                             f"meters-{stamp}.{kind}")
        if path:
            self.start_export(path, kind)

    def start_export(self, path: str, kind: str) -> None:
        f = self.filters
        only_site = not (f.make or f.model or f.status or f.search or f.due)
        ids = None if only_site else self.model.ids()
        site = f.site if only_site else None

        def work():
            reg = self.register()
            if kind == "xlsx":
                return reg.export_xlsx(path, site=site, meter_ids=ids)
            return reg.export_csv(path, site=site, meter_ids=ids)

        self.run_task(f"Exporting {os.path.basename(path)}", work,
                      on_finished=lambda n: self.show_info(f"{n:,} meters written to {path}."))

    # -- reports ----------------------------------------------------------------------------
    def ask_evidence(self) -> None:
        from app.ui.reports.dialogs import EvidenceDialog

        EvidenceDialog(self, site=self.filters.site).open()

    def ask_personal_export(self, meter_ids: list[int] | None = None) -> None:
        from app.ui.reports.dialogs import PersonalExportDialog

        ids = meter_ids if meter_ids is not None else self.selected_ids()
        PersonalExportDialog(self, meter_ids=ids, site=self.filters.site).open()
