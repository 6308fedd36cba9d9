"""The Register page on 100,000 generated meters: filter, edit, conflict; import with bad rows;
an unreachable database. Drives the real MainWindow against a real SQLite register."""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from app.storage import browse
from app.storage.demo import write_demo_csv
from app.storage.register import open_register

pytestmark = pytest.mark.gui

N_BIG = 100_000
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def big_url(tmp_path_factory):
    """A register of 100,000 generated meters (SQLite), built once for this module through the import."""
    folder = tmp_path_factory.mktemp("big-register")
    path = folder / "meters.csv"
    write_demo_csv(path, meters=N_BIG, seed=20260501)
    url = f"sqlite:///{folder / 'register.db'}"
    with open_register(url) as reg:
        reg.import_file(path, user="setup")
    return url


def _register_page(make_window, qtbot, url: str):
    win = make_window(page="register", db_url=url)
    page = win.current_page()
    assert page.name == "register"
    qtbot.waitUntil(lambda: page.index is not None and page.model.rowCount() > 0, timeout=WAIT_MS)
    return win, page


def _visible_ids(page, n: int) -> list[int]:
    return [page.model.id_at(r) for r in range(min(n, page.model.rowCount()))]


def test_filter_100k(make_window, qtbot, big_url):
    from app.ui.register.model import FIELDS

    win, page = _register_page(make_window, qtbot, big_url)
    reg = open_register(big_url)
    assert page.model.rowCount() == reg.count_meters() == N_BIG
    assert page.count_label.text().startswith("100,000 meters")
    # the first rows are the register's first meters (make, serial) and show their values
    first = reg.list_meters(limit=3)
    assert _visible_ids(page, 3) == [m.id for m in first]
    assert page.model.index(0, 2).data() == first[0].serial

    # free text, then free text + site + make: the table follows the register's own filters
    page.set_filters(search="riser 12")
    want = reg.list_meters(search="riser 12")
    qtbot.waitUntil(lambda: page.model.rowCount() == len(want), timeout=WAIT_MS)
    assert page.model.ids() == [m.id for m in want]
    assert page.count_label.text().startswith(f"{len(want):,} of 100,000")
    site = want[0].site
    page.set_filters(site=site, make="KAM")
    want = reg.list_meters(search="riser 12", site=site, make="KAM")
    qtbot.waitUntil(lambda: page.model.ids() == [m.id for m in want], timeout=WAIT_MS)
    assert 0 < len(want) < N_BIG
    # rows far down are fetched when shown (a window onto the ids, not a copy)
    last = page.model.rowCount() - 1
    page.view.scrollToBottom()
    qtbot.waitUntil(lambda: page.model.record_at(last) is not None, timeout=WAIT_MS)
    assert page.model.index(last, 2).data() == want[-1].serial
    # the counts in the filter lists are the counts of the register
    qtbot.waitUntil(lambda: page.combos["site"].count() > 2, timeout=WAIT_MS)
    box = page.combos["site"]
    other = next(box.itemData(i) for i in range(1, box.count()) if box.itemData(i) != site)
    n_other = reg.count_meters(search="riser 12", site=other, make="KAM")
    # the counts follow the filters a moment after the rows do (computed in a worker)
    qtbot.waitUntil(lambda: box.itemText(box.findData(other)).endswith(f"({n_other:,})"), timeout=WAIT_MS)

    # due state (from the maintenance schedule of the same register), on the smallest site
    small = min(reg.list_sites(), key=lambda x: x["meters"])["name"]
    qtbot.waitUntil(lambda: page.due_map is not None, timeout=WAIT_MS)
    due = browse.due_states(reg)
    at_site = reg.list_meters(site=small)
    overdue = [m.id for m in at_site if m.id in due and due[m.id].state == "overdue"]
    page.set_filters(search="", make=None, site=small, due="overdue")
    qtbot.waitUntil(lambda: page.model.ids() == overdue, timeout=WAIT_MS)
    assert 0 < len(overdue) < len(at_site)
    qtbot.waitUntil(lambda: page.model.record_at(0) is not None, timeout=WAIT_MS)
    assert page.model.index(0, FIELDS.index("due")).data() == "Overdue"
    assert page.model.index(0, FIELDS.index("due_date")).data() == due[overdue[0]].due_date.isoformat()

    # sorting by install date (newest first) puts the newest meter on top
    page.set_filters(due=None)
    page.view.horizontalHeader().setSortIndicator(FIELDS.index("install_date"), Qt.SortOrder.DescendingOrder)
    newest = max(m.install_date for m in at_site if m.install_date)
    qtbot.waitUntil(lambda: page.model.record_at(0) is not None and page.model.record_at(0).install_date == newest,
                    timeout=WAIT_MS)
    dates = [page.model.record_at(r).install_date for r in range(5)]
    assert dates == sorted(dates, reverse=True)
    reg.close()


def test_edit_and_conflict_100k(make_window, qtbot, big_url):
    from app.ui.register.model import FIELDS

    win, page = _register_page(make_window, qtbot, big_url)
    reg = open_register(big_url)
    page.set_filters(search="Block C")
    qtbot.waitUntil(lambda: page.model.rowCount() == reg.count_meters(search="Block C"), timeout=WAIT_MS)
    row = 7
    qtbot.waitUntil(lambda: page.model.record_at(row) is not None, timeout=WAIT_MS)
    rec = page.model.record_at(row)
    qp_col = FIELDS.index("qp_m3h")

    # a valid edit is saved, logged, and shown
    new_qp = 6.0 if rec.qp_m3h != 6.0 else 10.0
    assert page.model.setData(page.model.index(row, qp_col), f"{new_qp:g}")
    qtbot.waitUntil(lambda: reg.get_meter(rec.id).qp_m3h == new_qp, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.model.record_at(row).version == rec.version + 1, timeout=WAIT_MS)
    assert page.model.index(row, qp_col).data() == f"{new_qp:g}"
    last = reg.history(rec.id)[-1]
    assert last["action"] == "update" and last["before"]["qp_m3h"] == rec.qp_m3h and last["after"]["qp_m3h"] == new_qp

    # a value the import would refuse is refused here, with the reason, and nothing is stored
    sec_col = FIELDS.index("secondary_address")
    stored = reg.get_meter(rec.id)
    assert not page.model.setData(page.model.index(row, sec_col), "12AB")
    assert page.banner.level == "error" and "must be 8 digits" in page.banner.text
    assert reg.get_meter(rec.id).version == stored.version

    # someone else saves first: the user is told what they changed, nothing is saved, Reload shows theirs
    other = open_register(big_url)
    other.update_meter(rec.id, {"notes": "valve replaced"}, expected_version=stored.version, user="bob")
    notes_col = FIELDS.index("notes")
    assert page.model.setData(page.model.index(row, notes_col), "sensor pocket checked")
    qtbot.waitUntil(lambda: page.last_conflict is not None, timeout=WAIT_MS)
    text = page.banner.text
    assert "bob" in text and "notes: theirs 'valve replaced' vs yours 'sensor pocket checked'" in text
    assert "nothing saved" in text
    assert reg.get_meter(rec.id).notes == "valve replaced"
    assert page.banner.current().action_text == "Reload"
    page.banner.action_button.click()
    qtbot.waitUntil(lambda: page.model.record_at(row).notes == "valve replaced", timeout=WAIT_MS)
    assert page.model.record_at(row).version == stored.version + 1
    other.close()
    reg.close()


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["site", "manufacturer", "model", "serial", "install_date", "secondary_address", "qp_m3h"])
        w.writerows(rows)


def test_import_with_bad_rows_lists_them_and_stores_nothing(make_window, qtbot, tmp_path):
    url = f"sqlite:///{tmp_path / 'small.db'}"
    reg = open_register(url)
    win, page = None, None
    win = make_window(page="register", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.index is not None, timeout=WAIT_MS)
    assert page.model.rowCount() == 0
    path = tmp_path / "meters.csv"
    _write_csv(path, [["North", "Kamstrup", "MULTICAL 603", "1001", "2019-05-01", "00001001", "1.5"],
                      ["North", "Kamstrup", "MULTICAL 603", "1002", "2019-13-01", "00001002", "1.5"],
                      ["North", "Kamstrup", "MULTICAL 603", "1003", "2019-05-02", "12AB", "1.5"],
                      ["North", "Kamstrup", "MULTICAL 603", "1004", "2019-05-03", "00001004", "1.5"]])
    page.start_import(str(path), False)
    qtbot.waitUntil(lambda: page.bad_rows.isVisible(), timeout=WAIT_MS)
    t = page.bad_rows_table
    listed = [(t.item(i, 0).text(), t.item(i, 1).text()) for i in range(t.rowCount())]
    assert [line for line, _r in listed] == ["3", "4"]
    assert "no such day" in listed[0][1] and "8 digits" in listed[1][1]
    assert "Nothing was stored" in page.bad_rows_label.text()
    assert page.banner.level == "error" and "nothing was stored" in page.banner.text
    assert reg.count_meters() == 0

    # the user opens the file, fixes one line, imports again; then stores the valid rows only
    opened = []
    page.open_file = opened.append
    page.open_import_file()
    assert opened == [str(path)]
    _write_csv(path, [["North", "Kamstrup", "MULTICAL 603", "1001", "2019-05-01", "00001001", "1.5"],
                      ["North", "Kamstrup", "MULTICAL 603", "1002", "2019-12-01", "00001002", "1.5"],
                      ["North", "Kamstrup", "MULTICAL 603", "1003", "2019-05-02", "12AB", "1.5"],
                      ["North", "Kamstrup", "MULTICAL 603", "1004", "2019-05-03", "00001004", "1.5"]])
    page.start_import(str(path), False)
    qtbot.waitUntil(lambda: page.bad_rows.isVisible() and page.bad_rows_table.rowCount() == 1, timeout=WAIT_MS)
    assert reg.count_meters() == 0
    asked = []
    page.ask = lambda title, text, ok="OK": asked.append((text, ok)) or False  # the user says no first
    page.start_import(str(path), True)
    qtbot.waitUntil(lambda: len(asked) == 1 and page.ctx.tasks.is_idle(), timeout=WAIT_MS)
    assert "store 3 meters (3 new, 0 updated) and leave 1 rows out" in asked[0][0]
    assert "secondary_address: must be 8 digits: 1 row (line 4)" in asked[0][0]
    assert asked[0][1] == "Store 3, leave 1 out" and reg.count_meters() == 0  # never without the user's word
    page.ask = lambda title, text, ok="OK": asked.append((text, ok)) or True
    page.start_import(str(path), True)
    qtbot.waitUntil(lambda: reg.count_meters() == 3 and page.model.rowCount() == 3, timeout=WAIT_MS)
    assert "valid rows were stored" in page.bad_rows_label.text()
    assert sorted(page.model.record_at(r).serial for r in range(3)) == ["1001", "1002", "1004"]
    reg.close()


def test_unreachable_postgresql_is_one_clear_message_and_the_app_runs_on(make_window, qtbot):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/x"
    win = make_window(page="register", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.banner.level == "error", timeout=WAIT_MS)
    text = page.banner.text
    assert text.startswith("Cannot open the register: cannot open database postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert "\n" not in text and "Traceback" not in text
    assert page.banner.current().action_text == "Retry"
    assert page.model.rowCount() == 0 and page.count_label.text() == "The register could not be opened."
    # the window keeps working: other pages, and the register page again (Retry fails the same way, once more)
    win.show_page("calculators")
    win.show_page("register")
    page.banner.action_button.click()
    qtbot.waitUntil(lambda: page.banner.level == "error" and page.banner.text == text and not page._loading,
                    timeout=WAIT_MS)
    assert win.isVisible()
