"""The Calculators page: every form gives the numbers of ``heatmeter calc``; errors next to their field."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

pytestmark = pytest.mark.gui


@pytest.fixture
def page(make_window, qtbot):
    win = make_window("calculators")
    p = win.current_page()
    assert p.name == "calculators"
    return p


def _type(qtbot, editor, text):
    editor.selectAll()
    editor.clear()
    qtbot.keyClicks(editor, text)


def _calc(qtbot, form):
    qtbot.mouseClick(form.calc_button, Qt.MouseButton.LeftButton)


def _cli_many(inputs: dict[str, dict], tmp_path) -> dict[str, dict]:
    """Run ``heatmeter calc KIND --json`` for every kind at once; parsed outputs."""
    procs = {}
    for kind, data in inputs.items():
        f = tmp_path / f"{kind}.json"
        f.write_text(json.dumps(data))
        procs[kind] = subprocess.Popen([sys.executable, "-m", "app", "calc", kind, "--input", str(f), "--json"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for kind, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, f"{kind}: {stderr}"
        out[kind] = json.loads(stdout)
    return out


def test_every_form_gives_the_numbers_of_heatmeter_calc(page, qtbot, tmp_path):
    # change one input of each form by typing, as a user would, then Calculate
    edits = {"mpe": ("q_m3h", "0.4"), "calibration": ("dtheta_max_k", "120"), "sizing": ("design_power_kw", "250"),
             "resolution": ("meter_resolution_wh", "2,5"), "battery": ("standby_current_ua", "11"),
             "heat-coefficient": ("hot_c", "85"), "cost-benefit": ("ep_h_kwh_m2", "180")}
    from app.ui.pages.calculators import CALCULATORS

    kinds = [k for k, _title, _target in CALCULATORS]
    assert set(edits) == set(kinds)
    assert list(page.forms) == ["mpe"]          # a tab's form is built when first shown
    inputs, results = {}, {}
    for kind in kinds:
        page.show_form(kind)
        form = page.forms[kind]
        key, text = edits[kind]
        _type(qtbot, form.editors[key], text)
        _calc(qtbot, form)
        assert form.last_error is None, (kind, form.last_error)
        inputs[kind], results[kind] = form.last_input, form.last_result
    assert inputs["resolution"]["meter_resolution_wh"] == 2.5          # a decimal comma is read
    assert inputs["mpe"]["q_m3h"] == 0.4 and inputs["cost-benefit"]["ep_h_kwh_m2"] == 180
    cli = _cli_many(inputs, tmp_path)
    for kind in kinds:
        assert json.loads(json.dumps(results[kind])) == cli[kind], kind
    # and the big numbers on screen are those numbers
    r = page.form("mpe").results
    assert r.value_text("Complete meter E") == f"±{cli['mpe']['e_total']:.3f} %"
    assert r.value_text("In service (2 × E)") == f"±{cli['mpe']['in_service_total']:.3f} %"
    r = page.form("sizing").results
    assert r.value_text("q max (design load)") == f"{cli['sizing']['q_max_m3h']:.3f} m³/h"
    assert f"qp {cli['sizing']['chosen']['qp_m3h']:g} m³/h" in r.badge.text()
    r = page.form("battery").results
    assert r.value_text("Expected life") == f"{cli['battery']['expected_life_years']:.2f} years"
    r = page.form("resolution").results
    assert ("PASS" if cli["resolution"]["pass"] else "FAIL") in r.badge.text()
    assert r.badge.property("state") == ("pass" if cli["resolution"]["pass"] else "fail")
    cb = cli["cost-benefit"]["systems"]
    r = page.form("cost-benefit").results
    assert r.value_text("Net present value", 0) == f"€{cb['heat_meters']['npv']:,.0f}".replace("€-", "−€")
    table = page.form("calibration").table
    for i, p in enumerate(cli["calibration"]["points"]):
        assert table.item(i, 4).text() == f"{p['mpe_initial_pct']:.3f}"
        assert table.item(i, 7).text() == ("pass" if p["pass_initial"] else "FAIL")


def test_mpe_curve_runs_from_qi_to_qs_with_the_point_marked(page):
    form = page.form("mpe")
    form.load_example()
    d = form.last_input
    ef = form.curve_data["ef"]
    assert ef[0][0] == pytest.approx(d["qp_m3h"] / d["ratio"])
    assert ef[-1][0] == pytest.approx(d["qs_m3h"])
    # the curve is the calculator's own: its value at q equals the point's
    from app.core.calcjson import run

    mid = ef[len(ef) // 2]
    assert mid[1] == pytest.approx(run("mpe", {**d, "q_m3h": mid[0]})["ef"])
    marks = [item for item in form.plot.getPlotItem().listDataItems() if item.opts.get("symbol") == "o"]
    x, y = marks[0].getData()
    assert y[0] == pytest.approx(form.last_result["e_total"])


def test_sizing_bars_highlight_the_chosen_size(page):
    form = page.form("sizing")
    form.load_example()
    chosen = [b for b in form.bars if b["state"] == "chosen"]
    assert len(chosen) == 1
    c = form.last_result["chosen"]
    assert (chosen[0]["qp_m3h"], chosen[0]["ratio"]) == (c["qp_m3h"], c["ratio"])
    smaller = [b for b in form.bars if b["state"] == "rejected"]
    assert smaller and all(b["qp_m3h"] <= c["qp_m3h"] for b in smaller)
    assert all(b["reasons"] for b in smaller)


def test_core_errors_are_shown_next_to_their_field(page, qtbot):
    form = page.form("mpe")
    page.show_form("mpe")
    _type(qtbot, form.editors["q_m3h"], "-1")
    _calc(qtbot, form)
    assert form.last_result is None and form.last_error[0] == "q_m3h"
    assert form.error_labels["q_m3h"].isVisible()
    assert "must be positive" in form.error_labels["q_m3h"].text()
    assert form.editors["q_m3h"].property("invalid") is True
    assert form.results.badge.property("state") == "fail"
    assert not form.plot.getPlotItem().listDataItems()        # no stale curve beside an error
    _type(qtbot, form.editors["q_m3h"], "abc")
    _calc(qtbot, form)
    assert "must be a number" in form.field_error("q_m3h")
    _type(qtbot, form.editors["q_m3h"], "0.3")
    _type(qtbot, form.editors["ratio"], "8")
    _calc(qtbot, form)
    assert form.field_error("q_m3h") is None and "at least 10" in form.field_error("ratio")
    _type(qtbot, form.editors["ratio"], "100")
    _calc(qtbot, form)
    assert form.last_error is None and form.field_error("ratio") is None

    # a flow sensor point without its flow: marked in the table
    cal = page.form("calibration")
    page.show_form("calibration")
    cal.editors["subassembly"].setCurrentIndex(cal.editors["subassembly"].findData("flow_sensor"))
    _calc(qtbot, cal)
    assert cal.last_error[0] == "points[0].interval"      # C1 is a complete-meter interval
    assert "Point 1, Interval" in cal.table_error.text()
    for r in range(cal.table.rowCount()):
        cal.table.item(r, 3).setText("")
    cal.table.item(1, 1).setText("")
    _calc(qtbot, cal)
    assert cal.last_error[0] == "points[1].q_m3h"
    assert cal.table_error.isVisible() and cal.table_error.text().startswith("Point 2, q m³/h: missing")
    assert cal._marked == (1, 1)

    # a cost in the grid
    cb = page.form("cost-benefit")
    page.show_form("cost-benefit")
    ed = cb.cost_edits["costs.heat_meters.capital_per_apartment"]
    _type(qtbot, ed, "-5")
    _calc(qtbot, cb)
    assert cb.last_error[0] == "costs.heat_meters.capital_per_apartment"
    assert "must not be negative" in cb.field_error("costs.heat_meters.capital_per_apartment")

    # an alternative key the form shows at its first field
    res = page.form("resolution")
    res.editors["min_power_kw"].setText("")
    _calc(qtbot, res)
    assert res.last_error[0] == "min_power_kw" and res.field_error("min_power_kw")


def test_last_inputs_and_tab_are_remembered_and_json_copied(make_window, qtbot):
    win = make_window("calculators")
    page = win.current_page()
    page.show_form("heat-coefficient")
    form = page.form("heat-coefficient")
    _type(qtbot, form.editors["cold_c"], "35")
    _calc(qtbot, form)
    qtbot.mouseClick(form.copy_button, Qt.MouseButton.LeftButton)
    assert json.loads(QGuiApplication.clipboard().text()) == form.last_result
    assert "Copied" in page.banner.text_label.text()
    qtbot.mouseClick(form.copy_input_button, Qt.MouseButton.LeftButton)
    assert json.loads(QGuiApplication.clipboard().text())["cold_c"] == 35
    win.close()
    again = make_window("calculators").current_page()
    assert again.current_form().kind == "heat-coefficient"
    assert again.form("heat-coefficient").editors["cold_c"].text() == "35"
    assert again.form("heat-coefficient").last_result == form.last_result
