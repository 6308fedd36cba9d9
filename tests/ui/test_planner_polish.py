"""The Planner's charts and lists at a national operator's size: 53 sites whose names never overlap,
lot keys never cut short, the OC curve's legend off the curve."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QFontMetrics

pytestmark = pytest.mark.gui

SITES = [f"Riverside Heat Network Phase {i // 10 + 1} Block {i:02d}" for i in range(53)]


@pytest.mark.parametrize("scale", [1.0, 1.35])
def test_53_site_names_never_overlap(qtbot, scale):
    from app.ui.planner.charts import SiteChartPanel

    panel = SiteChartPanel(scale=scale)
    qtbot.addWidget(panel)
    panel.resize(900, 520)
    panel.show()
    qtbot.waitExposed(panel)
    chart = panel.chart
    # site i has 100 - i meters overdue: the chart orders them as SITES (most meters due first)
    chart.set_data({s: {"overdue": 100 - i} for i, s in enumerate(SITES)})
    qtbot.waitUntil(lambda: chart.getPlotItem().vb.height() > 100)
    chart._fit_rows()
    shown = chart.shown_sites()
    assert 1 < len(shown) < 53 and panel.bar.isVisible()          # a window of the sites, and a scroll bar
    assert shown == SITES[:len(shown)]
    vb = chart.getPlotItem().vb
    row_px = abs(vb.mapViewToScene(QPointF(0, 0)).y() - vb.mapViewToScene(QPointF(0, 1)).y())
    fm = QFontMetrics(chart.tick_font())
    assert row_px >= fm.height()                                   # one site's name per row, with room
    ticks = dict(chart.getPlotItem().getAxis("left")._tickLevels[0])
    for i, site in enumerate(SITES):
        label = ticks[52 - i]
        assert fm.horizontalAdvance(label) <= chart.label_width_px()   # never wider than the axis
        assert label.endswith(f"Block {i:02d}")          # shortened in the middle: the blocks stay apart
    assert len(set(ticks.values())) == 53
    panel.bar.setValue(panel.bar.maximum())                         # scrolled to the end: the last sites
    assert chart.shown_sites()[-1] == SITES[-1]


def test_lot_key_on_two_lines_with_the_whole_key_as_tooltip():
    from app.ui.planner.lot_common import key_lines, key_text
    from app.ui.planner.models import DictTableModel

    key = {"manufacturer": "Kamstrup", "model": "MULTICAL 603", "qp_m3h": 1.5, "install_year": 2016}
    assert key_lines(key) == "Kamstrup MULTICAL 603\nqp 1.5 · 2016"
    assert key_text(key) == "make Kamstrup · model MULTICAL 603 · qp 1.5 · install year 2016"
    m = DictTableModel([("name", "Key")])
    m.set_rows([{"name": key_lines(key), "name_tip": key_text(key)}, {"name": "plain"}])
    assert m.data(m.index(0, 0), Qt.ItemDataRole.ToolTipRole) == key_text(key)
    assert m.data(m.index(0, 0)) == key_lines(key)
    assert m.data(m.index(1, 0), Qt.ItemDataRole.ToolTipRole) == "plain"   # no tip given: the cell's text


def test_oc_legend_under_the_plot_not_over_the_curve(qtbot):
    from app.ui.planner.charts import OcPanel

    panel = OcPanel(scale=1.0)
    qtbot.addWidget(panel)
    panel.resize(700, 420)
    panel.show()
    qtbot.waitExposed(panel)
    plan = {"sample_size": 80, "acceptance_number": 7, "aql": 4.0, "lot_size": 923}
    curve = [{"p": p / 100, "pa_binomial": 1 - p / 30, "pa_hypergeometric": 1 - p / 31} for p in range(0, 30)]
    panel.set_data(curve, plan, {"p": 0.025, "pa_binomial": 0.99, "pa_hypergeometric": 0.991, "defectives": 2,
                                 "tested": 80})
    assert panel.chart.getPlotItem().legend is None                 # nothing drawn over the curve
    text = panel.legend.text()
    for words in ("binomial, n = 80, Ac = 7", "hypergeometric, N = 923", "this lot: 2/80 defective, Pa 0.990"):
        assert words.replace(" ", "&nbsp;") in text
    assert panel.legend.geometry().top() >= panel.chart.geometry().bottom()


def test_planner_fits_the_width_of_a_laptop_screen_at_larger_text(make_window, qtbot):
    """1366 px wide, larger text: the planner scrolls down if it must, never sideways (each tab's
    widest row — the draw row with its job list button, the verdict row — fits)."""
    from PySide6.QtWidgets import QScrollArea

    win = make_window("planner", text_scale=1.35)
    win.resize(1366, 768)
    page = win.page("planner")
    qtbot.waitUntil(lambda: page.width() > 0 and page.isVisible())
    area = next(a for a in page.findChildren(QScrollArea) if a.widget() is page.tabs)
    qtbot.waitUntil(lambda: area.viewport().width() > 0)
    assert win.width() <= 1366
    assert page.tabs.minimumSizeHint().width() <= area.viewport().width(), \
        (page.tabs.minimumSizeHint().width(), area.viewport().width())
    hb = area.horizontalScrollBar()
    qtbot.waitUntil(lambda: not hb.isVisible(), timeout=5000)     # once laid out: no sideways scrolling
    assert hb.maximum() == 0
