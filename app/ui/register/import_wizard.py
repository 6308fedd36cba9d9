"""The import wizard of the Register page: a real export in, and nothing stored without the user's word.

Steps: 1 the file, 2 the first rows as read (encoding, separator, header row),
3 the columns (register column per file column, guesses from the header text,
saved profiles, personal columns marked), 4 dates and numbers (day/month order
and decimal mark, only asked when the file needs them), 5 the check (a dry run
of the whole import: what will be stored and what will not, by reason, with
counts), 6 storing, after the user confirmed those counts. Reading, checking
and storing run in workers with progress and Cancel; the import itself is the
register's (``Register.import_file``) with the counts agreed to
(``expect_invalid``), so a file changed meanwhile stores nothing.
"""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QComboBox, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog,
    QLabel, QLineEdit, QProgressBar, QPushButton, QRadioButton, QSpinBox, QStackedWidget, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.ui.register.import_columns import ColumnMap

STEPS = ("File", "Preview", "Columns", "Dates and numbers", "Check", "Store")
ORDERS = (("dmy", "day/month/year (18/02/2014 is 18 February 2014)"),
          ("mdy", "month/day/year (02/18/2014 is 18 February 2014)"),
          ("ymd", "year/month/day (2014/02/18 is 18 February 2014)"))
DECIMALS = (("auto", "Automatic: a comma is a decimal mark unless commas separate the cells"),
            ("comma", "Comma: 1,5 is one and a half (a point is refused as ambiguous)"),
            ("point", "Point: 1.5 is one and a half (a comma is refused)"))


class ImportWizard(QDialog):
    """The wizard (see the module's notes). ``page`` is the Register page: its context, its task
    runner and its reload after storing."""

    def __init__(self, page, path: str | None = None, profiles=None) -> None:
        super().__init__(page)
        from app.storage.import_preview import ImportProfiles

        self.page = page
        self.ctx = page.ctx
        self.profiles = profiles if profiles is not None else ImportProfiles()
        self.setWindowTitle("Import meters")
        self.setObjectName("ImportWizard")
        self.resize(1040, 680)
        self.preview = None           # import_preview.Preview
        self.report = None            # the dry run's ImportReport
        self.stored = None            # the import's ImportReport
        self.task = None
        self.date_order: str | None = None
        self.decimal = "auto"
        outer = QVBoxLayout(self)
        self.step_label = QLabel(self)
        self.step_label.setObjectName("ImportStep")
        f = QFont(self.step_label.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.25)
        self.step_label.setFont(f)
        outer.addWidget(self.step_label)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setObjectName("ImportMessage")
        outer.addWidget(self.message)
        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack, 1)
        for build in (self._build_file, self._build_preview, self._build_columns, self._build_options,
                      self._build_check, self._build_store):
            self.stack.addWidget(build())
        buttons = QHBoxLayout()
        self.back_button = QPushButton("Back", self)
        self.back_button.clicked.connect(self.back)
        self.cancel_button = QPushButton("Close", self)
        self.cancel_button.clicked.connect(self.close_or_cancel)
        self.next_button = QPushButton("Next", self)
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next)
        for b in (self.back_button, self.cancel_button, self.next_button):
            b.setMinimumHeight(36)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.next_button)
        outer.addLayout(buttons)
        if path:
            self.path_edit.setText(path)
        self.go(0)

    # ---- the steps ---------------------------------------------------------------------------
    def _page(self) -> tuple[QWidget, QVBoxLayout]:
        w = QWidget(self)
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 6, 0, 6)
        return w, lay

    def _build_file(self) -> QWidget:
        w, lay = self._page()
        lay.addWidget(QLabel("The meters file: CSV (comma, semicolon or tab separated; UTF-8, UTF-16 or "
                             "Windows-1252) or an Excel workbook (.xlsx, its first sheet).", w))
        row = QHBoxLayout()
        self.path_edit = QLineEdit(w)
        self.path_edit.setPlaceholderText("Choose a file…")
        self.path_edit.textChanged.connect(lambda _t: self._update_buttons())
        row.addWidget(self.path_edit, 1)
        choose = QPushButton("Choose file…", w)
        choose.setMinimumHeight(36)
        choose.clicked.connect(self.choose_file)
        row.addWidget(choose)
        lay.addLayout(row)
        lay.addStretch(1)
        return w

    def _build_preview(self) -> QWidget:
        w, lay = self._page()
        self.reading_label = QLabel(w)
        self.reading_label.setWordWrap(True)
        lay.addWidget(self.reading_label)
        self.preview_table = QTableWidget(0, 0, w)
        self.preview_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        lay.addWidget(self.preview_table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Header row:", w))
        self.header_spin = QSpinBox(w)
        self.header_spin.setRange(0, 50)
        self.header_spin.setSpecialValueText("found")
        self.header_spin.setToolTip("The row holding the column names (found: the first row that looks like one)")
        row.addWidget(self.header_spin)
        again = QPushButton("Read again", w)
        again.clicked.connect(self.read_preview)
        row.addWidget(again)
        row.addStretch(1)
        lay.addLayout(row)
        return w

    def _build_columns(self) -> QWidget:
        w, lay = self._page()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Saved mapping:", w))
        self.profile_box = QComboBox(w)
        self.profile_box.setMinimumWidth(220)
        self.profile_box.activated.connect(self.apply_profile)
        bar.addWidget(self.profile_box)
        for text, slot in (("Save as…", self.save_profile), ("Export…", self.export_mapping),
                           ("Import…", self.import_mapping)):
            b = QPushButton(text, w)
            b.clicked.connect(slot)
            bar.addWidget(b)
        bar.addStretch(1)
        lay.addLayout(bar)
        self.columns = ColumnMap(w)
        self.columns.changed.connect(self._update_buttons)
        lay.addWidget(self.columns, 1)
        return w

    def _build_options(self) -> QWidget:
        w, lay = self._page()
        self.dates_label = QLabel(w)
        self.dates_label.setWordWrap(True)
        lay.addWidget(self.dates_label)
        self.order_group = QButtonGroup(w)
        self.order_buttons = {}
        for key, text in ORDERS:
            b = QRadioButton(text, w)
            self.order_group.addButton(b)
            self.order_buttons[key] = b
            lay.addWidget(b)
            b.toggled.connect(self._update_buttons)
        self.numbers_label = QLabel(w)
        self.numbers_label.setWordWrap(True)
        lay.addWidget(self.numbers_label)
        self.decimal_buttons = {}
        group = QButtonGroup(w)
        for key, text in DECIMALS:
            b = QRadioButton(text, w)
            group.addButton(b)
            self.decimal_buttons[key] = b
            lay.addWidget(b)
        self.decimal_buttons["auto"].setChecked(True)
        lay.addStretch(1)
        return w

    def _build_check(self) -> QWidget:
        w, lay = self._page()
        self.check_progress = QProgressBar(w)
        lay.addWidget(self.check_progress)
        self.summary_label = QLabel(w)
        self.summary_label.setWordWrap(True)
        self.summary_label.setObjectName("ImportSummary")
        lay.addWidget(self.summary_label)
        self.problems_table = QTableWidget(0, 3, w)
        self.problems_table.setHorizontalHeaderLabels(["Not stored, because", "Rows", "First lines"])
        hh = self.problems_table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.problems_table.verticalHeader().setVisible(False)
        self.problems_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        lay.addWidget(self.problems_table, 1)
        return w

    def _build_store(self) -> QWidget:
        w, lay = self._page()
        self.store_progress = QProgressBar(w)
        lay.addWidget(self.store_progress)
        self.store_label = QLabel(w)
        self.store_label.setWordWrap(True)
        lay.addWidget(self.store_label)
        lay.addStretch(1)
        return w

    # ---- navigation ----------------------------------------------------------------------------
    def current(self) -> int:
        return self.stack.currentIndex()

    def go(self, step: int) -> None:
        self.stack.setCurrentIndex(step)
        self.step_label.setText(f"Step {step + 1} of {len(STEPS)}: {STEPS[step]}")
        self.message.setText("")
        if step == 2:
            self._show_columns()
        elif step == 3:
            self._show_options()
        self._update_buttons()

    def next(self) -> None:
        step = self.current()
        if step == 0:
            self.read_preview()
        elif step == 1:
            self.go(2)
        elif step == 2:
            self.go(3)
        elif step == 3:
            self.run_check()
        elif step == 4:
            self.store()
        elif step == 5:
            self.accept()

    def back(self) -> None:
        if self.task is None and 0 < self.current() < 5:
            self.go(self.current() - 1)

    def close_or_cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            return
        self.reject()

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.task is not None:
            self.task.cancel()
        super().closeEvent(event)

    def _update_buttons(self) -> None:
        step, busy = self.current(), self.task is not None
        self.back_button.setEnabled(not busy and 0 < step < 5)
        self.cancel_button.setText("Cancel" if busy else ("Close" if step == 5 else "Cancel import"))
        ok = not busy
        if step == 0:
            ok = ok and bool(self.path_edit.text().strip())
            self.next_button.setText("Read the file")
        elif step == 2:
            ok = ok and not self.columns.problems()
            self.next_button.setText("Next")
        elif step == 3:
            ok = ok and (not self._date_examples() or self.order_group.checkedButton() is not None)
            self.next_button.setText("Check the whole file")
        elif step == 4:
            ok = ok and self.report is not None and (self.report.created + self.report.updated) > 0
            self.next_button.setText(self._store_text())
        elif step == 5:
            ok = ok and self.stored is not None
            self.next_button.setText("Done")
        else:
            self.next_button.setText("Next")
        self.next_button.setEnabled(ok)

    # ---- asking (tests replace these) ----------------------------------------------------------
    def ask_file(self, save: bool, caption: str, filters: str) -> str | None:
        folder = self.ctx.settings.page_value("register", "folder", os.path.expanduser("~"), str)
        if save:
            path, _f = QFileDialog.getSaveFileName(self, caption, folder, filters)
        else:
            path, _f = QFileDialog.getOpenFileName(self, caption, folder, filters)
        return path or None

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        value, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, text)
        return value.strip() if ok and value.strip() else None

    def choose_file(self) -> None:
        path = self.ask_file(False, "Import meters", "Spreadsheets (*.csv *.xlsx *.txt);;All files (*)")
        if path:
            self.path_edit.setText(path)

    # ---- work in workers ---------------------------------------------------------------------------
    def _start(self, name: str, fn, on_done, bar: QProgressBar | None = None) -> None:
        def progress(done, total, _eta, text):
            if bar is not None and total:
                bar.setRange(0, int(total))
                bar.setValue(int(done))

        def ended(*_a):
            self.task = None
            self._update_buttons()

        def failed(msg: str):
            self.message.setText(f"<span style='color:#b3261e'>{_escape(msg)}</span>")

        def cancelled():
            self.message.setText("Cancelled: nothing was stored.")

        if bar is not None:
            bar.setRange(0, 0)
        self.task = self.ctx.tasks.start(name, fn, on_finished=on_done, on_failed=failed, on_cancelled=cancelled,
                                         on_progress=progress, report_errors=False, origin=self.page)
        self.task.ended.connect(ended)
        self._update_buttons()

    def _options(self, with_mapping: bool = True):
        from app.storage.import_map import ImportOptions, parse_mapping
        from app.storage.import_preview import mapping_of

        mapping = None
        if with_mapping and self.preview is not None and self.columns.combos:
            cols, dropped = self.columns.choices()
            mapping = parse_mapping(mapping_of(self.preview.header, cols, dropped), "the wizard")
        header_row = self.header_spin.value() or None
        order = next((k for k, b in self.order_buttons.items() if b.isChecked()), None)
        decimal = next((k for k, b in self.decimal_buttons.items() if b.isChecked()), "auto")
        return ImportOptions(mapping=mapping, date_order=order, decimal=decimal, header_row=header_row)

    def read_preview(self) -> None:
        from app.storage.import_preview import preview

        path = self.path_edit.text().strip()
        options = self._options(with_mapping=False)

        def done(pv):
            self.preview = pv
            self._show_preview()
            self.go(1)

        self._start(f"Reading {os.path.basename(path)}", lambda: preview(path, options), done)

    def run_check(self) -> None:
        path = self.path_edit.text().strip()
        options = self._options()
        self.report = None
        self.summary_label.setText("Checking every row… (nothing is stored)")
        self.problems_table.setRowCount(0)
        self.go(4)

        def work(progress, cancel):
            reg = self.ctx.register()
            return reg.import_file(path, options=options, skip_invalid=True, dry_run=True, cancelled=cancel.is_set,
                                   progress=lambda d, t: progress(d, t, "rows checked"))

        self._start(f"Checking {os.path.basename(path)}", work, self._show_report, self.check_progress)

    def store(self) -> None:
        path = self.path_edit.text().strip()
        options = self._options()
        agreed = len(self.report.invalid)
        self.go(5)
        self.store_label.setText("Storing…")

        def work(progress, cancel):
            reg = self.ctx.register()
            return reg.import_file(path, options=options, skip_invalid=agreed > 0, expect_invalid=agreed,
                                   cancelled=cancel.is_set, progress=lambda d, t: progress(d, t, "rows written"))

        def done(report):
            self.stored = report
            left = f"; {len(report.invalid):,} rows left out" if report.invalid else ""
            moved = f" ({report.moved:,} moved)" if report.moved else ""
            self.store_label.setText(f"Stored: {report.created:,} new meters, {report.updated:,} updated{moved}, "
                                     f"{report.unchanged:,} unchanged{left}.")
            self.page.load()

        self._start(f"Importing {os.path.basename(path)}", work, done, self.store_progress)

    # ---- showing ---------------------------------------------------------------------------------
    def _show_preview(self) -> None:
        pv = self.preview
        self.reading_label.setText("; ".join(pv.reading))
        width = max((len(r) for r in pv.rows), default=0)
        t = self.preview_table
        t.setColumnCount(width + 1)
        t.setRowCount(len(pv.rows))
        t.setHorizontalHeaderLabels(["line"] + [str(i + 1) for i in range(width)])
        t.verticalHeader().setVisible(False)
        bold = QFont(t.font())
        bold.setBold(True)
        for r, (line, cells) in enumerate(zip(pv.lines, pv.rows)):
            t.setItem(r, 0, QTableWidgetItem(str(line)))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r == pv.header_index:
                    item.setFont(bold)
                    item.setBackground(QColor("#e3ecf7"))
                elif r < pv.header_index:
                    item.setForeground(QColor("#777777"))
                elif line in pv.line_errors:
                    item.setBackground(QColor("#fbe3e1"))
                t.setItem(r, c + 1, item)
        t.resizeColumnsToContents()

    def _show_columns(self) -> None:
        pv = self.preview
        if pv is None:
            return
        self.profile_box.clear()
        self.profile_box.addItem("(none: guesses from the header)", None)
        for name in self.profiles.names():
            self.profile_box.addItem(name, name)
        saved = self.profiles.for_header(pv.header)
        if saved is not None:
            self.profile_box.setCurrentIndex(self.profile_box.findData(saved.name))
            self._apply(saved.mapping, saved.date_order, saved.decimal)
            self.message.setText(f"The saved mapping “{_escape(saved.name)}” fits this file's header: applied.")
        else:
            self.columns.set_columns(pv.header, pv.samples, pv.proposal())

    def _apply(self, mapping: dict, date_order: str | None = None, decimal: str | None = None) -> None:
        from app.storage.import_map import header_key

        pv = self.preview
        keyed = {header_key(k): v for k, v in mapping.items()}
        dropped = {i for i, h in enumerate(pv.header) if header_key(h) in keyed and keyed[header_key(h)] is None}
        self.columns.set_columns(pv.header, pv.samples, pv.proposal(keyed), dropped)
        if date_order in self.order_buttons:
            self.order_buttons[date_order].setChecked(True)
        if decimal in self.decimal_buttons:
            self.decimal_buttons[decimal].setChecked(True)

    def apply_profile(self, _index: int = 0) -> None:
        name = self.profile_box.currentData()
        if name is None:
            self.columns.set_columns(self.preview.header, self.preview.samples, self.preview.proposal())
            return
        p = self.profiles.get(name)
        if p is not None:
            self._apply(p.mapping, p.date_order, p.decimal)

    def _mapping(self) -> dict:
        from app.storage.import_preview import mapping_of

        cols, dropped = self.columns.choices()
        return mapping_of(self.preview.header, cols, dropped)

    def save_profile(self) -> None:
        from app.storage.errors import RegisterError
        from app.storage.import_preview import Profile

        name = self.ask_text("Save the mapping", "Name of this mapping (offered again for files with the same "
                                                 "header):", self.profile_box.currentData() or "")
        if not name:
            return
        order = next((k for k, b in self.order_buttons.items() if b.isChecked()), None)
        decimal = next((k for k, b in self.decimal_buttons.items() if b.isChecked()), "auto")
        try:
            self.profiles.save(Profile(name=name, header=self.preview.header, mapping=self._mapping(),
                                       date_order=order, decimal=decimal))
        except RegisterError as exc:
            self.message.setText(_escape(str(exc)))
            return
        self._show_profile_names(name)
        self.message.setText(f"Saved as “{_escape(name)}”.")

    def _show_profile_names(self, current: str | None) -> None:
        self.profile_box.clear()
        self.profile_box.addItem("(none: guesses from the header)", None)
        for n in self.profiles.names():
            self.profile_box.addItem(n, n)
        self.profile_box.setCurrentIndex(max(0, self.profile_box.findData(current)))

    def export_mapping(self) -> None:
        from app.storage.errors import RegisterError

        path = self.ask_file(True, "Export the mapping (the same JSON as heatmeter meters import --map)",
                             "Mapping (*.json)")
        if path:
            try:
                self.profiles.export_mapping(self._mapping(), path)
            except RegisterError as exc:
                self.message.setText(_escape(str(exc)))
                return
            self.message.setText(f"Mapping written to {_escape(path)}.")

    def import_mapping(self) -> None:
        from app.storage.errors import RegisterError

        path = self.ask_file(False, "Import a mapping (--map JSON)", "Mapping (*.json);;All files (*)")
        if path:
            try:
                mapping = self.profiles.import_mapping(path)
            except RegisterError as exc:
                self.message.setText(_escape(str(exc)))
                return
            self._apply(mapping)
            self.message.setText(f"Mapping read from {_escape(path)}.")

    def _date_examples(self) -> list[str]:
        if self.preview is None or not self.columns.combos:
            return []
        return self.preview.needs_date_order(self.columns.choices()[0])

    def _show_options(self) -> None:
        dates = self._date_examples()
        commas = self.preview.decimal_commas(self.columns.choices()[0]) if self.preview else []
        if dates:
            self.dates_label.setText("<b>Dates</b>: the file writes dates such as " + ", ".join(dates[:3])
                                     + ". Which is the day and which the month? (Never guessed: choose.)")
        else:
            self.dates_label.setText("<b>Dates</b>: the file's dates say their order themselves "
                                     "(YYYY-MM-DD, years, date cells): nothing to choose.")
        for b in self.order_buttons.values():
            b.setVisible(bool(dates))
        if commas:
            self.numbers_label.setText("<b>Numbers</b>: written with a decimal comma, such as "
                                       + ", ".join(commas[:3]) + ".")
        else:
            self.numbers_label.setText("<b>Numbers</b>: no decimal commas seen: nothing to choose.")
        for b in self.decimal_buttons.values():
            b.setVisible(bool(commas))

    def _store_text(self) -> str:
        r = self.report
        if r is None:
            return "Store"
        n = r.created + r.updated
        if r.invalid:
            return f"Store {_count(n, 'meter')}, leave {_count(len(r.invalid), 'row')} out"
        return f"Store all {_count(n, 'meter')}"

    def _show_report(self, report) -> None:
        self.report = report
        n_bad = len(report.invalid)
        moved = f" ({report.moved:,} of them moved)" if report.moved else ""
        lines = [f"<b>{report.rows:,} rows</b> read. Will be stored: <b>{report.created:,} new meters</b>, "
                 f"<b>{report.updated:,} updated</b>{moved}; {report.unchanged:,} unchanged.",
                 "; ".join(_escape(n) for n in report.notes)]
        if n_bad:
            lines.append(f"<b style='color:#b3261e'>{_count(n_bad, 'row')} will NOT be stored</b>, for these reasons. "
                         "Store the others only if that is what you want; or cancel, fix the file and import again.")
        elif report.created + report.updated == 0:
            lines.append("Nothing new to store: the register already holds this file.")
        self.summary_label.setText("<br>".join(lines))
        t = self.problems_table
        groups = report.problem_groups()
        t.setRowCount(len(groups))
        for i, (g, count, first) in enumerate(groups):
            t.setItem(i, 0, QTableWidgetItem(g))
            c = QTableWidgetItem(f"{count:,}")
            c.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(i, 1, c)
            t.setItem(i, 2, QTableWidgetItem(", ".join(map(str, first)) + (", …" if count > len(first) else "")))
        self.check_progress.setRange(0, 1)
        self.check_progress.setValue(1)
        self._update_buttons()


def check_then_store(page, path: str) -> None:
    """**Import the valid rows only** (Register page): check the file first (a dry run), ask with the
    counts of what will and will not be stored, and store only on the user's yes, holding those counts."""
    def check(progress, cancel):
        return page.register().import_file(path, skip_invalid=True, dry_run=True, cancelled=cancel.is_set,
                                           progress=lambda d, t: progress(d, t, "rows checked"))

    def checked(report) -> None:
        n, bad = report.created + report.updated, len(report.invalid)
        question = (f"{os.path.basename(path)}: store {n:,} meters ({report.created:,} new, {report.updated:,} "
                    f"updated) and leave {bad:,} rows out?\n\nNot stored: {report.problem_text()}")
        if not page.ask("Import the valid rows only", question, f"Store {n:,}, leave {bad:,} out"):
            page.show_info("Nothing was stored.")
            return

        def store(progress):
            return page.register().import_file(path, skip_invalid=True, expect_invalid=bad,
                                               progress=lambda d, t: progress(d, t, "rows written"))

        page.run_task(f"Importing {os.path.basename(path)}", store, on_finished=page._imported)

    page.bad_rows.hide()
    page.run_task(f"Checking {os.path.basename(path)}", check, on_finished=checked)


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _escape(s: Any) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
