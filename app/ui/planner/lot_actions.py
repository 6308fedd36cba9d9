"""The Lots view, what the user does to a lot: draw, type or import results (with calibration points),
decide the verdict, save the lot report. Each runs ``app.services.planner`` in a worker; a user mistake
comes back as a ``Failure`` and is shown in the page's banner (and at its row) while what was typed stays.

A mixin of :class:`app.ui.planner.lots.LotsView`.
"""
from __future__ import annotations

import secrets
from typing import Any

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QMessageBox, QTableWidget, QTableWidgetItem, QVBoxLayout)

from app.services import planner as service
from app.ui.calculators.form import parse_number
from app.ui.planner.due import pydate
from app.ui.planner.lot_common import FAIL_BG, SUBASSEMBLIES


class PointsDialog(QDialog):
    """Calibration points of one meter (as in ``heatmeter calc calibration``)."""

    def __init__(self, parent, meter: str, value: dict | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Calibration points of {meter}")
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Tested", self))
        self.sub = QComboBox(self)
        for text, v in SUBASSEMBLIES:
            self.sub.addItem(text, v)
        row.addWidget(self.sub)
        row.addStretch(1)
        lay.addLayout(row)
        self.table = QTableWidget(6, 4, self)
        self.table.setHorizontalHeaderLabels(["Error %", "q m³/h", "Δθ K", "Interval"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table)
        value = value or {}
        i = self.sub.findData(value.get("subassembly") or "complete_meter")
        self.sub.setCurrentIndex(max(0, i))
        for r, p in enumerate(value.get("points") or []):
            if r >= self.table.rowCount():
                self.table.insertRow(r)
            for c, k in enumerate(("error_pct", "q_m3h", "dtheta_k", "interval")):
                if p.get(k) is not None:
                    self.table.setItem(r, c, QTableWidgetItem(str(p[k])))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(620, 380)

    def value(self) -> dict | None:
        pts = []
        for r in range(self.table.rowCount()):
            cells = [(self.table.item(r, c).text().strip() if self.table.item(r, c) else "") for c in range(4)]
            if not any(cells):
                continue
            p: dict[str, Any] = {}
            for k, t in zip(("error_pct", "q_m3h", "dtheta_k"), cells[:3]):
                if t:
                    p[k] = parse_number(t)
            if cells[3]:
                p["interval"] = cells[3].upper()
            pts.append(p)
        return {"subassembly": self.sub.currentData(), "points": pts} if pts else None


class LotActionsMixin:
    def new_seed(self) -> None:
        self.seed.setText(str(self.page.demo_seed() or secrets.randbelow(10 ** 9)))

    def draw(self, confirm: bool = True):
        if self.lot is None:
            return None
        seed = parse_number(self.seed.text(), integer=True)
        if not isinstance(seed, int):
            self.page.show_error(f"The seed must be a whole number, not {self.seed.text()!r}.")
            self.seed.setFocus()
            return None
        sp_text = self.spares.text().strip()
        spares = None
        if sp_text:
            spares = parse_number(sp_text, integer=True)
            if not isinstance(spares, int) or spares < 0:
                self.page.show_error(f"Spares must be a whole number (0 or more), not {sp_text!r}.")
                return None
        force = self.lot.get("draw") is not None
        if force and confirm and self.ctx.mode.interactive:
            n = len(self.lot.get("results_list") or [])
            answer = QMessageBox.question(self, "Draw again?",
                                          f"Lot {self.lot['id']} was drawn with seed {self.lot['draw'].get('seed')}. "
                                          f"Drawing again discards that draw and its {n} results (the event log "
                                          "keeps them). Draw again?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
        lid = self.lot["id"]
        return self.page.run_db(f"Draw lot {lid}", service.draw_lot, lid, seed, spares=spares, force=force,
                                user=self.page.user(),
                                on_done=lambda r: self._after(r, lid, "draw", f"Lot {lid} drawn with seed {seed}."))

    def typed_entries(self) -> list | service.Failure:
        entries = []
        t = self.results_table
        have_result = []
        for r, (m, rec) in enumerate(getattr(self, "_result_rows", [])):
            text = t.item(r, 4).text().strip() if t.item(r, 4) else ""
            inacc = t.cellWidget(r, 5).isChecked()
            pts = self.points.get(m["meter_id"])
            if not (text or inacc or pts):
                continue
            if rec is not None:
                have_result.append(m)
            kw: dict[str, Any] = {}
            if inacc:
                kw["inaccessible"] = True
            elif pts:
                kw["points"] = pts["points"]
                kw["subassembly"] = pts["subassembly"]
            else:
                v = parse_number(text)
                if not isinstance(v, (int, float)):
                    self._mark_row(r)
                    return service.Failure(f"The error of meter {m['manufacturer']} {m['serial']} must be a number "
                                           f"(in %), not {text!r}.", "error_pct")
                kw["error_pct"] = float(v)
            entries.append(service.result_entry(m["manufacturer"], m["serial"], **kw))
        if have_result and not self.replace_box.isChecked():
            m = have_result[0]
            return service.Failure(f"Meter {m['manufacturer']} {m['serial']} already has a recorded result; tick "
                                   "“Replace recorded results” to correct it.")
        return entries

    def _mark_row(self, row: int) -> None:
        item = self.results_table.item(row, 4)
        if item is not None:
            item.setBackground(QBrush(QColor(FAIL_BG)))
        self.results_table.setCurrentCell(row, 4)

    def record_typed(self):
        if self.lot is None:
            return None
        entries = self.typed_entries()
        if isinstance(entries, service.Failure):
            self.last_failure = entries
            self.page.show_error(entries.message)
            return None
        if not entries:
            self.page.show_warning("Nothing to record: type an error (%), add points or tick Inaccessible first.")
            return None
        lid = self.lot["id"]
        n = len(entries)
        return self.page.run_db(f"Results of lot {lid}", service.record_results, lid, entries,
                                replace_existing=self.replace_box.isChecked(), user=self.page.user(),
                                tested_on=pydate(self.tested_on.date()),
                                on_done=lambda r: self._recorded(r, lid, f"Recorded {n} result{'s' * (n != 1)} "
                                                                         f"for lot {lid}."))

    def _recorded(self, result, lot_id: int, message: str) -> None:
        if isinstance(result, service.Failure):
            # nothing was stored: what was typed stays in the table; mark the row the message names
            for r, (m, _rec) in enumerate(getattr(self, "_result_rows", [])):
                if f"{m['manufacturer']} {m['serial']}" in result.message:
                    self._mark_row(r)
        else:
            d = result["defectives"]
            message += f" {d} defective." if d else " None defective."
            self.points = {}
        self._after(result, lot_id, "results", message)

    def edit_points(self, m: dict) -> None:
        dlg = PointsDialog(self, f"{m['manufacturer']} {m['serial']}", self.points.get(m["meter_id"]))
        if dlg.exec() == QDialog.DialogCode.Accepted:
            v = dlg.value()
            if v:
                self.points[m["meter_id"]] = v
            else:
                self.points.pop(m["meter_id"], None)
            if self.lot is not None:
                self._fill_results(self.lot)

    def ask_import(self) -> None:
        if self.lot is None or not self.ctx.mode.interactive:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import the test lab's results", "",
                                              "CSV files (*.csv *.txt);;All files (*)")
        if path:
            self.import_csv(path)

    def import_csv(self, path: str):
        """Record a lab's results file (all or nothing); a row naming a meter not drawn is reported with its line."""
        if self.lot is None:
            return None
        lid = self.lot["id"]
        return self.page.run_db(f"Import results for lot {lid}", service.import_results, lid, path,
                                replace_existing=self.replace_box.isChecked(), user=self.page.user(),
                                tested_on=pydate(self.tested_on.date()),
                                on_done=lambda r: self._recorded(r, lid, f"Imported the results for lot {lid}."))

    def decide(self):
        if self.lot is None:
            return None
        lid = self.lot["id"]
        on = pydate(self.decided_on.date())
        return self.page.run_db(f"Verdict of lot {lid}", service.decide_lot, lid, on=on, user=self.page.user(),
                                on_done=lambda r: self._decided(r, lid))

    def _decided(self, result, lot_id: int) -> None:
        if isinstance(result, dict) and result.get("verdict") == "incomplete":
            self.page.show_warning(f"Lot {lot_id} is incomplete: {result['tested']} of {result['sample_size']} "
                                   f"tested; test {result.get('missing')} more (a spare for each inaccessible "
                                   "meter). Nothing was stored.")
            self.open_lot(lot_id, "verdict")
            return
        msg = ""
        if isinstance(result, dict):
            msg = f"Lot {lot_id}: {result['verdict'].upper()} ({result['defectives']} defective of {result['tested']})."
        self._after(result, lot_id, "verdict", msg)

    def ask_report(self, kind: str) -> None:
        if self.lot is None or not self.ctx.mode.interactive:
            return
        name = f"lot-{self.lot['id']}.{kind}"
        filt = "PDF documents (*.pdf)" if kind == "pdf" else "CSV files (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, "Save the lot report", name, filt)
        if path:
            self.save_report(path, kind)

    def save_report(self, path: str, kind: str = "pdf"):
        from app.ui.reports.lot_report import make_lot_report

        lid = self.lot["id"]
        return self.page.run_db(f"Report of lot {lid}", make_lot_report, lid, path, kind,
                                on_done=lambda r: self.page.show_error(r.message) if isinstance(r, service.Failure)
                                else self.page.show_info(f"Saved the report of lot {lid} to {path}."))
