"""The Register page's import wizard: file -> preview -> columns -> dates and numbers -> check -> store.

A messy billing export (tests/helpers/messy_export.py) goes through the wizard as a user would take
it; nothing is stored before the last step, the counts shown are the generator's, and a saved mapping
is offered again for a file with the same header and exported as --map JSON.
"""
from __future__ import annotations

import json

import pytest

from app.storage.import_preview import ImportProfiles
from app.storage.register import open_register

from tests.helpers.messy_export import MAPPING, messy_csv

WAIT_MS = 60_000
pytestmark = pytest.mark.gui


def _wizard(make_window, qtbot, tmp_path, n=120):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    win = make_window(page="register", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.index is not None, timeout=WAIT_MS)
    src = tmp_path / "billing.csv"
    truth = messy_csv(src, n)
    wiz = page.open_import_wizard()
    wiz.profiles = ImportProfiles(tmp_path / "profiles")
    return page, wiz, src, truth, url


def _idle(qtbot, wiz):
    qtbot.waitUntil(lambda: wiz.task is None and wiz.ctx.tasks.is_idle(), timeout=WAIT_MS)


def test_the_wizard_from_file_to_stored_meters(make_window, qtbot, tmp_path):
    page, wiz, src, truth, url = _wizard(make_window, qtbot, tmp_path)
    assert wiz.current() == 0 and not wiz.next_button.isEnabled()
    wiz.path_edit.setText(str(src))
    wiz.next()
    _idle(qtbot, wiz)
    # step 2: the first rows as read; the title line is above the header, skipped
    assert wiz.current() == 1
    assert wiz.preview.header_index == 1 and wiz.preview.lines[1] == 2
    assert "semicolon" in wiz.reading_label.text() and "1 row above the header skipped" in wiz.reading_label.text()
    assert wiz.preview_table.item(1, 1).text() == "Account Number"
    wiz.next()
    # step 3: guesses from the header texts; personal columns marked; the billing columns must be dropped
    cols, _ = wiz.columns.choices()
    header = wiz.preview.header
    assert cols[header.index("Meter Serial")] == "serial" and cols[header.index("Scheme")] == "site"
    assert cols[header.index("Customer Name")] == "occupant_name"
    assert wiz.columns.table.item(header.index("Customer Name"), 3).text() == "personal data"
    assert wiz.columns.table.item(header.index("Last Bill"), 3).text() == "personal? map or drop"
    assert not wiz.next_button.isEnabled()
    for i, h in enumerate(header):
        if h in MAPPING and MAPPING[h] is None:
            wiz.columns.set_choice(i, None, drop=True)
        elif h in MAPPING:
            wiz.columns.set_choice(i, MAPPING[h])
    assert wiz.columns.problems() == [] and wiz.next_button.isEnabled()
    wiz.next()
    # step 4: dd/mm/yyyy dates need an order; decimal commas are seen
    assert wiz.current() == 3 and "day and which the month" in wiz.dates_label.text()
    assert not wiz.next_button.isEnabled()
    wiz.order_buttons["dmy"].setChecked(True)
    assert "1,5" in wiz.numbers_label.text() or "2,5" in wiz.numbers_label.text() or "," in wiz.numbers_label.text()
    with open_register(url) as reg:
        assert reg.count_meters() == 0
        wiz.next()
        _idle(qtbot, wiz)
        # step 5: the whole file checked, nothing stored; the counts are the generator's
        assert wiz.current() == 4 and wiz.report is not None and not wiz.report.stored
        assert (wiz.report.created, len(wiz.report.invalid)) == (len(truth), 0)
        assert reg.count_meters() == 0
        assert wiz.next_button.text() == f"Store all {len(truth):,} meters"
        wiz.next()
        _idle(qtbot, wiz)
        assert wiz.current() == 5 and wiz.stored.created == len(truth)
        assert reg.count_meters() == len(truth)
        m = reg.find_meter(truth[7]["manufacturer"], truth[7]["serial"])
        assert (m.site, m.install_date, m.qp_m3h) == (truth[7]["site"], truth[7]["install_date"], truth[7]["qp_m3h"])
    assert "Stored: 120 new meters" in wiz.store_label.text()
    wiz.next()  # Done


def test_invalid_rows_are_counted_by_reason_and_stored_only_on_the_users_word(make_window, qtbot, tmp_path):
    page, wiz, src, truth, url = _wizard(make_window, qtbot, tmp_path, n=60)
    text = src.read_bytes().decode("utf-8", "replace").splitlines()
    text[10] = text[10].replace(";1,5;", ";abc;").replace(";2,5;", ";abc;").replace(";0,6;", ";abc;") \
        .replace(";3,5;", ";abc;").replace(";6;", ";abc;")
    src.write_bytes(("\n".join(text) + "\n").encode("utf-8"))
    wiz.path_edit.setText(str(src))
    wiz.next()
    _idle(qtbot, wiz)
    wiz.next()
    wiz._apply(MAPPING)
    wiz.next()
    wiz.order_buttons["dmy"].setChecked(True)
    wiz.next()
    _idle(qtbot, wiz)
    r = wiz.report
    assert len(r.invalid) == 1 and r.invalid[0][0] == 11 and r.created == 59
    assert wiz.problems_table.rowCount() == 1 and wiz.problems_table.item(0, 0).text() == "qp_m3h: not a number"
    assert wiz.next_button.text() == "Store 59 meters, leave 1 row out"
    with open_register(url) as reg:
        assert reg.count_meters() == 0
    wiz.close_or_cancel()  # the user walks away: nothing was stored
    with open_register(url) as reg:
        assert reg.count_meters() == 0


def test_a_saved_mapping_is_offered_again_and_exported_as_map_json(make_window, qtbot, tmp_path):
    page, wiz, src, truth, url = _wizard(make_window, qtbot, tmp_path, n=20)
    wiz.path_edit.setText(str(src))
    wiz.next()
    _idle(qtbot, wiz)
    wiz.next()
    wiz._apply(MAPPING)
    wiz.order_buttons["dmy"].setChecked(True)
    wiz.ask_text = lambda *a, **k: "UK billing"
    wiz.save_profile()
    assert wiz.profiles.names() == ["UK billing"]
    out = tmp_path / "billing-map.json"
    wiz.ask_file = lambda *a, **k: str(out)
    wiz.export_mapping()
    exported = json.loads(out.read_text(encoding="utf-8"))
    # every header whose register column is not its own name (DN and Battery Expiry are: they need no entry)
    assert exported == {h: c for h, c in MAPPING.items() if h not in ("DN", "Battery Expiry")}
    wiz.close_or_cancel()
    # a second file with the same header: the profile is applied by itself
    wiz2 = page.open_import_wizard(str(src))
    wiz2.profiles = ImportProfiles(tmp_path / "profiles")
    _idle(qtbot, wiz2)
    wiz2.next()
    assert "UK billing" in wiz2.message.text()
    cols, dropped = wiz2.columns.choices()
    assert cols[wiz2.preview.header.index("Fitted Date")] == "install_date"
    assert wiz2.preview.header.index("Tariff") in dropped
    assert wiz2.order_buttons["dmy"].isChecked()
    wiz2.close_or_cancel()


def test_cancel_while_checking_stores_nothing(make_window, qtbot, tmp_path):
    page, wiz, src, truth, url = _wizard(make_window, qtbot, tmp_path, n=30_000)
    wiz.path_edit.setText(str(src))
    wiz.next()
    _idle(qtbot, wiz)
    wiz.next()
    wiz._apply(MAPPING)
    wiz.next()
    wiz.order_buttons["dmy"].setChecked(True)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.task is not None, timeout=WAIT_MS)
    wiz.close_or_cancel()
    _idle(qtbot, wiz)
    assert wiz.report is None and "nothing was stored" in wiz.message.text().lower()
    with open_register(url) as reg:
        assert reg.count_meters() == 0
