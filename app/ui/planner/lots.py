"""The planner's "Lots" view: form lots, draw with seed and spares, enter results, verdict, OC curve, report.

Every database step runs in a worker (``page.run_db``); a user mistake comes
back as a :class:`~app.ui.planner.service.Failure` and is shown in the
page's banner (and at its field or row), while what the user typed stays.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox,
                               QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QSpinBox, QSplitter, QStackedWidget, QTableView, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from app.ui.calculators.form import ResultPanel, parse_number
from app.ui.calculators.look import restyle, styled
from app.ui.planner import service
from app.ui.planner.charts import OcChart
from app.ui.planner.due import pydate, qdate
from app.ui.planner.models import DictTableModel
from app.ui.reports.lot_report import action_text

LOT_COLUMNS = (("id", "Lot"), ("state", "State"), ("sizes", "n of N"), ("name", "Key"), ("acc", "Ac/Re"))
STATUS = {"formed": "formed", "drawn": "drawn", "testing": "testing", "verdict_pass": "PASSED",
          "verdict_fail": "FAILED"}
KEY_FIELDS = (("manufacturer", "make"), ("model", "model"), ("qp_m3h", "qp"), ("install_year", "install year"),
              ("site", "site"), ("accuracy_class", "class"))
APART = {"install_date_unknown": "install date unknown", "reinstalled_after_repair": "re-installed after repair"}
NOT_ELIGIBLE = {"not_due_yet": "not due yet", "past_deadline": "past the deadline (overdue)",
                "in_open_lot": "already in an open lot", "sampled_this_cycle": "sampled this cycle",
                "lot_failed_replacement_list": "on a replacement list", "no_passed_9y_lot": "no passed 9-year lot"}
SUBASSEMBLIES = (("Complete meter", "complete_meter"), ("Flow sensor", "flow_sensor"),
                 ("Temperature pair", "temperature_pair"), ("Calculator", "calculator"))
PASS_BG, FAIL_BG, GREY_BG = "#d7f0dd", "#f9d4d0", "#eeeeee"


def _table(parent, columns, colour=None, scale: float = 1.0) -> tuple[QTableView, DictTableModel]:
    model = DictTableModel(list(columns), parent, colour=colour)
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setDefaultSectionSize(round(30 * scale))
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setResizeContentsPrecision(200)
    return view, model


def short_key(key: dict) -> str:
    """The key's values only, e.g. ``Kamstrup MULTICAL 603 1.5 2016`` (for lists)."""
    return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in key.values())


def key_text(key: dict) -> str:
    parts = []
    for f, label in KEY_FIELDS:
        if f in key:
            parts.append(f"{label} {key[f]:g}" if isinstance(key[f], float) else f"{label} {key[f]}")
    return " · ".join(parts)


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


class LotsView(QWidget):
    def __init__(self, page, parent=None) -> None:
        super().__init__(parent)
        self.page = page
        self.ctx = page.ctx
        self.lots: list[dict] = []
        self.lot: dict | None = None            # the lot shown (lot_detail)
        self.formation: dict | None = None      # the last formation (preview or stored)
        self.points: dict[int, dict] = {}       # typed calibration points per meter id
        self.last_failure: service.Failure | None = None
        scale = self.ctx.text_scale
        outer = QHBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        outer.addWidget(split)

        left = QWidget(split)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        head = QHBoxLayout()
        t = QLabel("Sampling lots", left)
        styled(t, "section", scale)
        head.addWidget(t, 1)
        self.form_button = QPushButton("Form lots…", left)
        self.form_button.setProperty("primary", True)
        self.form_button.setToolTip("Group the meters due for sampling into lots (MMS 1.3.3, 1.3.4)")
        self.form_button.clicked.connect(self.show_form_panel)
        head.addWidget(self.form_button)
        ll.addLayout(head)
        self.lots_view, self.lots_model = _table(left, LOT_COLUMNS, self._lot_colour, scale)
        self.lots_view.verticalHeader().setVisible(False)
        self.lots_view.clicked.connect(lambda idx: self.open_lot(self.lots_model.rows[idx.row()]["id"]))
        self.lots_view.activated.connect(lambda idx: self.open_lot(self.lots_model.rows[idx.row()]["id"]))
        ll.addWidget(self.lots_view, 1)
        self.lots_note = QLabel("", left)
        self.lots_note.setWordWrap(True)
        ll.addWidget(self.lots_note)

        self.stack = QStackedWidget(split)
        self.empty = QLabel("Select a lot on the left, or form new lots.", self.stack)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty)
        self._build_detail()
        self._build_form_panel()
        split.addWidget(left)
        split.addWidget(self.stack)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        split.setSizes([round(400 if scale <= 1.0 else 260 * scale), 860])
        self.split = split

    # ====================================================================== building
    def _build_detail(self) -> None:
        scale = self.ctx.text_scale
        box = QWidget(self.stack)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.lot_title = QLabel("", box)
        self.lot_title.setWordWrap(True)
        styled(self.lot_title, "section", scale)
        lay.addWidget(self.lot_title)
        self.tabs = QTabWidget(box)
        styled(self.tabs.tabBar(), "tabs", scale)
        lay.addWidget(self.tabs, 1)

        # -- plan and members
        w = QWidget(self.tabs)
        v = QVBoxLayout(w)
        self.plan_panel = ResultPanel(w, scale)
        v.addWidget(self.plan_panel)
        self.members_view, self.members_model = _table(w, (
            ("manufacturer", "Make"), ("serial", "Serial"), ("drawn", "Drawn"),
            ("consequence", "What the verdict means"), ("next_sampling", "Next sampling"), ("site", "Site"),
            ("install_date", "Installed"), ("clock_start", "Clock start"), ("model", "Model")),
            self._member_colour, scale)
        v.addWidget(self.members_view, 1)
        self.tabs.addTab(w, "Plan, members")

        # -- draw
        w = QWidget(self.tabs)
        v = QVBoxLayout(w)
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed", w))
        self.seed = QLineEdit(w)
        self.seed.setToolTip("Any whole number; the same seed and members always give the same meters")
        self.seed.setMinimumWidth(140)
        row.addWidget(self.seed)
        self.new_seed_button = QPushButton("New seed", w)
        self.new_seed_button.clicked.connect(self.new_seed)
        row.addWidget(self.new_seed_button)
        row.addWidget(QLabel("Spares", w))
        self.spares = QLineEdit(w)
        self.spares.setPlaceholderText("default")
        self.spares.setToolTip("Meters drawn beside the sample, standing in, in order, for inaccessible ones "
                               "(default: a quarter of n, at least 2)")
        self.spares.setMaximumWidth(110)
        row.addWidget(self.spares)
        self.draw_button = QPushButton("Draw", w)
        self.draw_button.setProperty("primary", True)
        self.draw_button.clicked.connect(lambda: self.draw())
        row.addWidget(self.draw_button)
        row.addStretch(1)
        v.addLayout(row)
        self.draw_info = QLabel("", w)
        self.draw_info.setWordWrap(True)
        self.draw_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.draw_info)
        self.draw_view, self.draw_model = _table(w, (
            ("order", "#"), ("role", "Drawn as"), ("manufacturer", "Make"), ("serial", "Serial"), ("site", "Site"),
            ("status", "Status")), self._draw_colour, scale)
        v.addWidget(self.draw_view, 1)
        self.tabs.addTab(w, "Draw")

        # -- results
        w = QWidget(self.tabs)
        v = QVBoxLayout(w)
        hint = QLabel("Type each tested meter's error (%) — judged against twice its initial-verification MPE "
                      "(MMS 1.3.5) at qp and Δθmax — or its calibration points, or tick Inaccessible; or import "
                      "the test lab's CSV (manufacturer, serial, error_pct, q_m3h, dtheta_k, interval, inaccessible).", w)
        hint.setWordWrap(True)
        styled(hint, "intro", scale)
        v.addWidget(hint)
        self.results_table = QTableWidget(0, 8, w)
        self.results_table.setHorizontalHeaderLabels(["#", "Drawn as", "Make", "Serial", "Error %", "Inaccessible",
                                                      "Points", "Recorded result"])
        self.results_table.verticalHeader().setVisible(False)
        self.results_table.verticalHeader().setDefaultSectionSize(round(36 * scale))
        self.results_table.horizontalHeader().setStretchLastSection(True)
        v.addWidget(self.results_table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Tested on", w))
        self.tested_on = QDateEdit(w)
        self.tested_on.setCalendarPopup(True)
        self.tested_on.setDisplayFormat("yyyy-MM-dd")
        self.tested_on.setDate(qdate(self.page.default_today()))
        row.addWidget(self.tested_on)
        self.replace_box = QCheckBox("Replace recorded results", w)
        self.replace_box.setToolTip("Correct a result already recorded (the old value stays in the event log)")
        row.addWidget(self.replace_box)
        row.addStretch(1)
        v.addLayout(row)
        row = QHBoxLayout()
        row.addStretch(1)
        self.record_button = QPushButton("Record typed results", w)
        self.record_button.setProperty("primary", True)
        self.record_button.clicked.connect(lambda: self.record_typed())
        row.addWidget(self.record_button)
        self.import_button = QPushButton("Import lab CSV…", w)
        self.import_button.clicked.connect(self.ask_import)
        row.addWidget(self.import_button)
        v.addLayout(row)
        self.tabs.addTab(w, "Results")

        # -- verdict and OC curve (side by side; one above the other with larger text)
        from PySide6.QtWidgets import QBoxLayout

        from app.ui.calculators.look import scrolling

        w = QWidget()
        h = QBoxLayout(QBoxLayout.Direction.LeftToRight, w)
        self.verdict_layout = h
        col = QVBoxLayout()
        self.verdict_panel = ResultPanel(w, scale)
        col.addWidget(self.verdict_panel)
        self.decide_row = QWidget(w)
        row = QHBoxLayout(self.decide_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Decided on", self.decide_row))
        self.decided_on = QDateEdit(self.decide_row)
        self.decided_on.setCalendarPopup(True)
        self.decided_on.setDisplayFormat("yyyy-MM-dd")
        self.decided_on.setDate(qdate(self.page.default_today()))
        row.addWidget(self.decided_on)
        self.decide_button = QPushButton("Decide the verdict", self.decide_row)
        self.decide_button.setProperty("primary", True)
        self.decide_button.clicked.connect(lambda: self.decide())
        row.addWidget(self.decide_button)
        row.addStretch(1)
        col.addWidget(self.decide_row)
        row = QHBoxLayout()
        self.pdf_button = QPushButton("Lot report (PDF)…", w)
        self.pdf_button.clicked.connect(lambda: self.ask_report("pdf"))
        self.csv_button = QPushButton("Lot report (CSV)…", w)
        self.csv_button.clicked.connect(lambda: self.ask_report("csv"))
        row.addWidget(self.pdf_button)
        row.addWidget(self.csv_button)
        row.addStretch(1)
        col.addLayout(row)
        col.addStretch(1)
        h.addLayout(col, 2)
        self.oc_chart = OcChart(w, scale)
        h.addWidget(self.oc_chart, 3)
        self._verdict_direction(scale)
        self.tabs.addTab(scrolling(w, self.tabs), "Verdict, OC curve")
        self.detail = box
        self.stack.addWidget(box)

    def _build_form_panel(self) -> None:
        from app.core.sampling import INSPECTIONS, LEVELS, aql_values

        scale = self.ctx.text_scale
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        t = QLabel("Form sampling lots (MMS 1.3.3: sample the lot at 9 years to keep its meters to 14; "
                   "at 13 to keep them to 18)", box)
        t.setWordWrap(True)
        styled(t, "section", scale)
        lay.addWidget(t)
        g = QGridLayout()
        g.setHorizontalSpacing(8)
        self.f_as_of = QDateEdit(box)
        self.f_as_of.setCalendarPopup(True)
        self.f_as_of.setDisplayFormat("yyyy-MM-dd")
        self.f_as_of.setDate(qdate(self.page.default_as_of()))
        self.f_round = QComboBox(box)
        self.f_round.addItem("9 years", 9)
        self.f_round.addItem("13 years", 13)
        self.f_window = QSpinBox(box)
        self.f_window.setRange(0, 120)
        self.f_window.setValue(12)
        self.f_window.setSuffix(" months")
        self.f_site = QComboBox(box)
        self.f_site.addItem("All sites", None)
        self.f_all = QCheckBox("All meters (ignore age)", box)
        self.f_level = QComboBox(box)
        for lv in LEVELS:
            self.f_level.addItem(lv, lv)
        self.f_level.setCurrentIndex(LEVELS.index("II"))
        self.f_aql = QComboBox(box)
        for a in aql_values():
            self.f_aql.addItem(f"{a:g} %", a)
        self.f_aql.setCurrentIndex(list(aql_values()).index(4.0))
        self.f_inspection = QComboBox(box)
        for i in INSPECTIONS:
            self.f_inspection.addItem(i, i)
        self.f_key = {}
        keys = QGridLayout()
        for i, (f, label) in enumerate(KEY_FIELDS):
            cb = QCheckBox(label, box)
            cb.setChecked(f in ("manufacturer", "model", "qp_m3h", "install_year"))
            cb.setToolTip(f"Meters in a lot have the same {label}")
            self.f_key[f] = cb
            keys.addWidget(cb, *divmod(i, 6 if self.ctx.text_scale <= 1.0 else 3))
        pairs = [("As of", self.f_as_of), ("Round", self.f_round), ("Due within", self.f_window),
                 ("Site", self.f_site), ("Level", self.f_level), ("AQL", self.f_aql), ("Inspection", self.f_inspection)]
        per_row = 3 if self.ctx.text_scale <= 1.0 else 2
        for i, (label, wdg) in enumerate(pairs):
            r, c = divmod(i, per_row)
            g.addWidget(QLabel(label, box), r, 2 * c)
            g.addWidget(wdg, r, 2 * c + 1)
            wdg.setMinimumHeight(self.ctx.metrics.input_height)
        r, c = divmod(len(pairs), per_row)
        g.addWidget(self.f_all, r, 2 * c, 1, 2 * (per_row - c))
        lay.addLayout(g)
        kl = QHBoxLayout()
        kl.addWidget(QLabel("Lot key: same", box))
        kl.addLayout(keys, 1)
        lay.addLayout(kl)
        row = QHBoxLayout()
        self.preview_button = QPushButton("Preview", box)
        self.preview_button.setToolTip("Show the lots without storing them")
        self.preview_button.clicked.connect(lambda: self.form_lots(dry_run=True))
        self.store_button = QPushButton("Form and store", box)
        self.store_button.setProperty("primary", True)
        self.store_button.clicked.connect(lambda: self.form_lots(dry_run=False))
        self.back_button = QPushButton("Back to the lots", box)
        self.back_button.clicked.connect(lambda: self.stack.setCurrentWidget(self.detail if self.lot else self.empty))
        for b in (self.preview_button, self.store_button, self.back_button):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.formation_summary = QLabel("", box)
        self.formation_summary.setWordWrap(True)
        lay.addWidget(self.formation_summary)
        split = QSplitter(Qt.Orientation.Horizontal, box)
        self.f_lots_view, self.f_lots_model = _table(split, (("size", "N"), ("n", "n"), ("acre", "Ac/Re"),
                                                            ("name", "Lot key")), scale=scale)
        self.f_lots_view.verticalHeader().setVisible(False)
        self.f_lots_view.clicked.connect(lambda idx: self._show_formation_members(idx.row()))
        tabs = QTabWidget(split)
        self.f_members_view, self.f_members_model = _table(tabs, (
            ("manufacturer", "Make"), ("serial", "Serial"), ("site", "Site"), ("install_date", "Installed"),
            ("clock_start", "Clock start")), scale=scale)
        tabs.addTab(self.f_members_view, "Members of the lot")
        self.f_apart_view, self.f_apart_model = _table(tabs, (
            ("manufacturer", "Make"), ("serial", "Serial"), ("site", "Site"), ("install_date", "Installed"),
            ("reason", "Why apart")), scale=scale)
        tabs.addTab(self.f_apart_view, "Listed apart")
        self.f_tabs = tabs
        split.setMinimumHeight(round(200 * scale))
        lay.addWidget(split, 1)
        # scrolls rather than push the window taller than the screen (larger text)
        from PySide6.QtWidgets import QFrame, QScrollArea

        scroll = QScrollArea(self.stack)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(box)
        self.form_panel = scroll
        self.stack.addWidget(scroll)

    # ====================================================================== lots list
    def load_lots(self, select: int | None = None):
        return self.page.run_db("Sampling lots", service.load_lots, on_done=lambda lots: self._lots_loaded(lots, select))

    def _lots_loaded(self, lots, select: int | None = None) -> None:
        if isinstance(lots, service.Failure):
            self.page.show_error(f"The lots could not be read: {lots.message}")
            return
        self.set_lots(lots)
        if select is not None:
            self.open_lot(select)

    def set_lots(self, lots: list[dict]) -> None:
        self.lots = [lt for lt in lots if lt.get("round")]
        rows = []
        # lots in progress first, then decided ones, then those only formed; newest first in each
        order = {"drawn": 0, "testing": 0, "verdict_pass": 1, "verdict_fail": 1}
        for lt in sorted(self.lots, key=lambda x: (order.get(x["status"], 2), -x["id"])):
            state = STATUS.get(lt["status"], lt["status"])
            if lt["status"] in ("drawn", "testing"):
                state = f"{state} {lt['results']}/{lt['sample_size']}"
            rows.append({"id": lt["id"], "name": short_key(lt["key"] or {}) or lt["name"], "lot_size": lt["lot_size"],
                         "sizes": f"{lt['sample_size']} of {lt['lot_size']}", "sample_size": lt["sample_size"], "acc": f"{lt['acceptance_number']}/{lt['rejection_number']}",
                         "state": state, "status": lt["status"]})
        self.lots_model.set_rows(rows)
        self.lots_view.resizeColumnsToContents()
        n_pass = sum(1 for lt in self.lots if lt["status"] == "verdict_pass")
        n_fail = sum(1 for lt in self.lots if lt["status"] == "verdict_fail")
        self.lots_note.setText(f"{len(self.lots)} lots: {n_pass} passed, {n_fail} failed, "
                               f"{len(self.lots) - n_pass - n_fail} open." if self.lots else
                               "No sampling lot yet: form the lots of the meters due for sampling.")
        self._select_row(self.lot["id"] if self.lot else None)

    def _select_row(self, lot_id: int | None) -> None:
        for i, r in enumerate(self.lots_model.rows):
            if r["id"] == lot_id:
                self.lots_view.selectRow(i)
                return

    def _lot_colour(self, row: dict, key: str):
        if key == "state":
            return {"verdict_pass": (PASS_BG, True), "verdict_fail": (FAIL_BG, True)}.get(row["status"], (None, False))
        return None, False

    # ====================================================================== one lot
    def open_lot(self, lot_id: int, tab: str | None = None):
        self._want_tab = tab
        self._want_lot = lot_id
        return self.page.run_db(f"Lot {lot_id}", service.lot_detail, lot_id,
                                on_done=lambda lot: self._lot_loaded(lot, lot_id))

    def _lot_loaded(self, lot, lot_id: int | None = None) -> None:
        if lot_id is not None and lot_id != getattr(self, "_want_lot", lot_id):
            return   # the user has chosen another lot meanwhile
        if isinstance(lot, service.Failure):
            self.page.show_error(lot.message)
            return
        if self.lot is None or self.lot["id"] != lot["id"]:
            self.points = {}
        self.lot = lot
        self.page.set_setting("lot", lot["id"])
        self._fill_detail(lot)
        self.stack.setCurrentWidget(self.detail)
        self._select_row(lot["id"])
        tab = getattr(self, "_want_tab", None)
        if tab is not None:
            self.show_tab(tab)

    def show_tab(self, name: str) -> None:
        names = {"plan": 0, "draw": 1, "results": 2, "verdict": 3}
        self.tabs.setCurrentIndex(names[name])

    def _fill_detail(self, lot: dict) -> None:
        plan = lot.get("plan") or {}
        cons = lot.get("consequences") or {}
        vr = lot.get("verdict_record")
        self.lot_title.setText(f"Lot {lot['id']}: {key_text(lot['key'] or {})} — {lot['lot_size']} meters, "
                               f"{(lot.get('purpose') or '').replace('_', ' ').replace('9y', 'at 9 years').replace('13y', 'at 13 years')}")
        status = STATUS.get(lot["status"], lot["status"])
        state = {"verdict_pass": "pass", "verdict_fail": "fail"}.get(lot["status"], "info")
        self.plan_panel.set_verdict(f"ISO 2859-1: code letter {plan.get('code_letter')}, sample n = "
                                    f"{plan.get('sample_size')}, accept with ≤ {plan.get('acceptance_number')} "
                                    f"defective — {status}", state)
        self.plan_panel.set_rows([
            ("Plan", [f"level {plan.get('level')}", f"AQL {plan.get('aql'):g} %" if plan.get("aql") is not None else "",
                      f"{plan.get('inspection')} inspection"]),
            ("Lot and sample", [f"N = {lot['lot_size']}", f"n = {plan.get('sample_size')}",
                                f"Ac {plan.get('acceptance_number')}, Re {plan.get('rejection_number')}"]),
        ])
        rule = lot.get("rule") or {}
        self.plan_panel.set_note(f"Formed {str(lot.get('formed_at') or '')[:10]} by {lot.get('formed_by')} as of "
                                 f"{rule.get('as_of')}: {rule.get('eligibility', '')}; key: "
                                 f"{', '.join(f.replace('_', ' ') for f in rule.get('key_fields', []))}.")
        drawn = {m["meter_id"]: m for m in (lot["draw"] or {}).get("meters", [])}
        by_id = {m["meter_id"]: m for m in cons.get("members", [])}
        members = []
        for m in lot["members"]:
            snap = m.get("snapshot") or {}
            c = by_id.get(m["meter_id"], {})
            d = drawn.get(m["meter_id"])
            members.append({"meter_id": m["meter_id"], "manufacturer": m["manufacturer"], "serial": m["serial"],
                            "model": snap.get("model"), "site": m.get("site"), "install_date": snap.get("install_date"),
                            "clock_start": snap.get("clock_start"),
                            "drawn": "" if d is None else (f"spare {d['order'] + 1}" if d["spare"] else f"sample {d['order'] + 1}"),
                            "consequence": action_text(c) if c else "", "action": c.get("action"),
                            "next_sampling": c.get("next_sampling")})
        self.members_model.set_rows(members)
        self.members_view.resizeColumnsToContents()

        # draw
        draw = lot.get("draw")
        if draw is None:
            self.draw_info.setText("Not drawn yet. Give a seed (or take a new one) and draw: the sample and the "
                                   "spares are stored with the seed, so anyone can draw them again.")
            self.draw_model.set_rows([])
            if not self.seed.text().strip():
                self.new_seed()
            self.draw_button.setText("Draw")
        else:
            rep = {True: "yes", False: "NO — the stored draw differs", None: "cannot be checked"}[draw.get("reproduced")]
            n_sp = sum(1 for m in draw["meters"] if m["spare"])
            self.draw_info.setText(f"Seed {draw.get('seed')}: {len(draw['meters']) - n_sp} meters sampled and {n_sp} "
                                   f"spares. The stored seed and members give this draw again: {rep}.")
            self.seed.setText(str(draw.get("seed") or ""))
            self.draw_model.set_rows([{**m, "order": m["order"] + 1, "role": "spare" if m["spare"] else "sample"}
                                      for m in draw["meters"]])
            self.draw_view.resizeColumnsToContents()
            self.draw_button.setText("Draw again…")
        for wdg in (self.draw_button, self.new_seed_button, self.seed, self.spares):
            wdg.setEnabled(vr is None)

        # results
        self._fill_results(lot)
        can_enter = draw is not None and vr is None
        for b in (self.record_button, self.import_button):
            b.setEnabled(can_enter)

        # verdict
        self._fill_verdict(lot)
        self.decide_row.setVisible(draw is not None and vr is None)
        self.oc_chart.set_data(lot.get("oc_curve") or [], {**plan, "lot_size": lot["lot_size"]}, lot.get("observed"))

    def _fill_results(self, lot: dict) -> None:
        t = self.results_table
        t.setRowCount(0)
        draw = lot.get("draw")
        if draw is None:
            return
        res = {r["meter_id"]: r for r in lot.get("results_list") or []}
        self._result_rows = []
        for m in draw["meters"]:
            r = t.rowCount()
            t.insertRow(r)
            rec = res.get(m["meter_id"])
            cells = [str(m["order"] + 1), "spare" if m["spare"] else "sample", m["manufacturer"] or "", m["serial"] or ""]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                t.setItem(r, c, item)
            t.setItem(r, 4, QTableWidgetItem(""))
            box = QCheckBox(t)
            box.setToolTip("The meter could not be tested (a spare stands in for it)")
            t.setCellWidget(r, 5, box)
            pb = QPushButton(self._points_text(m["meter_id"]), t)
            pb.clicked.connect(lambda _c=False, mm=m: self.edit_points(mm))
            t.setCellWidget(r, 6, pb)
            if rec is None:
                text, bg = "—", None
            elif rec["inaccessible"]:
                text, bg = "inaccessible", GREY_BG
            else:
                verdict = "DEFECTIVE" if rec["defective"] else "within limit"
                text = f"{rec['error_pct']:+.2f} % (limit ±{rec['limit_pct']:.2f} %): {verdict}"
                bg = FAIL_BG if rec["defective"] else PASS_BG
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if bg:
                item.setBackground(QBrush(QColor(bg)))
            t.setItem(r, 7, item)
            self._result_rows.append((m, rec))
        t.resizeColumnsToContents()
        t.horizontalHeader().setStretchLastSection(True)

    def _points_text(self, meter_id: int) -> str:
        p = self.points.get(meter_id)
        return f"{len(p['points'])} points…" if p else "Points…"

    def _fill_verdict(self, lot: dict) -> None:
        cons = lot.get("consequences")
        vr = lot.get("verdict_record")
        plan = lot.get("plan") or {}
        p = self.verdict_panel
        if cons is None:
            p.set_verdict("Not drawn yet", "")
            p.set_rows([("Plan", f"n = {plan.get('sample_size')}, Ac {plan.get('acceptance_number')}, "
                                 f"Re {plan.get('rejection_number')}")])
            p.set_note("Draw the sample, enter the results, then decide.")
            return
        v = cons["verdict"]
        if vr is not None:
            text = {"pass": "PASS", "fail": "FAIL"}.get(v, v.upper()) + f" — decided on {vr['decided_on']}"
            state = "pass" if v == "pass" else "fail"
        elif v == "incomplete":
            text, state = f"Incomplete: {cons['tested']} of {cons['sample_size']} tested", "warn"
        else:
            text = f"So far: {'PASS' if v == 'pass' else 'FAIL'} (not decided yet)"
            state = "warn"
        p.set_verdict(text, state)
        d, ac = cons["defectives"], cons["acceptance_number"]
        rows = [
            ("Tested / sample", f"{cons['tested']} / {cons['sample_size']}"),
            ("Defective (> 2 × MPE)", f"{d}", "fail" if d > ac else ("pass" if cons["tested"] else None)),
            ("Accept with at most", f"{ac} (reject at {cons['rejection_number']})"),
        ]
        obs = lot.get("observed")
        if obs:
            rows.append(("Pa at this lot's p", f"{obs['pa_binomial']:.3f} (p = {obs['p']:.3g})"))
        p.set_rows(rows)
        members = cons.get("members") or []
        if v == "pass":
            dates = sorted(m["retain_until"] for m in members if m.get("retain_until"))
            note = (f"All {len(members)} members may stay in service to {cons['action'].split('_')[2]} years after "
                    f"their clock start (first on {dates[0] if dates else '—'}).")
            if cons.get("sampling_round") == 9:
                note += " Next: sample them again at 13 years."
        elif v == "fail":
            dates = sorted(m["replace_by"] for m in members if m.get("replace_by"))
            note = (f"All {len(members)} members go on the replacement list: recalibrate or replace by "
                    f"{cons['action'].rsplit('_', 2)[-2]} years (first by {dates[0] if dates else '—'}).")
        else:
            note = f"{cons.get('missing', cons['sample_size'] - cons['tested'])} more meters to test before a verdict."
        p.set_note(note + " Each member's consequence is listed under Plan and members.")

    def _member_colour(self, row: dict, key: str):
        if key == "consequence" and row.get("action"):
            a = row["action"]
            return (PASS_BG if a.startswith("retain") else FAIL_BG if a.startswith("recal") else None), False
        if key == "drawn" and row.get("drawn"):
            return None, True
        return None, False

    def _draw_colour(self, row: dict, key: str):
        if key == "status":
            return {"tested": (PASS_BG, False), "inaccessible": (GREY_BG, False)}.get(row.get("status"), (None, False))
        return None, False

    # ====================================================================== actions
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
        if force and confirm and not self.ctx.screenshot:
            n = len(self.lot.get("results_list") or [])
            answer = QMessageBox.question(self, "Draw again?",
                                          f"Lot {self.lot['id']} was drawn with seed {self.lot['draw'].get('seed')}. "
                                          f"Drawing again discards that draw and its {n} results (the event log "
                                          "keeps them). Draw again?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
        lid = self.lot["id"]
        return self.page.run_db(f"Draw lot {lid}", service.draw, lid, seed, spares, force, self.page.user(),
                                on_done=lambda r: self._after(r, lid, "draw", f"Lot {lid} drawn with seed {seed}."))

    def _after(self, result, lot_id: int, tab: str, message: str) -> None:
        if isinstance(result, service.Failure):
            self.last_failure = result
            self.page.show_error(result.message)
            return
        self.last_failure = None
        self.page.show_info(message)
        self.load_lots()
        self.open_lot(lot_id, tab)
        self.page.schedule_changed()

    def typed_entries(self) -> list | service.Failure:
        from app.storage.planning import ResultEntry

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
            entries.append(ResultEntry(m["manufacturer"], m["serial"], **kw))
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
        return self.page.run_db(f"Results of lot {lid}", service.record, lid, entries, self.replace_box.isChecked(),
                                self.page.user(), pydate(self.tested_on.date()),
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
        if self.lot is None or self.ctx.screenshot:
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
                                self.replace_box.isChecked(), self.page.user(), pydate(self.tested_on.date()),
                                on_done=lambda r: self._recorded(r, lid, f"Imported the results for lot {lid}."))

    def decide(self):
        if self.lot is None:
            return None
        lid = self.lot["id"]
        on = pydate(self.decided_on.date())
        return self.page.run_db(f"Verdict of lot {lid}", service.decide, lid, on, self.page.user(),
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
        if self.lot is None or self.ctx.screenshot:
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

    # ====================================================================== forming
    def show_form_panel(self) -> None:
        self.stack.setCurrentWidget(self.form_panel)

    def set_sites(self, sites: list[str]) -> None:
        cur = self.f_site.currentData()
        self.f_site.clear()
        self.f_site.addItem("All sites", None)
        for s in sites:
            self.f_site.addItem(s, s)
        self.f_site.setCurrentIndex(max(0, self.f_site.findData(cur)))

    def form_params(self) -> dict[str, Any]:
        return {"as_of": pydate(self.f_as_of.date()), "sampling_round": int(self.f_round.currentData()),
                "window_months": self.f_window.value(), "key": tuple(f for f, cb in self.f_key.items() if cb.isChecked()),
                "site": self.f_site.currentData(), "all_meters": self.f_all.isChecked(),
                "level": self.f_level.currentData(), "aql": float(self.f_aql.currentData()),
                "inspection": self.f_inspection.currentData()}

    def form_lots(self, dry_run: bool = True):
        p = self.form_params()
        return self.page.run_db("Form lots" if not dry_run else "Preview lots", service.form, dry_run=dry_run,
                                user=self.page.user(), **p, on_done=lambda f: self._formed(f, dry_run))

    def _formed(self, f, dry_run: bool) -> None:
        if isinstance(f, service.Failure):
            self.last_failure = f
            self.page.show_error(f"No lot formed: {f.message}")
            return
        self.last_failure = None
        d = f.as_dict()
        self.formation = d
        ne = ", ".join(f"{NOT_ELIGIBLE.get(k, k)} {v}" for k, v in sorted(d["not_eligible"].items()))
        window = f"by {d['window_end']}" if not d["all_meters"] else "(all meters)"
        if not d["lots"]:
            self.formation_summary.setText(f"No meter is due for the {d['round']}-year sampling {window}: no lot "
                                           f"formed. Of {d['meters_considered']} meters: {ne or 'none eligible'}.")
            self.page.show_warning(f"No lot formed: no meter is due for the {d['round']}-year sampling {window} "
                                   f"({ne or 'none eligible'}). Nothing was stored.")
        else:
            n = sum(lt["size"] for lt in d["lots"])
            self.formation_summary.setText(
                f"{len(d['lots'])} lots of {n} meters{' (preview, not stored)' if dry_run else ', stored'}; "
                f"{len(d['apart'])} listed apart (never pooled); not eligible: {ne or 'none'}.")
            if not dry_run:
                self.page.show_info(f"Formed and stored {len(d['lots'])} lots of {n} meters.")
                self.load_lots()
                self.page.schedule_changed()
        self.f_lots_model.set_rows([{"name": short_key(lt["key"]), "size": lt["size"], "n": lt["plan"]["sample_size"],
                                     "acre": f"{lt['plan']['acceptance_number']}/{lt['plan']['rejection_number']}",
                                     "id": lt.get("id")} for lt in d["lots"]])
        self.f_lots_view.resizeColumnsToContents()
        self.f_apart_model.set_rows([{**a, "reason": APART.get(a["reason"], a["reason"].replace("_", " "))}
                                     for a in d["apart"]])
        self.f_tabs.setTabText(1, f"Listed apart ({len(d['apart'])})")
        if d["lots"]:
            self._show_formation_members(0)
            self.f_lots_view.selectRow(0)
        else:
            self.f_members_model.set_rows([])

    def _show_formation_members(self, row: int) -> None:
        if not self.formation or row >= len(self.formation["lots"]):
            return
        lt = self.formation["lots"][row]
        self.f_members_model.set_rows(lt["members"])
        self.f_members_view.resizeColumnsToContents()
        self.f_tabs.setTabText(0, f"Members ({lt['size']})")
        self.f_tabs.setTabToolTip(0, key_text(lt["key"]))
        self.f_tabs.setCurrentIndex(0)

    def _verdict_direction(self, scale: float) -> None:
        from PySide6.QtWidgets import QBoxLayout

        self.verdict_layout.setDirection(QBoxLayout.Direction.LeftToRight if scale <= 1.0
                                         else QBoxLayout.Direction.TopToBottom)
        self.oc_chart.setMinimumHeight(180 if scale <= 1.0 else round(300 * scale))

    def set_text_scale(self, scale: float) -> None:
        restyle(self, scale)
        self.oc_chart.scale = scale
        self.oc_chart.set_text_scale(scale)
        self._verdict_direction(scale)
        self.split.setSizes([round(260 * scale), 900])
