"""Step 2 of the Commission wizard: where the meter is installed (site, building, location, MMS Annex A point)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QGridLayout, QLabel, QLineEdit, QWidget

from app.services.commissioning import CommissioningState
from app.ui.commission.steps.base import MUTED, Step, parse_num, scroll_area
from app.ui.commission.widgets import section


POINT_SEP = " — "


def point_id(text: str) -> str:
    """The monitoring point's id out of the list's ``ID — description`` (a typed local label as it is)."""
    return (text or "").split(POINT_SEP)[0].strip()


class PlaceStep(Step):
    hint = ("Where the meter is: site, building, location and its monitoring point (MMS Annex A id such as SS1 "
            "or CC1, which sets the read interval). New names are created in the register.")

    siteChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        area, inner, lay = scroll_area(self)
        self.outer.addWidget(area, 1)
        box, bl = section("Place", inner)
        g = QGridLayout()
        g.setHorizontalSpacing(10)
        g.addWidget(QLabel("Site (heat network)", inner), 0, 0)
        self.site = QComboBox(inner)
        self.site.setObjectName("field_site")
        self.site.setEditable(True)
        self.site.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.site.currentTextChanged.connect(self.siteChanged)
        g.addWidget(self.site, 0, 1)
        g.addWidget(QLabel("Building", inner), 1, 0)
        self.building = QLineEdit(inner)
        self.building.setObjectName("field_building")
        self.building.setPlaceholderText("e.g. Block A")
        g.addWidget(self.building, 1, 1)
        g.addWidget(QLabel("Location", inner), 2, 0)
        self.location = QLineEdit(inner)
        self.location.setObjectName("field_location")
        self.location.setPlaceholderText("e.g. plant room, riser cupboard level 2")
        g.addWidget(self.location, 2, 1)
        g.addWidget(QLabel("Monitoring point", inner), 3, 0)
        self.point = QComboBox(inner)
        self.point.setObjectName("field_monitoring_point")
        self.point.setEditable(True)
        self.point.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.point.currentTextChanged.connect(self._point_changed)
        g.addWidget(self.point, 3, 1)
        self.point_info = QLabel("", inner)
        self.point_info.setWordWrap(True)
        self.point_info.setStyleSheet(MUTED)
        g.addWidget(self.point_info, 4, 1)
        g.addWidget(QLabel("Installed on", inner), 5, 0)
        self.installed = QDateEdit(inner)
        self.installed.setObjectName("field_install_date")
        self.installed.setCalendarPopup(True)
        self.installed.setDisplayFormat("yyyy-MM-dd")
        self.installed.setDate(QDate.currentDate())
        g.addWidget(self.installed, 5, 1)
        g.addWidget(QLabel("Design flow temperature", inner), 6, 0)
        self.design_flow = QLineEdit(inner)
        self.design_flow.setObjectName("field_design_flow_c")
        self.design_flow.setPlaceholderText("°C, e.g. 70 (the substation's flow temperature set point)")
        g.addWidget(self.design_flow, 6, 1)
        self.design_info = QLabel("At a substation offtake (SS2) the volume-weighted average flow temperature of "
                                  "the observation window must be within ±3 °C of it (HNTAS SS-KPI-09A).", inner)
        self.design_info.setWordWrap(True)
        self.design_info.setStyleSheet(MUTED)
        g.addWidget(self.design_info, 7, 1)
        g.setColumnStretch(1, 1)
        bl.addLayout(g)
        lay.addWidget(box)
        self.where_now = QLabel("", inner)
        self.where_now.setWordWrap(True)
        lay.addWidget(self.where_now)
        lay.addStretch(1)
        self.annex: dict[str, dict[str, Any]] = {}
        self.points_at_site: list[dict[str, Any]] = []

    def set_sites(self, names: list[str]) -> None:
        cur = self.site.currentText()
        self.site.blockSignals(True)
        self.site.clear()
        self.site.addItems(names)
        self.site.setCurrentText(cur)
        self.site.blockSignals(False)

    def set_points(self, annex: dict[str, dict[str, Any]], at_site: list[dict[str, Any]]) -> None:
        self.annex = annex
        self.points_at_site = at_site
        cur = self.point.currentText()
        self.point.blockSignals(True)
        self.point.clear()
        seen = set()
        for p in at_site:                        # the points already used at this site first
            self.point.addItem(self.point_text(p["label"]), p["label"])
            seen.add(p["label"].upper())
        for pid, info in annex.items():
            if pid not in seen:
                self.point.addItem(self.point_text(pid), pid)
                self.point.setItemData(self.point.count() - 1, f"MMS Annex A {pid}: {info['description']}, read at "
                                       f"least every {info['read_interval_min']} min", Qt.ItemDataRole.ToolTipRole)
        self.point.setCurrentText(self.point_text(point_id(cur)) if cur else "")
        self.point.blockSignals(False)
        self._point_changed(cur)

    def point_text(self, pid: str) -> str:
        """``EC1 — Heat source energy input (energy centre)``: the id with its MMS Annex A description."""
        info = self.annex.get(pid.strip().upper())
        if not info:
            return pid
        return f"{pid.strip().upper()}{POINT_SEP}{info['description']} ({info['element'].replace('_', ' ')})"

    def _point_changed(self, text: str) -> None:
        text = point_id(text)
        info = self.annex.get(text.strip().upper())
        if info:
            self.point_info.setText(f"MMS Annex A {text.strip().upper()}: {info['description']} "
                                    f"({info['element'].replace('_', ' ')}); read at least every "
                                    f"{info['read_interval_min']} min.")
        elif text.strip():
            self.point_info.setText("Not an MMS Annex A id: kept as a local label.")
        else:
            self.point_info.setText("")

    def read_interval_min(self) -> int | None:
        info = self.annex.get(point_id(self.point.currentText()).upper())
        return info["read_interval_min"] if info else None

    def load(self, state: CommissioningState) -> None:
        p = state.place
        self.site.setCurrentText(p.get("site") or "")
        self.building.setText(p.get("building") or "")
        self.location.setText(p.get("location") or "")
        self.point.setCurrentText(self.point_text(p["monitoring_point"]) if p.get("monitoring_point") else "")
        if p.get("install_date"):
            self.installed.setDate(QDate.fromString(p["install_date"], "yyyy-MM-dd"))
        d = p.get("design_flow_c")
        self.design_flow.setText("" if d in (None, "") else f"{float(d):g}")

    def collect(self, state: CommissioningState) -> None:
        state.place = {"site": " ".join(self.site.currentText().split()),
                       "building": self.building.text().strip() or None,
                       "location": self.location.text().strip() or None,
                       "monitoring_point": point_id(self.point.currentText()) or None,
                       "install_date": self.installed.date().toString("yyyy-MM-dd"),
                       "design_flow_c": self._design_flow()}

    def _design_flow(self) -> float | None:
        try:
            return parse_num(self.design_flow.text())
        except ValueError:
            return None

    def problems(self) -> list[tuple[QWidget, str]]:
        out = []
        if not self.site.currentText().strip():
            out.append((self.site, "Enter the site (heat network) the meter belongs to."))
        if not point_id(self.point.currentText()):
            out.append((self.point, "Choose the monitoring point (MMS Annex A id, e.g. CC1)."))
        text = self.design_flow.text().strip()
        try:
            v = parse_num(text)
        except ValueError:
            v = None
            out.append((self.design_flow, f"Design flow temperature: {text!r} is not a number of °C."))
        if v is not None and not 0 < v < 200:
            out.append((self.design_flow, "Design flow temperature: give it in °C (0 to 200)."))
        return out
