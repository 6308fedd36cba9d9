"""Calibration certificate evaluation: points in a table, a verdict per point, coverage."""
from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from app.ui.calculators.form import CalculatorForm, FieldSpec, parse_number
from app.ui.calculators.look import styled
from app.ui.calculators.mpe import CLASSES

SUBASSEMBLIES = (("Complete meter", "complete_meter"), ("Flow sensor", "flow_sensor"),
                 ("Temperature pair", "temperature_pair"), ("Calculator", "calculator"))
INPUT_COLUMNS = (("error_pct", "Error %"), ("q_m3h", "q m³/h"), ("dtheta_k", "Δθ K"), ("interval", "Interval"))
OUTPUT_COLUMNS = ("MPE\n±%", "Accept\n±%", "2×MPE\n±%", "Initial", "In\nservice", "In\ninterval")
ACCEPT_COLUMN = len(INPUT_COLUMNS) + 1
PASS_BG, FAIL_BG = QColor("#d7f0dd"), QColor("#f9d4d0")
_POINT_KEY = re.compile(r"^points\[(\d+)\](?:\.(\w+))?$")


class CalibrationForm(CalculatorForm):
    kind = "calibration"
    title = "Calibration"
    left_width = 380
    intro = ("Judge a calibration certificate: each point against the initial-verification MPE at its own q and Δθ, "
             "and against the in-service limit (2 × MPE, MMS 1.3.5). Coverage checks the EN 1434-5 test intervals.")
    fields = (
        FieldSpec("subassembly", "Tested", kind="choice", choices=SUBASSEMBLIES, default="complete_meter",
                  section="The meter"),
        FieldSpec("class", "Accuracy class", kind="choice", choices=CLASSES, default=2),
        FieldSpec("qp_m3h", "Permanent flow qp", "m³/h", default="1.5"),
        FieldSpec("ratio", "qp/qi", "", default="100"),
        FieldSpec("dtheta_min_k", "Δθmin", "K", default="3"),
        FieldSpec("dtheta_max_k", "Δθmax", "K", default="150"),
        FieldSpec("apply_guard_band", "Guard band", kind="bool", default=False, section="Test uncertainty",
                  tip="Tighten the initial acceptance limit by U when U exceeds 1/5 of the limit"),
        FieldSpec("test_uncertainty_pct", "Test uncertainty U", "%", optional=True),
    )
    example = {"subassembly": "complete_meter", "class": 2, "qp_m3h": "1.5", "ratio": "100", "dtheta_min_k": "3",
               "dtheta_max_k": "150", "apply_guard_band": False, "test_uncertainty_pct": "",
               "points": [["1.1", "1.425", "3.3", "C1"], ["2.0", "0.1575", "15", "C2"],
                          ["-6.2", "0.16", "15", "C2"], ["3.5", "0.0155", "147", "C3"]]}

    def build_output(self, layout: QVBoxLayout) -> None:
        # the points are input: the table comes first, the verdicts under it
        layout.removeWidget(self.results)
        head = QHBoxLayout()
        title = QLabel("Calibration points (one row per point; q and Δθ as tested)", self)
        title.setObjectName("CalcSection")
        styled(title, "section", self.ctx.text_scale)
        title.setWordWrap(True)
        head.addWidget(title, 1)
        self.add_row_button = QPushButton("Add point", self)
        self.add_row_button.clicked.connect(lambda: self.add_point())
        self.remove_row_button = QPushButton("Remove point", self)
        self.remove_row_button.clicked.connect(self.remove_point)
        head.addWidget(self.add_row_button)
        head.addWidget(self.remove_row_button)
        layout.addLayout(head)
        self.table = QTableWidget(0, len(INPUT_COLUMNS) + len(OUTPUT_COLUMNS), self)
        self.table.setObjectName("PointsTable")
        self.table.setHorizontalHeaderLabels([h for _, h in INPUT_COLUMNS] + list(OUTPUT_COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.ctx.metrics.input_height)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setMinimumWidth(300)
        self.table.setMinimumHeight(round(230 * self.ctx.text_scale))
        self.table.itemChanged.connect(self._item_changed)
        layout.addWidget(self.table, 1)
        self.table_error = QLabel(self)
        self.table_error.setObjectName("TableError")
        styled(self.table_error, "error", self.ctx.text_scale)
        self.table_error.setWordWrap(True)
        self.table_error.hide()
        layout.addWidget(self.table_error)
        layout.addWidget(self.results)
        self._marked: tuple[int, int] | None = None

    # -- the table -------------------------------------------------------------------------
    def add_point(self, values: list[str] | None = None) -> None:
        self._loading = True
        try:
            r = self.table.rowCount()
            self.table.insertRow(r)
            for c in range(self.table.columnCount()):
                item = QTableWidgetItem("" if values is None or c >= len(values) else str(values[c]))
                if c >= len(INPUT_COLUMNS):
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
        finally:
            self._loading = False
        if values is None:
            self.table.setCurrentCell(r, 0)
            self.table.editItem(self.table.item(r, 0))

    def remove_point(self) -> None:
        r = self.table.currentRow()
        if r < 0:
            r = self.table.rowCount() - 1
        if r >= 0:
            self.table.removeRow(r)
            self.schedule_compute()

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() < len(INPUT_COLUMNS):
            self._edited()

    def point_rows(self) -> list[list[str]]:
        rows = []
        for r in range(self.table.rowCount()):
            rows.append([(self.table.item(r, c).text() if self.table.item(r, c) else "") for c in range(len(INPUT_COLUMNS))])
        return rows

    def extra_state(self) -> dict:
        return {"points": self.point_rows()}

    def set_extra_state(self, state: dict) -> None:
        self.table.setRowCount(0)
        for row in state.get("points") or []:
            self.add_point([str(v) for v in row])

    def add_input(self, data: dict) -> None:
        points = []
        for row in self.point_rows():
            if not any(v.strip() for v in row):
                continue   # an empty row is not a point
            p = {}
            for (key, _h), text in zip(INPUT_COLUMNS, row):
                text = text.strip()
                if not text:
                    continue
                p[key] = text.upper() if key == "interval" else parse_number(text)
            points.append(p)
        data["points"] = points

    # -- errors ------------------------------------------------------------------------------
    def clear_extra_errors(self) -> None:
        self.table_error.hide()
        if self._marked is not None:
            r, c = self._marked
            item = self.table.item(r, c)
            if item is not None:
                self._loading = True
                item.setBackground(QBrush())
                self._loading = False
            self._marked = None

    def show_extra_error(self, key: str, message: str) -> bool:
        if key != "points" and not key.startswith("points["):
            return False
        m = _POINT_KEY.match(key)
        text = message
        if m:
            i = int(m.group(1))
            # the table may hold empty rows that are not points: find the i-th non-empty row
            rows = [r for r, row in enumerate(self.point_rows()) if any(v.strip() for v in row)]
            r = rows[i] if i < len(rows) else i
            col = next((c for c, (k, _h) in enumerate(INPUT_COLUMNS) if k == m.group(2)), 0)
            item = self.table.item(r, col)
            if item is not None:
                self._loading = True
                item.setBackground(QBrush(FAIL_BG))
                self._loading = False
                self._marked = (r, col)
                self.table.scrollToItem(item)
            name = dict(INPUT_COLUMNS).get(m.group(2) or "", "")
            text = f"Point {i + 1}{', ' + name if name else ''}: {message}"
        self.table_error.setText(text)
        self.table_error.show()
        return True

    # -- results -------------------------------------------------------------------------------
    def present(self, r: dict):
        ok_i = r["initial_verdict"] == "pass"
        ok_s = r["in_service_verdict"] == "pass"
        if ok_i and ok_s:
            verdict, state = "PASS: every point within the initial-verification MPE", "pass"
        elif ok_s:
            verdict, state = "Initial verification FAIL; in service PASS (within 2 × MPE)", "warn"
        else:
            verdict, state = "FAIL: a point exceeds the in-service limit (2 × MPE)", "fail"
        n_pass_i = sum(p["pass_initial"] for p in r["points"])
        n_pass_s = sum(p["pass_in_service"] for p in r["points"])
        n = len(r["points"])
        rows = [
            ("Initial verification", f"{r['initial_verdict'].upper()} ({n_pass_i}/{n} points)", "pass" if ok_i else "fail"),
            ("In service (2 × MPE)", f"{r['in_service_verdict'].upper()} ({n_pass_s}/{n} points)", "pass" if ok_s else "fail"),
            ("Coverage", r["coverage"] + (f" (missing {', '.join(r['missing_intervals'])})" if r["missing_intervals"] else ""),
             "pass" if r["coverage"] == "complete" else "warn"),
        ]
        return verdict, state, rows, None, "Coverage never changes a verdict."

    def clear_output(self) -> None:
        self._loading = True
        try:
            for tr in range(self.table.rowCount()):
                for c in range(len(INPUT_COLUMNS), self.table.columnCount()):
                    item = self.table.item(tr, c)
                    if item is not None:
                        item.setText("")
                        item.setBackground(QBrush())
        finally:
            self._loading = False

    def draw(self, r: dict) -> None:
        self.clear_output()
        self._loading = True
        try:
            rows = [i for i, row in enumerate(self.point_rows()) if any(v.strip() for v in row)]
            for i, p in enumerate(r["points"]):
                tr = rows[i]
                cells = [f"{p['mpe_initial_pct']:.3f}", f"{p['acceptance_initial_pct']:.3f}",
                         f"{p['acceptance_in_service_pct']:.3f}",
                         "pass" if p["pass_initial"] else "FAIL", "pass" if p["pass_in_service"] else "FAIL",
                         "" if "in_interval" not in p else ("yes" if p["in_interval"] else "NO")]
                for c, text in enumerate(cells):
                    item = self.table.item(tr, len(INPUT_COLUMNS) + c)
                    item.setText(text)
                    bad = text in ("FAIL", "NO")
                    good = text in ("pass", "yes")
                    item.setBackground(QBrush(FAIL_BG if bad else PASS_BG if good else QColor("#ffffff")))
                    f = item.font()
                    f.setBold(bad or good)
                    item.setFont(f)
        finally:
            self._loading = False
        # the acceptance limit differs from the MPE only with a guard band
        guard = any(abs(p["acceptance_initial_pct"] - p["mpe_initial_pct"]) > 1e-12 for p in r["points"])
        self.table.setColumnHidden(ACCEPT_COLUMN, not guard)
