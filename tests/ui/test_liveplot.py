"""The live plot: points in, gaps as NaN, crosshair values, pause, follow, CSV and PNG out."""
from __future__ import annotations

import csv
import math
from datetime import datetime

import numpy as np
import pytest
from PySide6.QtGui import QImage

pytestmark = pytest.mark.gui

T0 = 1_760_000_000.0  # a fixed epoch second


@pytest.fixture
def plot(qtbot):
    from app.ui.widgets.liveplot import LivePlot

    w = LivePlot()
    w.resize(1000, 700)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def feed(plot, n=30, missing=(10, 11), t0=T0):
    rows = []
    for i in range(n):
        t = t0 + i
        if i in missing:
            plot.add_gap(t)
            rows.append((t, None))
        else:
            vals = (40.0 + i, 1.5 + i / 100, 70.0 + i / 10, 40.0 + i / 20)
            plot.add_sample(t, *vals)
            rows.append((t, vals))
    return rows


def test_points_reach_the_curves(plot, qtbot):
    feed(plot, n=20, missing=())
    qtbot.waitUntil(lambda: len(plot.plotted("power_kw")[0]) == 20, timeout=3000)
    x, y = plot.plotted("power_kw")
    assert x[0] == T0 and x[-1] == T0 + 19
    assert y[5] == 45.0
    _, dtheta = plot.plotted("dtheta_k")
    assert dtheta[5] == pytest.approx(70.5 - 40.25)
    assert len(plot) == 20


def test_missed_polls_are_gaps_not_interpolated(plot, qtbot):
    feed(plot, n=30, missing=(10, 11))
    qtbot.waitUntil(lambda: len(plot.plotted("flow_m3h")[0]) == 30, timeout=3000)
    for key in ("power_kw", "flow_m3h", "t_flow_c", "t_return_c", "dtheta_k"):
        x, y = plot.plotted(key)
        assert np.isnan(y[10]) and np.isnan(y[11]), key
        assert np.isfinite(y[9]) and np.isfinite(y[12]), key
        assert x[10] == T0 + 10                    # the gap keeps its time
        assert plot.curves[key].opts["connect"] == "finite"


def test_a_missing_value_is_a_gap_in_its_series_only(plot, qtbot):
    plot.add_sample(T0, 10.0, 1.0, 70.0, 40.0)
    plot.add_sample(T0 + 1, 11.0, 1.1, None, 41.0)
    plot.refresh()
    s = plot.samples()[1]
    assert s.power_kw == 11.0 and s.t_return_c == 41.0
    assert s.t_flow_c is None and s.dtheta_k is None
    assert np.isnan(plot.plotted("t_flow_c")[1][1]) and np.isnan(plot.plotted("dtheta_k")[1][1])
    assert plot.plotted("t_return_c")[1][1] == 41.0


def test_time_must_advance(plot):
    assert plot.add_sample(T0, 1, 1, 60, 40)
    assert not plot.add_sample(T0, 2, 2, 60, 40)
    assert not plot.add_gap(T0 - 5)
    assert not plot.add_sample(float("nan"), 1, 1, 60, 40)
    assert len(plot) == 1


def test_a_long_silence_becomes_a_gap(qtbot):
    from app.ui.widgets.liveplot import LivePlot

    w = LivePlot(max_gap_s=5)
    qtbot.addWidget(w)
    w.add_sample(T0, 1, 1, 60, 40)
    w.add_sample(T0 + 2, 1, 1, 60, 40)
    w.add_sample(T0 + 60, 1, 1, 60, 40)   # laptop asleep: no line across
    rows = w.samples()
    assert len(rows) == 4 and rows[2].power_kw is None and T0 + 2 < rows[2].t_epoch_s < T0 + 60


def test_samples_and_csv_rows_match(plot, tmp_path):
    rows = feed(plot, n=25, missing=(3, 17))
    samples = plot.samples()
    assert [s.t_epoch_s for s in samples] == [t for t, _ in rows]
    path = tmp_path / "live.csv"
    assert plot.export_csv(path) == 25
    with open(path, newline="", encoding="utf-8-sig") as f:
        table = list(csv.reader(f))
    header, body = table[0], table[1:]
    assert header == ["timestamp", "Power (kW)", "Flow (m³/h)", "Flow temperature (°C)",
                      "Return temperature (°C)", "Δθ (K)"]
    assert len(body) == len(samples)
    for line, s in zip(body, samples):
        stamp = datetime.fromisoformat(line[0])
        assert stamp.tzinfo is not None and stamp.timestamp() == s.t_epoch_s
        values = [None if c == "" else float(c) for c in line[1:]]
        assert values == [s.power_kw, s.flow_m3h, s.t_flow_c, s.t_return_c, s.dtheta_k]
    assert body[3][1:] == ["", "", "", "", ""]
    t, vals = rows[4]
    assert float(body[4][1]) == vals[0] and float(body[4][5]) == pytest.approx(vals[2] - vals[3])


def test_png_export(plot, tmp_path):
    feed(plot)
    plot.refresh()
    path = tmp_path / "live.png"
    assert plot.export_png(path)
    img = QImage(str(path))
    assert not img.isNull() and img.width() > 200 and img.height() > 200
    # not a blank picture: the curves put more than one colour on it
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 3


def test_crosshair_shows_every_series_at_the_cursor(plot):
    feed(plot, n=30, missing=(10,))
    plot.refresh()
    plot.show_cursor(T0 + 5.2)
    text = plot.readout_text()
    assert "45.00" in text and "1.550" in text and "70.50" in text and "40.25" in text and "30.25" in text
    assert all(line.isVisible() for line in plot.vlines)
    assert all(line.value() == pytest.approx(T0 + 5.2) for line in plot.vlines)
    plot.show_cursor(T0 + 10)
    assert plot.readout_text().count("gap") == 5
    plot.hide_cursor()
    assert "Latest" in plot.readout_text()
    assert not any(line.isVisible() for line in plot.vlines)


def test_pause_freezes_the_picture_but_keeps_recording(plot, qtbot):
    feed(plot, n=10, missing=())
    plot.refresh()
    plot.set_paused(True)
    assert plot.pause_button.isChecked() and plot.pause_button.text() == "Resume"
    plot.add_sample(T0 + 10, 1, 1, 60, 40)
    plot.add_sample(T0 + 11, 1, 1, 60, 40)
    qtbot.wait(20)  # let a (wrongly) scheduled refresh run, if there were one
    assert len(plot.plotted("power_kw")[0]) == 10
    assert "PAUSED" in plot.readout_text() and "(2 new)" in plot.readout_text().replace("&nbsp;", " ")
    plot.set_paused(False)
    assert len(plot.plotted("power_kw")[0]) == 12 and len(plot) == 12


def test_follow_keeps_the_newest_samples_in_view(plot):
    feed(plot, n=3600, missing=())
    plot.refresh()
    plot.set_window(300)
    x0, x1 = plot.x_range()
    assert x1 >= T0 + 3599 and x1 - x0 == pytest.approx(300 * 1.02, rel=0.01)
    plot.add_sample(T0 + 4000, 1, 1, 60, 40)
    plot.refresh()
    assert plot.x_range()[1] >= T0 + 4000
    plot.zoom_in()                       # while following, zoom changes the window
    assert plot.window_s == 150 and plot.following


def test_zoom_buttons_and_show_all(plot):
    feed(plot, n=1000, missing=())
    plot.refresh()
    plot.show_all()
    assert not plot.following and not plot.follow_button.isChecked()
    x0, x1 = plot.x_range()
    assert x0 <= T0 and x1 >= T0 + 999
    plot.zoom_in()
    z0, z1 = plot.x_range()
    assert (z1 - z0) == pytest.approx((x1 - x0) / 2, rel=0.01)
    plot.zoom_out()
    assert plot.x_range()[1] - plot.x_range()[0] == pytest.approx(x1 - x0, rel=0.01)
    plot.follow_button.click()
    assert plot.following


def test_hours_of_data_use_clipping_and_peak_downsampling(plot):
    from app.ui.demo import demo_history

    assert plot.add_samples(demo_history(end_epoch_s=T0, duration_s=6 * 3600)) == 6 * 3600
    plot.refresh()
    for curve in plot.curves.values():
        assert curve.opts["clipToView"] and curve.opts["autoDownsample"]
        assert curve.opts["downsampleMethod"] == "peak"
    plot.set_window(900)
    plot.glw.grab()  # paint: the curve gets the clipped, downsampled data
    x, _ = plot.curves["power_kw"].getData()
    assert len(x) < 2000           # only what is in view goes to the screen


def test_buffer_grows_then_drops_the_oldest():
    from app.ui.widgets.liveplot import SampleBuffer

    b = SampleBuffer(capacity=4, max_points=100)
    for i in range(100):
        b.append((float(i), 1.0, 1.0, 60.0, 40.0, 20.0))
    assert b.n == 100 and b.capacity == 100
    b.append((100.0,) + (math.nan,) * 5)
    assert b.n == 91 and b.dropped == 10
    assert b.t[0] == 10.0 and b.t[-1] == 100.0 and np.isnan(b.column("power_kw")[-1])
    assert np.all(np.diff(b.t) > 0)


def test_larger_text_scales_the_axes(plot, qtbot):
    axis = plot.plots[0].getAxis("left")
    before, font_before = axis.width(), axis.style["tickFont"].pointSizeF()
    plot.set_text_scale(1.4)
    qtbot.waitUntil(lambda: axis.width() > before, timeout=2000)
    assert axis.style["tickFont"].pointSizeF() > font_before


def test_live_page_polls_and_plots_in_demo_mode(make_window, qtbot):
    """The Live page with its poller: samples become points, misses become gaps."""
    win = make_window(page="live", demo=True)
    page = win.current_page()
    calls = []

    def flaky_read():
        from app.ui.demo import DemoLiveSource

        calls.append(1)
        if len(calls) % 4 == 0:
            raise TimeoutError("no answer within 0.5 s")
        return DemoLiveSource().read()

    page.set_source(flaky_read)
    before = len(page.plot)
    page.toggle_polling()
    page.poller.set_interval(0.02)
    assert page.start_button.text() == "Stop polling"
    qtbot.waitUntil(lambda: len(page.plot) >= before + 8, timeout=10000)
    with qtbot.waitSignal(page.poller.stopped, timeout=3000):
        page.toggle_polling()
    assert page.start_button.text() == "Start polling"
    rows = page.plot.samples()[before:]
    gaps = [r for r in rows if r.power_kw is None]
    assert gaps and len(gaps) < len(rows)
    assert "missed" in page.state_label.text()


def test_live_page_without_a_meter_says_so(make_window):
    win = make_window(page="live")
    page = win.current_page()
    page.toggle_polling()
    assert not page.running
    assert page.banner.level == "warning" and "Connect" in page.banner.text


def test_the_meters_own_dtheta_is_plotted_where_it_sends_one(plot, qtbot):
    """A meter measures Δθ with a matched sensor pair, finer than two temperatures rounded for display:
    its own record is plotted, the difference only where it has none."""
    plot.add_sample(T0, 30.0, 1.0, 70.1, 50.0, dtheta_k=20.137)
    plot.add_sample(T0 + 1, 30.0, 1.0, 70.1, 50.0)
    plot.add_samples([(T0 + 2, 30.0, 1.0, 70.1, 50.0, 19.96), (T0 + 3, 30.0, 1.0, 70.1, 50.0)])
    qtbot.waitUntil(lambda: len(plot.plotted("dtheta_k")[1]) == 4, timeout=3000)
    _, dtheta = plot.plotted("dtheta_k")
    assert list(dtheta) == pytest.approx([20.137, 70.1 - 50.0, 19.96, 70.1 - 50.0])


def test_small_flows_keep_their_unit_without_a_scale_factor(plot, qtbot):
    """0.002 m³/h used to be labelled "m³/h (x0.001)", a label long enough to run into the one above."""
    for i in range(10):
        plot.add_sample(T0 + i, 0.05, 0.002 + i / 10000, 20.0, 19.0)
    plot.refresh()
    left = plot.plots[1].getAxis("left")
    assert not left.autoSIPrefix and "x0.0" not in left.labelString() and "m³/h" in left.labelString()


@pytest.mark.parametrize("scale", [1.0, 1.4])
def test_labels_do_not_run_into_each_other_at_1366x768(qtbot, scale):
    """In the space the Commission page gives the observation plot at 1366x768 (normal and larger text):
    the value labels of each axis are at least a text line apart, each unit fits beside its own plot, and
    the time labels do not touch."""
    from PySide6.QtGui import QFontMetricsF

    from app.ui.widgets.liveplot import LivePlot

    w = LivePlot()
    qtbot.addWidget(w)
    w.set_text_scale(scale)
    w.resize(1100, max(w.minimumSizeHint().height(), 330))
    w.show()
    qtbot.waitExposed(w)
    rng = np.random.default_rng(1)
    for i in range(120):
        w.add_sample(T0 + 5 * i, 25 + rng.normal(0, 3), 0.9 + rng.normal(0, 0.1), 71 + rng.normal(0, 0.5),
                     46 + rng.normal(0, 0.5), dtheta_k=25 + rng.normal(0, 1))
    w.show_all()
    w.refresh()
    w.glw.grab()                                     # lay out and paint once
    for p in w.plots:
        axis = p.getAxis("left")
        line = QFontMetricsF(axis.style["tickFont"]).height()
        (lo, hi) = p.vb.viewRange()[1]
        height = p.vb.height()
        spacing, values = axis.tickValues(lo, hi, height)[0]
        assert spacing / (hi - lo) * height >= line, axis.labelString()        # labelled ticks a line apart
        label = QFontMetricsF(axis.label.font()).horizontalAdvance(axis.labelText)
        assert label <= height, axis.labelText                                  # the unit beside its own plot
    bottom = w.plots[-1].getAxis("bottom")
    (x0, x1) = w.plots[-1].vb.viewRange()[0]
    width = w.plots[-1].vb.width()
    spacing, values = bottom.tickValues(x0, x1, width)[0]
    texts = bottom.tickStrings(values, 1.0, spacing)
    fm = QFontMetricsF(bottom.style["tickFont"])
    xs = [(v - x0) / (x1 - x0) * width for v in values]
    for (xa, ta), (xb, tb) in zip(zip(xs, texts), zip(xs[1:], texts[1:])):
        assert xb - xa >= (fm.horizontalAdvance(ta) + fm.horizontalAdvance(tb)) / 2, (ta, tb)
