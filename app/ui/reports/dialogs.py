"""Dialogs that ask what a report should cover, then build it in a worker.

Both are non-modal (``open()``) and run their work through the Register
page's task runner, so progress and errors show where the user looks. Tests
drive them through their widgets and :meth:`start`.
"""
from __future__ import annotations

import datetime as dt
import os

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QVBoxLayout, QWidget,
)


def _path_row(parent: QWidget, page, suggested: str, filters: str) -> tuple[QWidget, QLineEdit]:
    box = QWidget(parent)
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    edit = QLineEdit(box)
    edit.setPlaceholderText("(none)")
    edit.setText(suggested)
    edit.setMinimumWidth(380)
    pick = QPushButton("Choose…", box)

    def choose():
        p = page.ask_file(True, "Save as", filters, os.path.basename(edit.text() or suggested))
        if p:
            edit.setText(p)

    pick.clicked.connect(choose)
    lay.addWidget(edit, 1)
    lay.addWidget(pick)
    return box, edit


def _default_folder(page) -> str:
    return page.recall("folder", os.path.expanduser("~"), str)


class EvidenceDialog(QDialog):
    """HNTAS evidence pack of a site: PDF and CSV (E28, and E27 beside it)."""

    def __init__(self, page, site: str | None = None) -> None:
        super().__init__(page)
        self.page = page
        self.setWindowTitle("HNTAS evidence pack")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("E28 meter records (make, type, serial, year of install, recalibration or sampling "
                             "evidence) and E27 sizing calculations of every meter of a site.", self))
        form = QFormLayout()
        self.site = QComboBox(self)
        self.site.setEditable(False)
        sites = sorted(page.index.sites.values()) if page.index is not None else []
        self.site.addItems(sites)
        if site:
            i = self.site.findText(site)
            if i < 0:
                self.site.addItem(site)
                i = self.site.count() - 1
            self.site.setCurrentIndex(i)
        form.addRow("Site:", self.site)
        self.as_of = QDateEdit(QDate.currentDate(), self)
        self.as_of.setCalendarPopup(True)
        self.as_of.setDisplayFormat("yyyy-MM-dd")
        form.addRow("Schedule as of:", self.as_of)
        self.include_restricted = QCheckBox("Include meters under restricted processing (MMS 2.2.5)", self)
        form.addRow("", self.include_restricted)
        folder = _default_folder(page)
        stem = f"evidence-{(site or 'site').replace(' ', '-').lower()}-{dt.date.today().isoformat()}"
        w, self.pdf_path = _path_row(self, page, os.path.join(folder, stem + ".pdf"), "PDF (*.pdf)")
        form.addRow("PDF:", w)
        w, self.csv_path = _path_row(self, page, os.path.join(folder, stem + "-e28.csv"), "CSV (*.csv)")
        form.addRow("CSV (E28):", w)
        self.csv_e27 = QCheckBox("Also the E27 sizing CSV beside it (…-e27.csv)", self)
        self.csv_e27.setChecked(True)
        form.addRow("", self.csv_e27)
        lay.addLayout(form)
        buttons = QDialogButtonBox(self)
        self.ok = buttons.addButton("Make the pack", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.site.currentTextChanged.connect(self._site_changed)

    def _site_changed(self, site: str) -> None:
        folder = os.path.dirname(self.pdf_path.text()) or _default_folder(self.page)
        stem = f"evidence-{site.replace(' ', '-').lower()}-{dt.date.today().isoformat()}"
        self.pdf_path.setText(os.path.join(folder, stem + ".pdf"))
        if self.csv_path.text():
            self.csv_path.setText(os.path.join(folder, stem + "-e28.csv"))

    def start(self):
        """Build the pack in a worker; returns the task."""
        from app.storage import reports
        from app.ui.reports.render import evidence_pdf

        site = self.site.currentText().strip()
        if not site:
            self.page.show_error("Choose a site for the evidence pack.")
            return None
        qd = self.as_of.date()
        as_of = dt.date(qd.year(), qd.month(), qd.day())
        pdf, csv_path = self.pdf_path.text().strip() or None, self.csv_path.text().strip() or None
        e27 = self.csv_e27.isChecked() and csv_path
        restricted = self.include_restricted.isChecked()
        page = self.page
        due = page.due_map if as_of == dt.date.today() else None
        self.accept()

        def work(progress):
            progress(0, 3, "gathering the records")
            pack = reports.evidence_pack(page.register(), site, as_of=as_of, include_restricted=restricted,
                                         due_map=due)
            written = []
            if csv_path:
                progress(1, 3, "writing the CSV")
                reports.write_csv(csv_path, *reports.e28_table(pack))
                written.append(csv_path)
                if e27:
                    p27 = csv_path[:-8] + "-e27.csv" if csv_path.endswith("-e28.csv") else \
                        os.path.splitext(csv_path)[0] + "-e27.csv"
                    reports.write_csv(p27, *reports.e27_table(pack))
                    written.append(p27)
            if pdf:
                progress(2, 3, "drawing the PDF")
                evidence_pdf(pdf, pack)
                written.append(pdf)
            progress(3, 3, "done")
            return pack, written

        def done(result):
            pack, written = result
            page.last_report = result
            c = pack.counts
            page.show_info(f"Evidence pack of {site}: {c['meters']} meters, {c['sized']} sized; written "
                           + ", ".join(os.path.basename(w) for w in written) + ".")
            if pdf:
                page.open_file(pdf)

        return page.run_task(f"Evidence pack {site}", work, on_finished=done)


class PersonalExportDialog(QDialog):
    """MMS 2.2.1/2.2.2: the data held on meters (by id, or a site) and a date range, with a choice of fields."""

    def __init__(self, page, meter_ids: list[int] | None = None, site: str | None = None) -> None:
        from app.storage.register import PERSONAL_EXPORT_FIELDS

        super().__init__(page)
        self.page = page
        self.meter_ids = [i for i in (meter_ids or []) if i is not None]
        self.setWindowTitle("Personal data export")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("A copy of the data held (MMS 2.2.1): the chosen fields of the meters and one row per "
                             "decoded record of each readout in the date range (both days included).", self))
        form = QFormLayout()
        self.scope = QComboBox(self)
        if self.meter_ids:
            self.scope.addItem(f"The {len(self.meter_ids)} selected meter(s)", "ids")
        sites = sorted(page.index.sites.values()) if page.index is not None else ([site] if site else [])
        for s in sites:
            self.scope.addItem(f"Site: {s}", s)
        if not self.meter_ids and site:
            self.scope.setCurrentIndex(max(0, self.scope.findData(site)))
        form.addRow("Meters:", self.scope)
        self.use_from = QCheckBox("from", self)
        self.date_from = QDateEdit(QDate.currentDate().addYears(-1), self)
        self.use_to = QCheckBox("to", self)
        self.date_to = QDateEdit(QDate.currentDate(), self)
        rng = QHBoxLayout()
        for w in (self.use_from, self.date_from, self.use_to, self.date_to):
            if isinstance(w, QDateEdit):
                w.setCalendarPopup(True)
                w.setDisplayFormat("yyyy-MM-dd")
            rng.addWidget(w)
        rng.addStretch(1)
        form.addRow("Readouts:", rng)
        grid = QGridLayout()
        self.field_boxes: dict[str, QCheckBox] = {}
        for n, f in enumerate(PERSONAL_EXPORT_FIELDS):
            b = QCheckBox(f, self)
            b.setChecked(True)
            self.field_boxes[f] = b
            grid.addWidget(b, n // 4, n % 4)
        form.addRow("Fields:", grid)
        self.include_restricted = QCheckBox("Include meters under restricted processing", self)
        form.addRow("", self.include_restricted)
        folder = _default_folder(page)
        stem = f"personal-data-{dt.date.today().isoformat()}"
        w, self.csv_path = _path_row(self, page, os.path.join(folder, stem + ".csv"), "CSV (*.csv)")
        form.addRow("CSV:", w)
        w, self.pdf_path = _path_row(self, page, "", "PDF (*.pdf)")
        form.addRow("PDF (optional):", w)
        lay.addLayout(form)
        buttons = QDialogButtonBox(self)
        buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def set_fields(self, fields: list[str]) -> None:
        for f, b in self.field_boxes.items():
            b.setChecked(f in fields)

    def start(self):
        from app.storage import reports
        from app.ui.reports.render import personal_pdf

        fields = [f for f, b in self.field_boxes.items() if b.isChecked()]
        if not fields:
            self.page.show_error("Choose at least one field to export.")
            return None
        scope = self.scope.currentData()
        ids = self.meter_ids if scope == "ids" else None
        site = None if scope == "ids" else scope
        if ids is None and not site:
            self.page.show_error("Choose the meters (select rows in the table) or a site to export.")
            return None

        def day(edit: QDateEdit, use: QCheckBox):
            if not use.isChecked():
                return None
            q = edit.date()
            return dt.date(q.year(), q.month(), q.day())

        d0, d1 = day(self.date_from, self.use_from), day(self.date_to, self.use_to)
        csv_path, pdf = self.csv_path.text().strip() or None, self.pdf_path.text().strip() or None
        restricted = self.include_restricted.isChecked()
        page = self.page
        self.accept()

        def work():
            data = reports.personal_data_rows(page.register(), meter_ids=ids, site=site, date_from=d0, date_to=d1,
                                              fields=fields, include_restricted=restricted)
            if csv_path:
                reports.write_csv(csv_path, data.header, data.rows)
            if pdf:
                personal_pdf(pdf, data)
            return data

        def done(data):
            page.last_report = data
            where = ", ".join(p for p in (csv_path, pdf) if p)
            left = data.info.get("restricted_left_out") or []
            page.show_info(f"Personal data export: {data.info['rows']} rows of {data.info['meters']} meters written to "
                           f"{where}" + (f"; {len(left)} restricted meter(s) left out" if left else "") + ".")

        return page.run_task("Personal data export", work, on_finished=done)
