"""Recording the year's work from the GUI: the register page's bulk action and results import, the meter
page's buttons, and the planner's deadline chart and "merge two spellings"."""
from __future__ import annotations

import csv
import datetime as dt

import pytest
from PySide6.QtCore import QItemSelectionModel

from tests.helpers.files import csv_rows

pytestmark = pytest.mark.gui
WAIT = 30_000


@pytest.fixture
def url(tmp_path):
    from app.storage.register import open_register

    p = tmp_path / "meters.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["site", "building", "location", "manufacturer", "model", "serial", "mid_class", "qp_m3h",
                    "qp_qi_ratio", "install_date", "battery_expiry", "dtheta_min_k", "dtheta_max_k"])
        spell = [("Kamstrup", "MULTICAL 403"), ("KAMSTRUP", "Multical403"), ("Kamstrup", "MC 403 heat")]
        for i in range(12):
            make, model = spell[i % 3]
            w.writerow(["Riverside", "Block A", f"Flat {i}", make, model, str(70001000 + i), 3 if i == 5 else 2, 1.5,
                        100, (dt.date(2016, 6, 10) + dt.timedelta(days=9 * i)).isoformat(),
                        "2026-09-01" if i == 4 else "", 3, 100])
    u = f"sqlite:///{tmp_path / 'register.db'}"
    reg = open_register(u)
    reg.import_file(p, user="test")
    reg.close()
    return u


def _idle(page):
    return page.ctx.tasks.is_idle()


def _reg(url):
    from app.storage.register import open_register

    return open_register(url)


def test_bulk_battery_change_and_results_import_on_the_register_page(make_window, qtbot, url, tmp_path):
    win = make_window(page="register", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.index is not None and page.model.rowCount() == 12 and _idle(page), timeout=WAIT)
    sel = page.view.selectionModel()
    for row in (0, 1, 2):
        sel.select(page.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select |
                   QItemSelectionModel.SelectionFlag.Rows)
    recs = page.selected_records()
    assert len(recs) == 3
    from app.ui.register import work

    work.record(page, [(r.id, r.version) for r in recs],
                {"kind": "battery", "on": dt.date(2025, 5, 2), "expiry": dt.date(2036, 5, 1), "notes": None})
    qtbot.waitUntil(lambda: _idle(page) and "Recorded for 3 meter(s)" in page.banner.text_label.text(),
                    timeout=WAIT)
    with _reg(url) as reg:
        assert {reg.get_meter(r.id).battery_expiry for r in recs} == {dt.date(2036, 5, 1)}
        assert all(any(e["action"] == "battery" for e in reg.history(r.id)) for r in recs)
    # A stale version (changed elsewhere since the page loaded it): refused, named, nothing stored.
    with _reg(url) as reg:
        other = reg.get_meter(recs[0].id)
        reg.update_meter(other.id, {"location": "Flat 0a"}, expected_version=other.version, user="bob")
    work.record(page, [(recs[0].id, recs[0].version)],
                {"kind": "no_access", "on": dt.date(2025, 5, 3), "notes": None})
    qtbot.waitUntil(lambda: _idle(page) and "Nothing recorded" in page.banner.text_label.text(), timeout=WAIT)
    assert "bob" in page.banner.text_label.text()

    # A contractor's filled-in job list: one recalibration, line-numbered errors, all or nothing.
    from app.services import joblists
    from app.storage import planning

    with _reg(url) as reg:
        jobs = joblists.jobs_from_schedule(reg, planning.schedule(reg, dt.date(2025, 6, 1), horizon_months=12))
    path = tmp_path / "jobs.csv"
    joblists.write_jobs(jobs, csv_path=str(path))
    rows = csv_rows(path)
    h = rows[0]
    rows[1][h.index("result")], rows[1][h.index("done_on")], rows[1][h.index("verdict")] = \
        "recalibrated", "2025-06-03", "perhaps"
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)
    work.import_results(page, str(path))
    qtbot.waitUntil(lambda: _idle(page) and "line 2: verdict" in page.banner.text_label.text(), timeout=WAIT)
    rows[1][h.index("verdict")] = "pass"
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)
    work.import_results(page, str(path))
    qtbot.waitUntil(lambda: _idle(page) and "1 result(s) recorded" in page.banner.text_label.text(), timeout=WAIT)
    with _reg(url) as reg:
        assert [c["initial_verdict"] for c in reg.calibration_results(int(rows[1][h.index("meter_id")]))] == ["pass"]


def test_meter_page_records_a_failed_recalibration_then_a_replacement(make_window, qtbot, url):
    win = make_window(page="register", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.index is not None and page.model.rowCount() == 12 and _idle(page), timeout=WAIT)
    mid = page.model.id_at(0)
    page.open_meter(mid)
    mv = page.meter_view
    qtbot.waitUntil(lambda: mv.dossier is not None and _idle(page), timeout=WAIT)
    assert set(mv.work_buttons) == {"recalibrate", "replace", "battery", "no_access"}
    mv.record_work({"kind": "recalibrate", "on": dt.date(2025, 4, 1), "verdict": "fail", "error_pct": 7.5,
                    "lab": "Lab A", "certificate": None, "notes": None})
    qtbot.waitUntil(lambda: _idle(page) and mv.dossier and len(mv.dossier["calibrations"]) == 1, timeout=WAIT)
    assert mv.dossier["calibrations"][0]["initial_verdict"] == "fail"
    mv.record_work({"kind": "replace", "on": dt.date(2025, 4, 20), "new_serial": "99887766",
                    "new_manufacturer": None, "new_model": "MULTICAL 603", "notes": "failed recalibration"})
    qtbot.waitUntil(lambda: _idle(page) and mv.dossier and mv.dossier["meter"].status == "removed", timeout=WAIT)
    with _reg(url) as reg:
        new = reg.find_meter("Kamstrup", "99887766")
        assert new.model == "MULTICAL 603" and new.location == mv.dossier["meter"].location
        assert reg.history(new.id)[0]["after"]["replaces_meter_id"] == mid


def test_planner_counts_deadlines_and_merges_two_spellings(make_window, qtbot, url):
    win = make_window("planner", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.due.data is not None and _idle(page), timeout=WAIT)
    due = page.due
    from PySide6.QtCore import QDate

    due.as_of.setDate(QDate(2025, 6, 1))
    due.years.setCurrentIndex(due.years.findData(2))
    qtbot.waitUntil(lambda: due.data is not None and due.data.as_of == dt.date(2025, 6, 1)
                    and due.data.horizon_months == 24 and _idle(page), timeout=WAIT)
    data = due.data
    # Meter 4 (installed 2016-07-16): sampling 2025-07-16, battery 2025-09-01 (end of life 2026-09-01), replace
    # 2026-07-16: three deadlines in the two years; the meter chart counts it once, the deadline chart thrice.
    dl_total = sum(sum(k.values()) for k in data.deadlines_by_month.values())
    meter_total = sum(sum(k.values()) for k in data.by_month.values())
    assert dl_total > meter_total
    due.count_mode.setCurrentIndex(due.count_mode.findData("deadlines"))
    rows = due.select_deadlines(month="2025-09", state="battery_due")
    assert [r["serial"] for r in rows] == ["70001004"]
    assert "class 3" in next(r for r in data.rows if r["serial"] == "70001005")["flags_text"]
    # Lots: "MC 403 heat" is a third model until merged.
    lots = page.lots
    lots.show_form_panel()
    lots.f_all.setChecked(True)
    lots.f_as_of.setDate(QDate(2025, 6, 1))
    lots.form_lots(dry_run=True)
    qtbot.waitUntil(lambda: lots.formation is not None and _idle(page), timeout=WAIT)
    assert sorted(lt["size"] for lt in lots.formation["lots"]) == [4, 8]
    merged = next(lt for lt in lots.formation["lots"] if lt["size"] == 8)
    assert sorted(merged["merged"]["manufacturer"]) == ["KAMSTRUP", "Kamstrup"]
    lots.merge_spellings("Kamstrup", "MC 403 heat", "MULTICAL 403")
    qtbot.waitUntil(lambda: _idle(page) and [lt["size"] for lt in lots.formation["lots"]] == [12], timeout=WAIT)
    assert lots.f_spell_model.rowCount() >= 4


def test_register_filter_lists_flags_class_3_first_of_all(url):
    from app.storage.browse import BrowseIndex, Filters, due_states

    with _reg(url) as reg:
        idx = BrowseIndex.load(reg)
        dm = due_states(reg, dt.date(2025, 6, 1))
        facets = idx.facets(Filters(), due_map=dm)
        assert facets["due"]["flag:class_below_2"] == 1
        [mid] = idx.select(Filters(due="flag:class_below_2"), due_map=dm)
        assert reg.get_meter(mid).serial == "70001005"
