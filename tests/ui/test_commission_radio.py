"""The Commission wizard with a radio meter: identified from the telegrams heard (simulated radio), its
key, signal and send interval checked, its telegrams kept as evidence; step 4 reads it from the radio."""
from __future__ import annotations

import statistics

import pytest
from PySide6.QtCore import Qt

from app.core import commissioning as cm
from drivers.simulator.wmbus import RadioField, default_field, keys_csv
from tests.helpers.qt import task_ended

SEED = 3


@pytest.fixture
def key_store(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMETER_KEYSTORE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("HEATMETER_KEYRING", "0")
    monkeypatch.delenv("HEATMETER_KEYSTORE_PASSPHRASE", raising=False)


@pytest.fixture
def open_reg():
    """``open_reg(url)``: the register the wizard writes, opened by the test; closed at its end."""
    from app.storage.register import open_register

    opened = []

    def open_(url):
        opened.append(open_register(url))
        return opened[-1]

    yield open_
    for reg in opened:
        reg.close()


def _idle(qtbot, win, timeout=20000):
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=timeout)


def _heard(make_window, qtbot, tmp_path, *, keys=True, seconds=900):
    from app.ui.radio.service import Source

    win = make_window(page="commission", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    page = win.current_page()
    _idle(qtbot, win)
    radio = win.ctx.radio
    radio.field = RadioField(default_field(12, SEED), SEED)
    if keys:
        win.ctx.keys.set_passphrase("correct horse battery")
        win.ctx.keys.import_text_now(keys_csv(radio.field.meters))
    task = radio.start(Source("simulator", None, "t1"), clock="virtual", seconds=seconds)
    task_ended(qtbot, task, timeout=60000)
    page.refresh_radio_meters()
    return win, page, radio


def _use(qtbot, win, page, make: str):
    combo = page.identify_step.radio_combo
    idx = next(i for i in range(combo.count()) if combo.itemData(i).startswith(make + " "))
    combo.setCurrentIndex(idx)
    key = combo.itemData(idx)
    qtbot.mouseClick(page.identify_step.radio_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(page.state.identify.get("radio")), timeout=20000)
    _idle(qtbot, win)
    return key


def test_radio_meter_identified_checked_and_kept_as_evidence(make_window, qtbot, tmp_path, key_store, open_reg):
    win, page, radio = _heard(make_window, qtbot, tmp_path)
    assert page.identify_step.radio_combo.count() == len(radio.table.meters)
    key = _use(qtbot, win, page, "DME")                     # Diehl: security mode 5, every 30 s
    meter = radio.table.meters[key]
    i = page.state.identify
    assert (i["mbus_manufacturer"], i["secondary_address"], i["serial"]) == ("DME", meter.identification,
                                                                           meter.identification)
    assert i["manufacturer"] == "Diehl" and i["kind"] == "heat"
    a = i["radio"]
    checks = {c["check"]: c for c in a["checks"]}
    assert checks["key"]["ok"] is True and "decrypts" in checks["key"]["text"]
    rssi = sorted(r.rssi_dbm for r in meter.log)
    assert a["rssi_median_dbm"] == pytest.approx(statistics.median(rssi))
    assert a["margin_db"] == pytest.approx(statistics.median(rssi) + 105.0, abs=0.05)
    assert checks["signal"]["ok"] is (a["margin_db"] >= 10)
    assert checks["interval"]["ok"] is True and a["interval_s"] == pytest.approx(30.0, rel=0.06)
    ident = page.state.readouts_with("identify")[0]
    assert [bytes.fromhex(h) for h in ident["frames_hex"]] == [r.raw for r in list(meter.log)[-10:]][::-1]
    assert all(t["encryption"] == {"mode": 5, "decrypted": True} for t in ident["telegrams"])
    assert "✓" in page.identify_step.radio_status.text()

    # on to step 2: the meter is created and its telegrams stored as evidence ("radio")
    f = page.identify_step.fields
    f["model"].setText("Sharky 775")
    page.identify_step.mid_class.setCurrentText("2")
    for k, v in (("qp_m3h", "1.5"), ("qi_m3h", "0.015"), ("qs_m3h", "3"), ("dtheta_min_k", "3"),
                 ("dtheta_max_k", "150")):
        f[k].setText(v)
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.step == 2, timeout=20000)
    p = page.place_step
    p.site.setCurrentText("Riverside Court")
    p.location.setText("Flat 3B, riser cupboard")
    p.point.setCurrentText("CC1")
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.step == 3, timeout=20000)
    _idle(qtbot, win)
    reg = open_reg(f"sqlite:///{tmp_path / 'reg.db'}")
    stored = reg.readouts(page.state.meter_id)
    assert len(stored) == 1 and stored[0]["transport"] == "radio"
    assert stored[0]["frames"] == [bytes.fromhex(h) for h in ident["frames_hex"]]
    rec = reg.get_commissioning(page.state.record_id)
    assert rec["plausibility"]["identify"]["radio"]["checks"][0]["ok"] is True

    # step 4: the plausibility readout comes from its latest telegrams
    for item in cm.CHECKLIST:
        row = page.checklist_step.rows[item.key]
        qtbot.mouseClick(row.buttons.buttons["yes"], Qt.MouseButton.LeftButton)
        if item.note_on_yes:                 # the items that ask for what was found, even on yes
            row.note.setText("M24" if item.key == "mid_marking" else "as found on site")
    page.checklist_step.collect(page.state)
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 1, timeout=20000)
    _idle(qtbot, win)
    check = page.state.readouts_with("check")[0]
    assert check["transport"] == "radio" and len(check["frames_hex"]) == 3
    assert bytes.fromhex(check["frames_hex"][0]) == meter.log[-1].raw


def test_a_radio_meter_without_key_fails_the_key_check(make_window, qtbot, tmp_path, key_store):
    win, page, radio = _heard(make_window, qtbot, tmp_path, keys=False)
    _use(qtbot, win, page, "KAM")
    checks = {c["check"]: c for c in page.state.identify["radio"]["checks"]}
    assert checks["key"]["ok"] is False and "no key" in checks["key"]["text"]
    assert "no key" in page.banner.text and "✗" in page.identify_step.radio_status.text()


def test_not_receiving_says_where_to_start(make_window, qtbot, tmp_path, key_store):
    win = make_window(page="commission", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    page = win.current_page()
    _idle(qtbot, win)
    page.refresh_radio_meters()
    assert page.identify_step.radio_combo.count() == 0 and not page.identify_step.radio_button.isEnabled()
    assert "start the receiver on the Radio page" in page.identify_step.radio_status.text()
