"""What the planner's Lots view and its parts share: words for states and reasons, the table helper."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from app.ui.planner.models import DictTableModel

LOT_COLUMNS = (("id", "Lot"), ("name", "Key"), ("state", "State"), ("sizes", "n of N"), ("acc", "Ac/Re"))
STATUS = {"formed": "formed", "drawn": "drawn", "testing": "testing", "verdict_pass": "PASSED",
          "verdict_fail": "FAILED"}
KEY_FIELDS = (("manufacturer", "make"), ("model", "model"), ("qp_m3h", "qp"), ("install_year", "install year"),
              ("site", "site"), ("accuracy_class", "class"))
APART = {"install_date_unknown": "install date unknown", "reinstalled_after_repair": "re-installed after repair"}
NOT_ELIGIBLE = {"not_due_yet": "not due yet", "past_deadline": "past the deadline (overdue)",
                "in_open_lot": "already in an open lot", "sampled_this_cycle": "sampled this cycle",
                "lot_failed_replacement_list": "on a replacement list", "no_passed_9y_lot": "no passed 9-year lot",
                "restricted": "processing restricted (never drawn)", "failed_recalibration": "recalibration failed",
                "defective_in_passed_lot": "defective in its lot (to be replaced)"}
SUBASSEMBLIES = (("Complete meter", "complete_meter"), ("Flow sensor", "flow_sensor"),
                 ("Temperature pair", "temperature_pair"), ("Calculator", "calculator"))
PASS_BG, FAIL_BG, GREY_BG = "#d7f0dd", "#f9d4d0", "#eeeeee"


def lot_table(parent, columns, colour=None, scale: float = 1.0) -> tuple[QTableView, DictTableModel]:
    model = DictTableModel(list(columns), parent, colour=colour)
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)   # a cut key keeps its qp and year; the tooltip has it all
    view.verticalHeader().setDefaultSectionSize(round(30 * scale))
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setResizeContentsPrecision(200)
    return view, model


def short_key(key: dict) -> str:
    """The key's values only, e.g. ``Kamstrup MULTICAL 603 1.5 2016`` (for lists)."""
    return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in key.values())


def key_lines(key: dict) -> str:
    """The key on two lines for the lots list: make and model, then the rest with their names
    (``Kamstrup MULTICAL 603`` / ``qp 2.5 · 2016``)."""
    first = " ".join(str(key[f]) for f in ("manufacturer", "model") if key.get(f) not in (None, ""))
    rest = []
    for f, label in KEY_FIELDS:
        if f in ("manufacturer", "model") or f not in key:
            continue
        v = key[f]
        v = f"{v:g}" if isinstance(v, float) else str(v)
        rest.append(v if f == "install_year" else f"{label} {v}")
    second = " · ".join(rest)
    return "\n".join(x for x in (first, second) if x) or short_key(key)


def key_text(key: dict) -> str:
    parts = []
    for f, label in KEY_FIELDS:
        if f in key:
            parts.append(f"{label} {key[f]:g}" if isinstance(key[f], float) else f"{label} {key[f]}")
    return " · ".join(parts)

