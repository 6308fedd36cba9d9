"""The planner's "Lots" view: form lots, draw with seed and spares, enter results, verdict, OC curve, report.

Every database step runs in a worker (``page.run_db``); a user mistake comes
back as a :class:`~app.services.planner.Failure` and is shown in the
page's banner (and at its field or row), while what the user typed stays.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from app.services import planner as service
from app.ui.calculators.look import restyle, styled
from app.ui.planner.lot_common import FAIL_BG, LOT_COLUMNS, PASS_BG, STATUS, key_lines, key_text, lot_table
from app.ui.planner.lot_actions import LotActionsMixin
from app.ui.planner.lot_detail import LotDetailMixin
from app.ui.planner.lot_forming import LotFormingMixin


class LotsView(LotFormingMixin, LotActionsMixin, LotDetailMixin, QWidget):
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
        self.lots_view, self.lots_model = lot_table(left, LOT_COLUMNS, self._lot_colour, scale)
        self.lots_view.verticalHeader().setVisible(False)
        self._two_line_rows(scale)
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

    def load_lots(self, select: int | None = None):
        return self.page.run_db("Sampling lots", service.list_lots, on_done=lambda lots: self._lots_loaded(lots, select))

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
            rows.append({"id": lt["id"], "name": key_lines(lt["key"] or {}) or lt["name"],
                         "name_tip": key_text(lt["key"] or {}) or lt["name"], "lot_size": lt["lot_size"],
                         "sizes": f"{lt['sample_size']} of {lt['lot_size']}", "sample_size": lt["sample_size"], "acc": f"{lt['acceptance_number']}/{lt['rejection_number']}",
                         "state": state, "status": lt["status"]})
        self.lots_model.set_rows(rows)
        self.fit_lots_list()
        n_pass = sum(1 for lt in self.lots if lt["status"] == "verdict_pass")
        n_fail = sum(1 for lt in self.lots if lt["status"] == "verdict_fail")
        self.lots_note.setText(f"{len(self.lots)} lots: {n_pass} passed, {n_fail} failed, "
                               f"{len(self.lots) - n_pass - n_fail} open." if self.lots else
                               "No sampling lot yet: form the lots of the meters due for sampling.")
        self._select_row(self.lot["id"] if self.lot else None)

    def showEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().showEvent(ev)
        self.fit_lots_list()

    def _two_line_rows(self, scale: float) -> None:
        """Rows two lines high: the key's make and model, then its qp and year."""
        fm = self.lots_view.fontMetrics()
        self.lots_view.verticalHeader().setDefaultSectionSize(max(round(30 * scale), 2 * fm.lineSpacing() + 10))

    def fit_lots_list(self) -> None:
        """Columns to their contents, and the list as wide as they need (up to half the view): a key is
        never cut short."""
        view = self.lots_view
        view.resizeColumnsToContents()
        need = view.horizontalHeader().length() + view.verticalScrollBar().sizeHint().width()
        need += 2 * view.frameWidth() + 6 + 12     # the frame, the layout's margin, a little air
        sizes = self.split.sizes() if hasattr(self, "split") else []
        if len(sizes) == 2 and sum(sizes) > 0:
            left = min(max(need, sizes[0]), sum(sizes) // 2)
            if left != sizes[0]:
                self.split.setSizes([left, sum(sizes) - left])

    def _select_row(self, lot_id: int | None) -> None:
        for i, r in enumerate(self.lots_model.rows):
            if r["id"] == lot_id:
                self.lots_view.selectRow(i)
                return

    def _lot_colour(self, row: dict, key: str):
        if key == "state":
            return {"verdict_pass": (PASS_BG, True), "verdict_fail": (FAIL_BG, True)}.get(row["status"], (None, False))
        return None, False

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
        self._two_line_rows(scale)
        self.split.setSizes([round(260 * scale), 900])
        self.fit_lots_list()
