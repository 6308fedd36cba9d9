"""The Radio page in the real window, on the simulated radio: meters heard against what the simulator
sent, keys, one meter's telegrams, filter, start/stop, errors; the connectivity survey end to end."""
from __future__ import annotations

import statistics
from collections import defaultdict

import pytest

from drivers.simulator.wmbus import RadioField, default_field, keys_csv
from tests.helpers.qt import task_ended

PASSPHRASE = "correct horse battery"
SEED = 5


@pytest.fixture
def key_store(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMETER_KEYSTORE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("HEATMETER_KEYRING", "0")
    monkeypatch.delenv("HEATMETER_KEYSTORE_PASSPHRASE", raising=False)


def _page(make_window, tmp_path, meters=24, with_keys=True):
    win = make_window(page="radio", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    page = win.current_page()
    page.service.field = RadioField(default_field(meters, SEED), SEED)
    if with_keys:
        win.ctx.keys.set_passphrase(PASSPHRASE)
        win.ctx.keys.import_text_now(keys_csv(page.service.field.meters))
    page._select_source("simulator")
    return win, page


def _sent(meters: int, until_s: float):
    """What the same simulated field sends until ``until_s`` (an independent run of it): per meter key the
    RSSI of each telegram heard."""
    field = RadioField(default_field(meters, SEED), SEED)
    out = defaultdict(list)
    for _when, m, _tg, rssi in field.due_timed(until_s):
        out[f"{m.manufacturer} {m.identification}"].append(rssi)
    return out


def _receive(page, qtbot, seconds: float):
    task = page.start(clock="virtual", seconds=seconds)
    task_ended(qtbot, task, timeout=60000)
    assert task.state == task.FINISHED, task.error
    return task


def test_meters_heard_match_what_the_simulator_sent(make_window, qtbot, tmp_path, key_store):
    win, page = _page(make_window, tmp_path)
    _receive(page, qtbot, 900)
    sent = _sent(24, 900)
    t = page.table
    assert set(t.meters) == set(sent)
    for key, rssis in sent.items():
        m = t.meters[key]
        assert m.count == len(rssis)
        assert m.rssi_min == min(rssis) and m.rssi_now == rssis[-1]
        assert m.rssi_median == pytest.approx(statistics.median(rssis))
    field = {f"{m.manufacturer} {m.identification}": m for m in page.service.field.meters}
    for key, m in t.meters.items():
        fm = field[key]
        assert m.status == ("plain" if fm.security == 0 else "decrypted")
        if len(sent[key]) >= 6:       # the interval estimate is within the simulator's 5 % jitter
            assert m.interval_s == pytest.approx(fm.interval_s, rel=0.06)
    assert page.model.rowCount() == len(sent) and page.proxy.rowCount() == len(sent)
    # the table's cells for one meter
    from app.ui.radio.model import FIELDS

    key = next(k for k in t.order if field[k].kind == "heat" and field[k].security)
    row = page.model.row_of(key)
    cell = lambda f: page.model.index(row, FIELDS.index(f)).data()   # noqa: E731
    assert cell("meter") == key.split()[1] and cell("key") == "key ✓" and cell("heard") == str(len(sent[key]))
    assert cell("values").startswith("E ") and "kWh" in cell("values")


def test_without_keys_encrypted_meters_show_no_values(make_window, qtbot, tmp_path, key_store):
    win, page = _page(make_window, tmp_path, with_keys=False)
    _receive(page, qtbot, 600)
    field = {f"{m.manufacturer} {m.identification}": m for m in page.service.field.meters}
    for key, m in page.table.meters.items():
        if field[key].security:
            assert m.status == "no key" and m.values == ()
        else:
            assert m.status == "plain" and m.values
    page.proxy.set_filter(kind="no_key")
    assert page.proxy.rowCount() == sum(1 for k in page.table.meters if field[k].security)


def test_pick_a_meter_every_telegram_decoded_with_raw_bytes(make_window, qtbot, tmp_path, key_store):
    win, page = _page(make_window, tmp_path)
    _receive(page, qtbot, 600)
    key = next(k for k, m in page.table.meters.items() if m.make == "Kamstrup")
    assert page.select_meter(key)
    meter = page.table.meters[key]
    assert page.telegrams.rowCount() == meter.count
    page.tg_view.setCurrentIndex(page.telegrams.index(0, 0))
    text = page.detail.toPlainText()
    first = meter.log[0]
    assert f"Meter {key}" in text and "decrypted with the meter's key" in text
    assert " ".join(f"{b:02X}" for b in first.raw[:16]) in text
    assert "energy" in text


def test_filter_by_text(make_window, qtbot, tmp_path, key_store):
    win, page = _page(make_window, tmp_path)
    _receive(page, qtbot, 600)
    kam = [k for k in page.table.meters if k.startswith("KAM ")]
    page.filter_edit.setText("kamstrup")
    assert page.proxy.rowCount() == len(kam) > 0
    one = kam[0].split()[1]
    page.filter_edit.setText(one)
    assert page.proxy.rowCount() == 1


def test_start_and_stop_on_the_real_clock(make_window, qtbot, tmp_path, key_store):
    win, page = _page(make_window, tmp_path)
    page.service.sim_speed = 400.0
    with qtbot.waitSignal(page.service.runningChanged, timeout=5000):
        page.toggle()
    assert page.start_button.text() == "Stop" and not page.mode_combo.isEnabled()
    qtbot.waitUntil(lambda: page.table.total >= 10, timeout=20000)
    task = page.service.task
    page.toggle()
    task_ended(qtbot, task)
    assert task.state == task.CANCELLED and not page.service.running
    assert page.start_button.text() == "Start" and page.mode_combo.isEnabled()
    assert "Stopped" in page.status_label.text()


def test_a_port_that_is_not_there_is_one_line(make_window, qtbot, tmp_path, key_store):
    win, page = _page(make_window, tmp_path)
    page._select_source("__other__")
    page.port_edit.setText(str(tmp_path / "no-such-stick"))
    page.type_combo.setCurrentIndex(page.type_combo.findData("im871a"))
    with qtbot.waitSignal(page.service.failed, timeout=10000) as sig:
        page.start()
    msg = sig.args[0]
    assert "no-such-stick is not there" in msg and "\n" not in msg
    qtbot.waitUntil(lambda: not page.service.running, timeout=5000)
    assert "no-such-stick is not there" in page.banner.text
    page._select_source("__other__")
    page.port_edit.setText("")
    page.start()
    assert "Give the port" in page.banner.text


def test_survey_two_locations_saved_and_reported(make_window, qtbot, tmp_path, key_store):
    from pypdf import PdfReader

    from app.storage.register import open_register
    from tests.helpers.files import csv_dicts

    win, page = _page(make_window, tmp_path)
    page.service.sim_speed = 600.0
    sv = page.survey
    sv.site_combo.setEditText("Block A")
    sv.name_edit.setText("Handover")
    sv.minutes_spin.setValue(5)
    for name, floor in (("Stairwell", "0"), ("Landing", "3")):
        sv.loc_edit.setText(name)
        sv.floor_edit.setText(floor)
        sv.listen_here()
        qtbot.waitUntil(lambda: sv.active is None, timeout=30000)
    page.stop()
    qtbot.waitUntil(lambda: not page.service.running, timeout=10000)
    qtbot.waitUntil(lambda: sv.result is not None and len(sv.result.survey.locations) == 2, timeout=20000)
    s = sv.survey
    assert [x.name for x in s.locations] == ["Stairwell", "Landing"]
    assert all(x.duration_s == pytest.approx(300.0) for x in s.locations)
    assert all(x.started_at < r.received_at <= x.ended_at for x in s.locations for r in x.receptions)
    assert sv.results.rowCount() == len(sv.result.meters) > 0
    assert sv.result.survey.settings.sensitivity_dbm == -105.0
    # saved with the site
    with qtbot.waitSignal(page.banner.shown, timeout=20000):
        sv.save()
    assert sv.saved_id is not None and not sv.save_button.isEnabled()
    with open_register(f"sqlite:///{tmp_path / 'reg.db'}") as reg:
        back = reg.survey(sv.saved_id)
    assert back["site"] == "Block A" and back["digest_ok"] and len(back["locations"]) == 2
    assert sum(len(x["telegrams"]) for x in back["locations"]) == sum(len(x.receptions) for x in s.locations)
    assert back["results"]["counts"] == sv.result.counts()
    # CSV and PDF
    csv_path, pdf_path = tmp_path / "survey.csv", tmp_path / "survey.pdf"
    task_ended(qtbot, sv.export_to(str(csv_path), "csv"))
    task_ended(qtbot, sv.export_to(str(pdf_path), "pdf"))
    rows = csv_dicts(csv_path)
    assert len(rows) == 2 * len(sv.result.meters)
    assert {r["location"] for r in rows} == {"Stairwell", "Landing"}
    reader = PdfReader(str(pdf_path))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    reader.stream.close()
    assert "Connectivity survey" in text and "Block A" in text and "-105 dBm" in text
    some = sv.result.meters[0]
    assert some.identification in text
