"""Recording the year's work from the register and meter pages: recalibration, battery change, replacement,
no access (one meter or several, one date), and a lab's or contractor's results file read back.

The dialog collects the values; ``app.services.maintenance.record_for_meters`` and
``app.services.joblists.import_results`` do the work in the page's worker, all or nothing, with the version
of each meter the page loaded (a meter changed meanwhile is refused and named, nothing saved).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox,
                               QFormLayout, QLabel, QLineEdit, QRadioButton, QVBoxLayout, QWidget)

KINDS = (("recalibrate", "Recalibrated"), ("battery", "Battery changed"), ("replace", "Replaced by a new meter"),
         ("no_access", "No access"))


def _qdate(d: dt.date) -> QDate:
    return QDate(d.year, d.month, d.day)


class WorkDialog(QDialog):
    """What was done, on which date, with what result (fields shown for the kind of work chosen)."""

    def __init__(self, parent: QWidget | None, labels: list[str], kind: str = "recalibrate",
                 today: dt.date | None = None, scale: float = 1.0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record work")
        self.several = len(labels) > 1
        lay = QVBoxLayout(self)
        head = QLabel(f"{len(labels)} meters: " + ", ".join(labels[:6]) + (" …" if len(labels) > 6 else "")
                      if self.several else labels[0], self)
        head.setWordWrap(True)
        lay.addWidget(head)
        form = QFormLayout()
        self.form = form
        self.kind = QComboBox(self)
        for k, text in KINDS:
            if k == "replace" and self.several:
                continue
            self.kind.addItem(text, k)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        form.addRow("Work", self.kind)
        self.on = QDateEdit(self)
        self.on.setCalendarPopup(True)
        self.on.setDisplayFormat("yyyy-MM-dd")
        self.on.setDate(_qdate(today or dt.date.today()))
        form.addRow("Done on", self.on)
        verdict = QWidget(self)
        vl = QVBoxLayout(verdict)
        vl.setContentsMargins(0, 0, 0, 0)
        self.passed = QRadioButton("Pass: within the initial-verification MPE (its 10 years start again)", verdict)
        self.failed = QRadioButton("Fail: the meter must be replaced", verdict)
        self.passed.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.passed)
        group.addButton(self.failed)
        vl.addWidget(self.passed)
        vl.addWidget(self.failed)
        self.verdict_row = verdict
        form.addRow("Verdict", verdict)
        self.error_pct = QLineEdit(self)
        self.error_pct.setPlaceholderText("e.g. -1.2 (optional)")
        form.addRow("Error %", self.error_pct)
        self.lab = QLineEdit(self)
        form.addRow("Laboratory", self.lab)
        self.certificate = QLineEdit(self)
        form.addRow("Certificate", self.certificate)
        self.new_serial = QLineEdit(self)
        form.addRow("New serial", self.new_serial)
        self.new_make = QLineEdit(self)
        self.new_make.setPlaceholderText("default: the same make")
        form.addRow("New make", self.new_make)
        self.new_model = QLineEdit(self)
        self.new_model.setPlaceholderText("default: the same model")
        form.addRow("New model", self.new_model)
        self.auto_expiry = QCheckBox("Work the battery's end of life out (the meter's own readout, else the battery "
                                     "calculator)", self)
        self.auto_expiry.setChecked(True)
        form.addRow("", self.auto_expiry)
        self.expiry = QDateEdit(self)
        self.expiry.setCalendarPopup(True)
        self.expiry.setDisplayFormat("yyyy-MM-dd")
        self.expiry.setDate(_qdate((today or dt.date.today()).replace(year=(today or dt.date.today()).year + 10)))
        form.addRow("Battery end of life", self.expiry)
        self.notes = QLineEdit(self)
        form.addRow("Notes", self.notes)
        lay.addLayout(form)
        self.error_label = QLabel("", self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #a4001d; font-weight: bold;")
        lay.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        for w in (self.kind, self.on, self.error_pct, self.lab, self.certificate, self.new_serial, self.new_make,
                  self.new_model, self.expiry, self.notes):
            w.setMinimumHeight(round(34 * scale))
        self.kind.currentIndexChanged.connect(lambda _i: self._show_fields())
        self.auto_expiry.toggled.connect(lambda _b: self._show_fields())
        self._show_fields()

    def _show_fields(self) -> None:
        k = self.kind.currentData()
        show = {"recalibrate": (self.verdict_row, self.error_pct, self.lab, self.certificate),
                "battery": (self.auto_expiry, self.expiry), "replace": (self.new_serial, self.new_make,
                                                                       self.new_model)}.get(k, ())
        for w in (self.verdict_row, self.error_pct, self.lab, self.certificate, self.new_serial, self.new_make,
                  self.new_model, self.auto_expiry, self.expiry):
            visible = w in show and not (w is self.expiry and self.auto_expiry.isChecked())
            self.form.setRowVisible(w, visible)

    def values(self) -> dict[str, Any]:
        """The work as keyword arguments of ``record_for_meters`` (raises ValueError naming a bad field)."""
        k = self.kind.currentData()
        q = self.on.date()
        out: dict[str, Any] = {"kind": k, "on": dt.date(q.year(), q.month(), q.day()),
                               "notes": self.notes.text().strip() or None}
        if k == "recalibrate":
            out["verdict"] = "pass" if self.passed.isChecked() else "fail"
            t = self.error_pct.text().strip().replace(",", ".")
            if t:
                try:
                    out["error_pct"] = float(t)
                except ValueError:
                    raise ValueError(f"Error %: {self.error_pct.text()!r} is not a number") from None
            out["lab"] = self.lab.text().strip() or None
            out["certificate"] = self.certificate.text().strip() or None
        elif k == "battery" and not self.auto_expiry.isChecked():
            e = self.expiry.date()
            out["expiry"] = dt.date(e.year(), e.month(), e.day())
        elif k == "replace":
            if not self.new_serial.text().strip():
                raise ValueError("New serial: give the serial number of the new meter")
            out.update(new_serial=self.new_serial.text().strip(), new_manufacturer=self.new_make.text().strip() or None,
                       new_model=self.new_model.text().strip() or None)
        return out

    def _accept(self) -> None:
        try:
            self.values()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()


def record(page, targets: list[tuple[int, int | None]], values: dict[str, Any], on_done=None):
    """Store ``values`` (``WorkDialog.values``) for the meters ``targets`` in the page's worker; the page shows
    what happened (or the one-line reason nothing was stored)."""
    from app.services import maintenance as mt
    from app.storage.errors import RegisterError

    def work():
        try:
            return mt.record_for_meters(page.register(), targets, **values)
        except RegisterError as exc:
            return exc
        except Exception as exc:  # InputError from a value: shown like a register error
            from app.core.errors import InputError

            if isinstance(exc, InputError):
                return exc
            raise

    def done(result):
        if not isinstance(result, list):
            page.show_error(f"Nothing recorded: {result}")
        else:
            what = dict(KINDS)[values["kind"]].lower()
            extra = ""
            if values["kind"] == "replace" and result:
                extra = f": new meter {result[0]['new_manufacturer']} {result[0]['new_serial']}"
            page.show_info(f"Recorded for {len(result)} meter(s): {what} on {values['on'].isoformat()}{extra}.")
        if on_done is not None:
            on_done(result)

    return page.run_task("Recording the work", work, on_finished=done)


def import_results(page, path: str, on_done=None):
    """A lab's or contractor's filled-in job list (CSV or XLSX), all or nothing, in the page's worker."""
    from app.services import joblists
    from app.storage.errors import RegisterError

    def work():
        try:
            return joblists.import_results(page.register(), path)
        except RegisterError as exc:
            return exc

    def done(result):
        if isinstance(result, dict):
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(result["counts"].items()))
            page.show_info(f"{result['file']}: {result['results']} result(s) recorded ({counts}).")
        else:
            page.show_error(f"Nothing recorded: {result}")
        if on_done is not None:
            on_done(result)

    return page.run_task("Importing results", work, on_finished=done)


def ask(page, parent, recs, kind: str = "recalibrate", on_done=None) -> None:
    """Open the dialog for these meter records and record what it says (interactive sessions only)."""
    if not recs:
        page.show_warning("Select the meters first.")
        return
    dlg = WorkDialog(parent, [r.label for r in recs], kind, scale=page.ctx.text_scale)
    if dlg.exec() == QDialog.DialogCode.Accepted:
        record(page, [(r.id, r.version) for r in recs], dlg.values(), on_done)
