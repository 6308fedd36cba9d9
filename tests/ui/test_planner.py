"""The Planner page on a temporary register: due counts and lists, a lot formed, drawn, tested and decided,
its report, and bad input (nothing due, an empty register, a results file naming a meter not drawn)."""
from __future__ import annotations

import csv
import datetime as dt

import pytest
from PySide6.QtCore import QDate, Qt

from app.ui.planner.lot_common import LOT_COLUMNS
from tests.helpers.files import csv_dicts

pytestmark = pytest.mark.gui

AS_OF = dt.date(2025, 6, 1)
LOT_SIZE = 30      # Kamstrup MULTICAL 603 qp 1.5, installed in 2016: one lot at the 9-year round of AS_OF
TIMEOUT = 30_000


def write_register(path, lot_size: int = LOT_SIZE) -> None:
    cols = ["site", "building", "location", "manufacturer", "model", "serial", "mid_class", "qp_m3h", "qp_qi_ratio",
            "dn", "install_date", "dtheta_min_k", "dtheta_max_k"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for i in range(lot_size):
            d = dt.date(2016, 6, 10) + dt.timedelta(days=6 * i)   # 9 years on: within 12 months of AS_OF
            w.writerow(["Riverside", "Block A", f"Flat {i}", "Kamstrup", "MULTICAL 603", str(70001000 + i), 2, 1.5,
                        100, 15, d.isoformat(), 3, 100])
        # others: too young for the round, or long overdue
        for i in range(12):
            w.writerow(["Harbour", "Block B", f"Flat {i}", "Diehl", "Sharky 775", str(63009000 + i), 2, 2.5, 100, 20,
                        f"{2021 + i % 3}-0{1 + i % 9}-15", 3, 100])
        for i in range(5):
            w.writerow(["Harbour", "Block C", f"Flat {i}", "Sensus", "PolluStat E", str(67008000 + i), 2, 3.5, 100, 25,
                        f"200{5 + i % 3}-05-01", 3, 100])


@pytest.fixture
def register_url(tmp_path):
    from app.storage.register import open_register

    url = f"sqlite:///{tmp_path / 'register.db'}"
    reg = open_register(url)
    write_register(tmp_path / "meters.csv")
    reg.import_file(tmp_path / "meters.csv", user="test")
    reg.close()
    return url


def _idle(page):
    return page.ctx.tasks.is_idle()


def _banner(page) -> str:
    return page.banner.text_label.text() if page.banner.isVisible() else ""


def _open(make_window, qtbot, url):
    win = make_window("planner", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.due.data is not None and _idle(page), timeout=TIMEOUT)
    return page


def test_due_counts_list_behind_a_bar_and_csv(make_window, qtbot, register_url, tmp_path):
    page = _open(make_window, qtbot, register_url)
    due = page.due
    due.as_of.setDate(QDate(AS_OF.year, AS_OF.month, AS_OF.day))
    qtbot.waitUntil(lambda: due.data is not None and due.data.as_of == AS_OF and _idle(page), timeout=TIMEOUT)
    data = due.data
    # the same numbers as the planning service (heatmeter schedule)
    from app.storage import planning
    from app.storage.register import open_register

    with open_register(register_url) as reg:
        ref = planning.schedule(reg, AS_OF, horizon_months=36).as_dict(meters=False)
    assert data.totals == ref["totals"] and data.by_month == ref["by_month"]
    assert ref["totals"]["overdue"] == 5 and ref["totals"]["sampling_due"] == LOT_SIZE
    assert "5" in due.total_buttons["overdue"].text()
    # click (with the mouse) the month with most sampling: the list holds exactly those meters
    month = max(data.by_month, key=lambda k: data.by_month[k].get("sampling_due", 0))
    chart = due.month_chart
    x = chart.keys.index(month)
    seg = next(sg for sg in chart.stacks.segments if sg[3] == month and sg[4] == "sampling_due")
    vb = chart.getPlotItem().vb
    from PySide6.QtCore import QPointF

    pos = chart.mapFromScene(vb.mapViewToScene(QPointF(x, (seg[1] + seg[2]) / 2)))
    qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert chart.selected == (month, "sampling_due")
    assert len(due.list_rows) == data.by_month[month]["sampling_due"]
    assert all(r["due_date"].startswith(month) and r["state"] == "sampling_due" for r in due.list_rows)
    assert due.model.rowCount() == len(due.list_rows)
    # a site bar
    due.site_chart.barClicked.emit("Harbour", "overdue")
    assert {r["serial"][:4] for r in due.list_rows} == {"6700"} and len(due.list_rows) == 5
    path = tmp_path / "list.csv"
    due.export(str(path))
    qtbot.waitUntil(lambda: bool(path.exists() and _idle(page)), timeout=TIMEOUT)
    rows = csv_dicts(path)
    assert len(rows) == 5 and {r["reason"] for r in rows} == {"recalibrate_or_replace_10y"}
    assert "Saved 5 meters" in _banner(page)


def _form_and_open_lot(page, qtbot):
    lots = page.lots
    page.tabs.setCurrentIndex(1)
    lots.show_form_panel()
    lots.f_as_of.setDate(QDate(AS_OF.year, AS_OF.month, AS_OF.day))
    qtbot.mouseClick(lots.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lots.formation is not None and _idle(page), timeout=TIMEOUT)
    f = lots.formation
    assert not f["stored"] and len(f["lots"]) == 1 and f["lots"][0]["size"] == LOT_SIZE
    assert f["lots"][0]["key"] == {"manufacturer": "Kamstrup", "model": "MULTICAL 603", "qp_m3h": 1.5, "install_year": 2016}
    assert lots.f_members_model.rowCount() == LOT_SIZE             # the members are shown
    assert f["not_eligible"] == {"not_due_yet": 12, "past_deadline": 5}
    qtbot.mouseClick(lots.store_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(lots.formation["stored"] and lots.lots and _idle(page)), timeout=TIMEOUT)
    lot_id = lots.lots[0]["id"]
    lots.open_lot(lot_id)
    qtbot.waitUntil(lambda: lots.lot is not None and lots.lot["id"] == lot_id and _idle(page), timeout=TIMEOUT)
    # the lots list shows the whole key (make and model, then qp and year), its column wide enough
    col = [k for k, _ in LOT_COLUMNS].index("name")
    idx = lots.lots_model.index(0, col)
    assert lots.lots_model.data(idx) == "Kamstrup MULTICAL 603\nqp 1.5 · 2016"
    assert lots.lots_model.data(idx, Qt.ItemDataRole.ToolTipRole) == \
        "make Kamstrup · model MULTICAL 603 · qp 1.5 · install year 2016"
    fm = lots.lots_view.fontMetrics()
    assert lots.lots_view.columnWidth(col) >= max(fm.horizontalAdvance(t) for t in ("Kamstrup MULTICAL 603", "qp 1.5 · 2016"))
    assert lots.lots_view.rowHeight(0) >= 2 * fm.lineSpacing()
    return lot_id


def test_lot_formed_drawn_tested_decided_and_reported(make_window, qtbot, register_url, tmp_path, pdf_text):
    from app.core.lots import draw_sample
    from app.core.sampling import sampling_plan

    page = _open(make_window, qtbot, register_url)
    page.due.as_of.setDate(QDate(AS_OF.year, AS_OF.month, AS_OF.day))
    qtbot.waitUntil(lambda: page.due.data.as_of == AS_OF and _idle(page), timeout=TIMEOUT)
    assert page.due.data.totals["sampling_due"] == LOT_SIZE
    lots = page.lots
    lot_id = _form_and_open_lot(page, qtbot)
    plan = sampling_plan(LOT_SIZE)                      # level II, AQL 4, normal (MMS 1.3.4)
    assert (lots.lot["plan"]["sample_size"], lots.lot["plan"]["acceptance_number"]) == (plan.sample_size,
                                                                                          plan.acceptance_number)
    # draw with a seed: the sample is the documented draw of the member ids
    lots.show_tab("draw")
    lots.seed.setText("424242")
    qtbot.mouseClick(lots.draw_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lots.lot.get("draw") is not None and _idle(page), timeout=TIMEOUT)
    draw = lots.lot["draw"]
    expect = draw_sample([m["meter_id"] for m in lots.lot["members"]], plan.sample_size, 424242)
    assert [str(m["meter_id"]) for m in draw["meters"] if not m["spare"]] == list(expect.sample)
    assert [str(m["meter_id"]) for m in draw["meters"] if m["spare"]] == list(expect.spares)
    assert draw["reproduced"] is True and "Seed 424242" in lots.draw_info.text()
    assert lots.draw_model.rowCount() == len(expect.sample) + len(expect.spares)
    # the drawn meters can go out as a job list: the dialog opens on this lot
    assert lots.jobs_button.isEnabled()
    dlg = page.due.job_list_dialog(lot_id=lot_id)
    qtbot.addWidget(dlg)
    assert dlg.request().lot_id == lot_id and not dlg.horizon.isEnabled()

    # results typed per meter: the first sampled meter inaccessible (its spare stands in), one defective
    lots.show_tab("results")
    t = lots.results_table
    n = plan.sample_size
    assert t.rowCount() == n + len(expect.spares)
    t.cellWidget(0, 5).setChecked(True)
    for r in range(1, n):                               # sample 2..n typed
        t.item(r, 4).setText("9,9" if r == 1 else f"{0.3 * r - 1:.1f}")
    spare = draw["meters"][n]                           # the first spare: calibration points
    lots.points[spare["meter_id"]] = {"subassembly": "complete_meter",
                                      "points": [{"error_pct": -1.2, "q_m3h": 0.75, "dtheta_k": 20}]}
    qtbot.mouseClick(lots.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(lots.lot.get("results_list") or []) == n + 1 and _idle(page), timeout=TIMEOUT)
    res = {r["serial"]: r for r in lots.lot["results_list"]}
    second = draw["meters"][1]["serial"]
    assert res[second]["error_pct"] == 9.9 and res[second]["defective"] is True
    assert res[draw["meters"][0]["serial"]]["inaccessible"] is True
    # the points are judged by the calibration calculator: 2 x the complete-meter MPE at 0.75 m3/h and 20 K
    from app.core.calcjson import run

    mpe = run("mpe", {"class": 2, "qp_m3h": 1.5, "ratio": 100, "q_m3h": 0.75, "dtheta_k": 20, "dtheta_min_k": 3})
    assert res[spare["serial"]]["error_pct"] == -1.2
    assert res[spare["serial"]]["limit_pct"] == pytest.approx(mpe["in_service_total"])
    assert "Recorded" in _banner(page) and "1 defective" in _banner(page)

    # the verdict (MMS 1.3.5): 1 defective among n tested against Ac
    lots.show_tab("verdict")
    lots.decided_on.setDate(QDate(2025, 9, 1))
    qtbot.mouseClick(lots.decide_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lots.lot.get("verdict_record") is not None and _idle(page), timeout=TIMEOUT)
    passed = 1 <= plan.acceptance_number
    word = "PASS" if passed else "FAIL"
    assert lots.verdict_panel.badge.text().startswith(word) and "2025-09-01" in lots.verdict_panel.badge.text()
    assert lots.verdict_panel.value_text("Tested / sample") == f"{n} / {n}"
    assert lots.verdict_panel.value_text("Defective (> 2 × MPE)") == "1"
    cons = {lots.members_model.rows[i]["serial"]: lots.members_model.rows[i]["consequence"] for i in range(LOT_SIZE)}
    # a pass keeps the lot, not its defective meter (MMS 1.3.5): that one is replaced
    assert all(c.startswith("stays in service until 2030") if passed and serial != second else
               c.startswith("defective (beyond 2 × MPE): replace by 2025-09-01") if passed else
               c.startswith("recalibrate or replace by") for serial, c in cons.items())
    assert lots.oc_chart.getPlotItem().listDataItems()            # the OC curve with this lot marked
    obs = lots.lot["observed"]
    assert obs["defectives"] == 1 and obs["tested"] == n and obs["p"] == pytest.approx(1 / n)
    assert page.tabs.tabText(1).startswith("Lots (1, 1 decided)")
    # the verdict reaches the schedule: no more 9-year sampling for the lot's meters; a pass keeps them
    # to 14 years (13-year sampling beyond the 3-year horizon), a fail makes them due at 10 years
    totals = page.due.data.totals
    assert totals["sampling_due"] == 0
    # (the defective meter of a passed lot is due for replacement: decided after the as-of date, within the horizon)
    assert totals["recalibrate_or_replace_due"] == (1 if passed else LOT_SIZE)

    # the lot report: PDF with the serials and figures, CSV with one row per member
    pdf = tmp_path / "lot.pdf"
    lots.save_report(str(pdf), "pdf")
    qtbot.waitUntil(lambda: bool(pdf.exists() and _idle(page)), timeout=TIMEOUT)
    text = pdf_text(pdf)
    assert f"Sampling lot {lot_id}" in text and "424242" in text
    for m in draw["meters"]:
        assert m["serial"] in text
    assert "+9.90" in text and f"{word}: 1 defective of {n} tested" in text
    assert f"n = {n}, Ac = {plan.acceptance_number}" in text
    assert f"Code letter {plan.code_letter}" in text or plan.code_letter in text
    csv_path = tmp_path / "lot.csv"
    lots.save_report(str(csv_path), "csv")
    qtbot.waitUntil(lambda: bool(csv_path.exists() and _idle(page)), timeout=TIMEOUT)
    rows = csv_dicts(csv_path)
    assert len(rows) == LOT_SIZE and {r["verdict"] for r in rows} == {word.lower()}
    assert {r["seed"] for r in rows} == {"424242"}
    assert sum(r["drawn"] == "sample" for r in rows) == n


def test_bad_input_is_shown_and_nothing_is_lost(make_window, qtbot, register_url, tmp_path):
    from app.storage import planning
    from app.storage.register import open_register

    page = _open(make_window, qtbot, register_url)
    lots = page.lots
    # nothing due: no lot is formed, and the window says why
    page.tabs.setCurrentIndex(1)
    lots.show_form_panel()
    lots.f_as_of.setDate(QDate(2012, 1, 1))
    qtbot.mouseClick(lots.store_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lots.formation is not None and _idle(page), timeout=TIMEOUT)
    assert not lots.formation["lots"] and "No lot formed" in _banner(page)
    assert "not due yet" in _banner(page) and "Nothing was stored" in _banner(page)
    with open_register(register_url) as reg:
        assert planning.list_lots(reg) == []

    lot_id = _form_and_open_lot(page, qtbot)
    lots.seed.setText("7")
    lots.draw()
    qtbot.waitUntil(lambda: lots.lot.get("draw") is not None and _idle(page), timeout=TIMEOUT)
    drawn = [m["serial"] for m in lots.lot["draw"]["meters"]]
    outsider = next(m["serial"] for m in lots.lot["members"] if m["serial"] not in drawn)
    # something typed, not yet recorded
    lots.results_table.item(1, 4).setText("0.4")
    lab = tmp_path / "lab.csv"
    lab.write_text("manufacturer,serial,error_pct\n"
                   f"Kamstrup,{drawn[0]},0.5\n"
                   f"Kamstrup,{outsider},1.0\n", encoding="utf-8")
    lots.import_csv(str(lab))
    qtbot.waitUntil(lambda: lots.last_failure is not None and _idle(page), timeout=TIMEOUT)
    msg = _banner(page)
    assert "lab.csv: line 3" in msg and f"Kamstrup {outsider} was not drawn for lot {lot_id}" in msg
    assert lots.results_table.item(1, 4).text() == "0.4"                    # what was typed is still there
    with open_register(register_url) as reg:
        assert planning.show_lot(reg, lot_id)["results_list"] == []        # all or nothing: nothing stored
    # a typed error that is not a number
    lots.results_table.item(2, 4).setText("abc")
    lots.record_typed()
    assert "must be a number" in _banner(page) and lots.results_table.item(2, 4).text() == "abc"


def test_empty_register_forms_no_lot(make_window, qtbot, tmp_path):
    from app.storage.register import open_register

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_register(url).close()
    page = _open(make_window, qtbot, url)
    page.tabs.setCurrentIndex(1)
    page.lots.show_form_panel()
    page.lots.form_lots(dry_run=False)
    qtbot.waitUntil(lambda: page.lots.last_failure is not None and _idle(page), timeout=TIMEOUT)
    assert "No lot formed" in _banner(page) and "a lot needs at least one meter" in _banner(page)
    assert page.lots.lots == []


def test_points_dialog_reads_its_table(qtbot):
    from PySide6.QtWidgets import QTableWidgetItem, QWidget

    from app.ui.planner.lot_actions import PointsDialog

    host = QWidget()
    qtbot.addWidget(host)
    dlg = PointsDialog(host, "Kamstrup 1", {"subassembly": "flow_sensor", "points": [{"error_pct": 1.5, "q_m3h": 0.2}]})
    assert dlg.sub.currentData() == "flow_sensor"
    dlg.table.setItem(1, 0, QTableWidgetItem("-0,8"))
    dlg.table.setItem(1, 1, QTableWidgetItem("1.4"))
    dlg.table.setItem(1, 3, QTableWidgetItem("i3"))
    assert dlg.value() == {"subassembly": "flow_sensor",
                           "points": [{"error_pct": 1.5, "q_m3h": 0.2}, {"error_pct": -0.8, "q_m3h": 1.4, "interval": "I3"}]}
    for r in range(2):
        for c in range(4):
            dlg.table.setItem(r, c, QTableWidgetItem(""))
    assert dlg.value() is None


def test_job_lists_per_site_written_and_results_read_back(make_window, qtbot, register_url, tmp_path):
    from openpyxl import load_workbook

    from app.storage.register import open_register

    page = _open(make_window, qtbot, register_url)
    due = page.due
    due.as_of.setDate(QDate(AS_OF.year, AS_OF.month, AS_OF.day))
    qtbot.waitUntil(lambda: due.data is not None and due.data.as_of == AS_OF and _idle(page), timeout=TIMEOUT)
    out = tmp_path / "jobs"
    out.mkdir()
    dlg = due.job_list_dialog()
    qtbot.addWidget(dlg)
    dlg.folder.setText(str(tmp_path / "nowhere"))
    assert not dlg.write_button.isEnabled() and "folder" in dlg.problem.text()     # said before anything runs
    dlg.folder.setText(str(out))
    dlg.horizon.setValue(3)
    assert dlg.write_button.isEnabled()
    req = dlg.request()
    assert (req.lot_id, req.site, req.per_site, req.formats) == (None, None, True, ("csv", "xlsx", "pdf"))
    due.write_job_lists(req)
    qtbot.waitUntil(lambda: due.last_job_lists is not None and _idle(page), timeout=TIMEOUT)
    files = sorted(p.name for p in out.iterdir())
    # Harbour Block C (Sensus, installed 2005-2007) is more than 10 years old on 2025-06-01: five overdue
    # replacements; Harbour Block B (2021-2023) has nothing due. One CSV, XLSX and PDF per site.
    assert {"jobs-2025-06-01-Harbour.csv", "jobs-2025-06-01-Harbour.xlsx", "jobs-2025-06-01-Harbour.pdf"} <= set(files)
    assert all(f.startswith("jobs-2025-06-01-") for f in files) and len(files) % 3 == 0
    rows = csv_dicts(out / "jobs-2025-06-01-Harbour.csv")
    assert sorted(r["serial"] for r in rows) == [str(67008000 + i) for i in range(5)]
    assert {r["building"] for r in rows} == {"Block C"} and {r["site"] for r in rows} == {"Harbour"}
    assert all(r["what_to_do"] and r["result"] == "" for r in rows)
    wb = load_workbook(out / "jobs-2025-06-01-Harbour.xlsx", read_only=True)
    assert wb.sheetnames == ["Harbour"]
    wb.close()
    assert (out / "jobs-2025-06-01-Harbour.pdf").read_bytes().startswith(b"%PDF")
    assert due.last_job_lists["sites"]["Harbour"] == 5
    assert f"Wrote {due.last_job_lists['jobs']:,} jobs" in _banner(page)

    # the technician's results typed into the list, then read back: two replaced, one not reached
    filled = tmp_path / "harbour-done.csv"
    with open(out / "jobs-2025-06-01-Harbour.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields, lines = reader.fieldnames, list(reader)
    lines.sort(key=lambda r: r["serial"])
    for r, (res, new) in zip(lines, [("replaced", "88000001"), ("replaced", "88000002"), ("no_access", "")]):
        r.update({"done_on": "2025-06-20", "result": res, "new_serial": new})
    with open(filled, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(lines)
    due.last_import = None
    due.import_results(str(filled))
    qtbot.waitUntil(lambda: due.last_import is not None and _idle(page), timeout=TIMEOUT)
    assert "3 result(s) recorded" in _banner(page)
    with open_register(register_url) as reg:
        for old, new in (("67008000", "88000001"), ("67008001", "88000002")):
            assert reg.find_meter("Sensus", old).status == "removed"
            m = reg.find_meter("Sensus", new)
            assert (m.site, m.building, m.status) == ("Harbour", "Block C", "in_service")
        assert reg.find_meter("Sensus", "67008002").status == "in_service"      # no access: still to do
    # a file with a mistake records nothing and names the line
    bad = tmp_path / "bad.csv"
    lines[3].update({"done_on": "2025-13-40", "result": "replaced", "new_serial": "88000009"})
    with open(bad, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(lines[3:])
    due.last_import = None
    due.import_results(str(bad))
    qtbot.waitUntil(lambda: due.last_import is not None and _idle(page), timeout=TIMEOUT)
    assert "Nothing recorded" in _banner(page) and "line 2" in _banner(page)
