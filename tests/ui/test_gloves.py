"""Gloves in a plant room: drop-down rows a finger can hit and read, monitoring points in words."""
from __future__ import annotations

import csv

import pytest

from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox

from pathlib import Path

CSV = Path(__file__).resolve().parents[2] / "resources" / "mms_monitoring_points.csv"


@pytest.mark.qt_log_ignore(r"^This plugin does not support raise\(\)$",
                           "^This plugin does not support grabbing the keyboard$")   # a popup, offscreen
def test_every_drop_down_has_44_px_rows_and_a_readable_row_under_the_pointer(make_window, qtbot):
    """The row under the pointer used to turn white on white, and rows were 18-26 px high."""
    from app.ui import theme

    win = make_window(page="live")
    combos = [c for c in win.findChildren(QComboBox) if c.isVisible() and c.count() >= 2]
    assert combos                                                    # the plot's time window at least
    for combo in combos:
        combo.showPopup()
        view = combo.view()
        qtbot.waitUntil(view.isVisible)
        rows = [view.visualRect(view.model().index(i, 0)) for i in range(combo.count())]
        assert min(r.height() for r in rows) >= 44, combo.objectName()
        target = rows[1]
        QTest.mouseMove(view.viewport(), target.center())
        view.setCurrentIndex(view.model().index(1, 0))
        image = view.viewport().grab().toImage()
        dpr = image.devicePixelRatio()
        background = image.pixelColor(round((target.left() + 2) * dpr), round(target.center().y() * dpr))
        assert background == QColor(theme.ACCENT)                   # dark blue under the white text
        text_pixels = {image.pixelColor(round(x * dpr), round(y * dpr)).name()
                       for x in range(target.left(), target.right(), 2)
                       for y in range(target.top() + 8, target.bottom() - 8, 2)}
        assert "#ffffff" in text_pixels                             # white text on it, not white on white
        combo.hidePopup()


def test_monitoring_points_are_listed_with_their_description(make_window, qtbot):
    win = make_window(page="commission")
    page = win.current_page()
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=20000)
    with open(CSV, encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    annex = {r["id"]: {"description": r["description"], "element": r["element"],
                       "read_interval_min": int(r["min_read_interval_min"])} for r in rows}
    step = page.place_step
    step.set_points(annex, [])
    items = [step.point.itemText(i) for i in range(step.point.count())]
    for r in rows:
        assert f"{r['id']} — {r['description']}" in "\n".join(items)
    from app.ui.commission.steps.place import point_id

    step.point.setCurrentIndex(items.index(next(t for t in items if t.startswith("DD1 "))))
    assert point_id(step.point.currentText()) == "DD1"
    assert "Distribution network initiation point" in step.point_info.text()
