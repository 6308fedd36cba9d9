"""The Commission wizard driven through the real window against the simulated bus
(through the bus service) and a real temporary register."""
from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.exceptions import TimeoutError as WaitTimeout

from app.core import commissioning as cm

KAM = "71234567"
# what the items that ask for a note on yes get (the year of the M marking, straight lengths, classes, pressure)
YES_NOTES = {i.key: ("M24" if i.key == "mid_marking" else "as found on site") for i in cm.CHECKLIST if i.note_on_yes}


@pytest.fixture
def db_url(tmp_path):
    return "sqlite:///" + str(tmp_path / "register.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path):
    """The register on SQLite, and on PostgreSQL (skipped locally without a server, required in CI)."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "register.db")
    return request.getfixturevalue("pg_url")


def _idle(qtbot, win, timeout=20000):
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=timeout)


def _open(make_window, qtbot, db_url, *, scan=True):
    """A window on the Commission page, connected to the simulated bus (meters 1..3 scanned)."""
    win = make_window(page="commission", db_url=db_url)
    page = win.current_page()
    assert page.name == "commission"
    _idle(qtbot, win)
    if scan:
        bus = win.ctx.bus
        bus.connect_simulator(pace=0.0)
        bus.scan_primary(1, 3)
        _idle(qtbot, win)
        qtbot.waitUntil(lambda: page.identify_step.meter_combo.count() >= 3)
    return win, page


def _read_kam(qtbot, win, page):
    combo = page.identify_step.meter_combo
    idx = next(i for i in range(combo.count()) if combo.itemData(i).secondary_address == KAM)
    combo.setCurrentIndex(idx)
    qtbot.waitUntil(page.identify_step.read_button.isEnabled, timeout=20000)   # a click on a busy button is lost
    qtbot.mouseClick(page.identify_step.read_button, Qt.MouseButton.LeftButton)
    try:
        qtbot.waitUntil(lambda: page.identify_step.fields["serial"].text() == KAM, timeout=20000)
    except WaitTimeout as exc:
        raise AssertionError(f"the meter was not read; the page says: {page.banner.text!r}") from exc
    _idle(qtbot, win)
    f = page.identify_step.fields
    f["model"].setText("MULTICAL 603")
    page.identify_step.mid_class.setCurrentText("2")
    for k, v in (("qp_m3h", "1.5"), ("qi_m3h", "0.015"), ("qs_m3h", "3"), ("dtheta_min_k", "3"),
                 ("dtheta_max_k", "150")):
        f[k].setText(v)


def _next(qtbot, win, page, step):
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.step == step, timeout=20000)
    _idle(qtbot, win)


def _to_checklist(qtbot, win, page):
    _read_kam(qtbot, win, page)
    _next(qtbot, win, page, 2)
    p = page.place_step
    p.site.setCurrentText("North Works")
    p.building.setText("Energy centre")
    p.location.setText("Plant room, substation 1")
    p.point.setCurrentText("SS2")
    _next(qtbot, win, page, 3)
    assert page.state.record_id is not None


def _answer(qtbot, page, key, answer, note=None):
    row = page.checklist_step.rows[key]
    qtbot.mouseClick(row.buttons.buttons[answer], Qt.MouseButton.LeftButton)
    if note is not None:
        row.note.setFocus()
        qtbot.keyClicks(row.note, note)
        qtbot.keyClick(row.note, Qt.Key.Key_Return)


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


def test_full_commissioning_signed_with_evidence_and_certificate(make_window, qtbot, open_reg, db_url, tmp_path,
                                                                  pdf_text):
    win, page = _open(make_window, qtbot, db_url)
    from_bus: list[list[bytes]] = []
    win.ctx.bus.readoutReady.connect(lambda ro: from_bus.append([bytes(f) for f in ro.frames]))
    _to_checklist(qtbot, win, page)

    for item in cm.CHECKLIST:
        _answer(qtbot, page, item.key, "yes", YES_NOTES.get(item.key))
    _next(qtbot, win, page, 4)                          # entering step 4 reads the meter at once
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 1, timeout=20000)
    _idle(qtbot, win)
    assert page.bus.advance_simulated_clock(900)       # fifteen minutes of flow on the meter's clock
    qtbot.mouseClick(page.plausibility_step.read_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 2, timeout=20000)
    _idle(qtbot, win)
    checks = {c["key"]: c for c in page.state.checks}
    assert set(checks) == {"temperature_order", "dtheta_range", "flow_range", "energy_increment", "clock", "status",
                           "data_items", "vwaft_setpoint"}       # SS2: its Annex A data items, its VWAFT
    assert checks["temperature_order"]["status"] == "pass"
    assert checks["status"]["status"] == "pass"
    inc = checks["energy_increment"]["values"]
    assert inc["delta_energy_kwh"] > 0 and inc["delta_volume_m3"] > 0 and "deviation_pct" in inc
    assert page.plausibility_step.check_rows["energy_increment"][0].status == checks["energy_increment"]["status"]
    assert "Ec" in page.plausibility_step.mpe_label.text()          # the MPE at the operating point is shown

    _next(qtbot, win, page, 5)
    page.observation_seconds = 3
    page.observe_step.interval.setValue(1)
    qtbot.mouseClick(page.observe_step.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(page.state.observation.get("kpis")), timeout=20000)
    _idle(qtbot, win)
    k = page.state.observation["kpis"]
    assert k["completeness"]["expected"] == 3 and k["completeness"]["received"] >= 2
    assert k["vwaft_c"] is not None and 40 < k["vwaft_c"] < 90
    assert len(page.observe_step.plot) >= 2

    _next(qtbot, win, page, 6)
    win.ctx.settings.set_page_value("commission", "certificate_dir", str(tmp_path / "certs"))
    assert page.sign_step.technician.text() == ""           # never prefilled (not with the computer account)
    page.sign_step.technician.setText("Ann Example")
    qtbot.mouseClick(page.sign_step.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.signed, timeout=30000)
    _idle(qtbot, win)

    reg = open_reg(db_url)
    rec = reg.get_commissioning(page.state.record_id)
    assert rec["status"] == "signed" and rec["signed_by"] == "Ann Example" and rec["technician"] == "Ann Example"
    assert rec["current_step"] == 6
    assert {k: v["answer"] for k, v in rec["checklist"].items()} == {i.key: "yes" for i in cm.CHECKLIST}
    assert rec["checklist"]["mid_marking"]["note"] == "M24"
    meter = reg.get_meter(rec["meter_id"])
    assert (meter.serial, meter.mbus_manufacturer, meter.model, meter.site, meter.monitoring_point) == \
        (KAM, "KAM", "MULTICAL 603", "North Works", "SS2")
    evidence = [r for r in reg.readouts(meter.id) if r["commissioning_id"] == rec["id"]]
    assert sorted(r["id"] for r in evidence) == sorted(rec["readout_ids"])
    assert len(evidence) == 5        # identification, two plausibility readouts, start and end of the window
    for r in evidence:
        assert r["frames"] in from_bus, "a stored frame differs from what the bus returned"
        assert r["decoded"][0]["identification"] == KAM
    assert rec["plausibility"]["observation"]["kpis"] == k

    text = pdf_text(page.certificate_path)
    assert KAM in text and "MULTICAL 603" in text and "Ann Example" in text
    for item in cm.CHECKLIST:
        assert " ".join(item.text.split()) in text, item.key
    first = from_bus[0][0].hex().upper()
    spaced = " ".join(first[i:i + 2] for i in range(0, 60, 2))
    assert spaced in text                                 # the raw hex of the telegrams
    assert "Data completeness" in text and "Volume-weighted average flow" in text and "Signature" in text
    # the readout in words and units, the medium in words, no decoder names
    assert "Heat energy" in text and "kWh" in text and "°C" in text and "On time" in text
    assert "Heat (volume in return)" in text
    # (the Annex A data item "instantaneous power (kW)" is English, not the decoder's function name)
    words = text.replace("instantaneous power (kW)", "")
    for internal in ("heat_outlet", "degC", "instantaneo", "fabrication_number", " Wh "):
        assert internal not in words, internal
    # which meter: on every page, in the header and the footer
    import pypdf

    pages = pypdf.PdfReader(page.certificate_path).pages
    for n, p in enumerate(pages, start=1):
        t = " ".join((p.extract_text() or "").split())
        assert t.count(f"Kamstrup {KAM}") >= 2 and f"page {n} of {len(pages)}" in t, n


def test_killed_wizard_resumes_its_draft_at_the_step_it_was_on(make_window, qtbot, open_reg, any_db_url):
    db_url = any_db_url
    win, page = _open(make_window, qtbot, db_url)
    _to_checklist(qtbot, win, page)
    _answer(qtbot, page, "sensors_in_marked_pipes", "yes")
    _answer(qtbot, page, "flow_sensor_position", "yes")
    _answer(qtbot, page, "flow_direction", "no", "arrow against the flow")
    _answer(qtbot, page, "heat_cooling_registers", "na")
    _idle(qtbot, win)
    rid = page.state.record_id
    reg = open_reg(db_url)
    saved = reg.get_commissioning(rid)
    assert saved["status"] == "draft" and saved["current_step"] == 3
    assert saved["checklist"]["flow_direction"] == {"answer": "no", "note": "arrow against the flow"}

    win.close()                     # the app goes away; nobody closes the draft
    win2, page2 = _open(make_window, qtbot, db_url, scan=False)
    assert win2 is not win and page2 is not page
    qtbot.waitUntil(lambda: page2.banner.current() is not None, timeout=20000)
    msg = page2.banner.current()
    assert msg.action_text == f"Resume commissioning of Kamstrup {KAM} at step 3"
    assert page2.banner.action_button.isVisible()
    qtbot.mouseClick(page2.banner.action_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page2.state.record_id == rid and page2.state.step == 3, timeout=20000)
    _idle(qtbot, win2)
    assert page2.stack.currentWidget() is page2.checklist_step
    rows = page2.checklist_step.rows
    assert rows["flow_direction"].buttons.answer() == "no"
    assert rows["flow_direction"].note.text() == "arrow against the flow"
    assert rows["sensors_in_marked_pipes"].buttons.answer() == "yes"
    assert rows["heat_cooling_registers"].buttons.answer() == "na"
    assert rows["seals"].buttons.answer() is None
    assert page2.identify_step.fields["serial"].text() == KAM
    assert page2.identify_step.fields["model"].text() == "MULTICAL 603"
    assert page2.state.place["monitoring_point"] == "SS2"
    assert page2.step_bar.buttons[2].isChecked()


def test_a_meter_not_yet_placed_resumes_from_the_laptop(make_window, qtbot, db_url):
    win, page = _open(make_window, qtbot, db_url)
    _read_kam(qtbot, win, page)
    _next(qtbot, win, page, 2)
    assert page.state.record_id is None              # not in the register until placed
    frames = page.state.readouts[0]["frames_hex"]
    win.close()
    win2, page2 = _open(make_window, qtbot, db_url, scan=False)
    qtbot.waitUntil(lambda: page2.banner.current() is not None, timeout=20000)
    assert page2.banner.current().action_text == f"Resume commissioning of Kamstrup {KAM} at step 2"
    qtbot.mouseClick(page2.banner.action_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page2.state.step == 2, timeout=20000)
    assert page2.state.readouts[0]["frames_hex"] == frames
    assert page2.state.identify["qp_m3h"] == 1.5
    assert page2.stack.currentWidget() is page2.place_step


def test_missing_required_answer_is_shown_at_the_item_and_nothing_is_lost(make_window, qtbot, open_reg, db_url):
    win, page = _open(make_window, qtbot, db_url)
    _to_checklist(qtbot, win, page)
    keys = [i.key for i in cm.CHECKLIST]
    for key in keys:
        if key in ("no_clamp_on", "flow_sensor_position"):
            continue
        _answer(qtbot, page, key, "yes", "M23" if key == "mid_marking" else YES_NOTES.get(key))
    _answer(qtbot, page, "flow_sensor_position", "no")           # a "no" without the note it needs
    _idle(qtbot, win)
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    _idle(qtbot, win)

    assert page.state.step == 3                                   # kept on the checklist
    msg = page.banner.current()
    assert msg.level == "error"
    n = keys.index("flow_sensor_position") + 1
    assert msg.text.startswith(f"Item {n} needs a note") and "1 more item" in msg.text
    rows = page.checklist_step.rows
    assert rows["flow_sensor_position"].error.isVisible() and rows["no_clamp_on"].error.isVisible()
    assert "answer" in rows["no_clamp_on"].error.text().lower()
    assert not rows["seals"].error.isVisible()
    assert QApplication.focusWidget() is rows["flow_sensor_position"].note
    area = page.checklist_step.area
    top = rows["flow_sensor_position"].mapTo(area.viewport(), rows["flow_sensor_position"].rect().topLeft())
    assert 0 <= top.y() < area.viewport().height()                # scrolled to where the user must look
    for key in keys:                                              # nothing entered is lost
        if key != "no_clamp_on":
            assert rows[key].buttons.answer() in ("yes", "no"), key
    saved = open_reg(db_url).get_commissioning(page.state.record_id)["checklist"]
    assert saved["flow_sensor_position"]["answer"] == "no" and saved["mid_marking"]["note"] == "M23"
    assert "no_clamp_on" not in saved

    row = rows["flow_sensor_position"]
    qtbot.keyClicks(row.note, "calculator set for the flow pipe")
    _answer(qtbot, page, "no_clamp_on", "yes")
    assert not rows["no_clamp_on"].error.isVisible()
    _next(qtbot, win, page, 4)
    saved = open_reg(db_url).get_commissioning(page.state.record_id)
    assert saved["current_step"] >= 4
    assert re.search("flow pipe", saved["checklist"]["flow_sensor_position"]["note"])


def test_meter_going_silent_in_the_observation_window_lowers_completeness(make_window, qtbot, db_url):
    from app.ui.demo import sim_meter

    win, page = _open(make_window, qtbot, db_url)
    _to_checklist(qtbot, win, page)
    for item in cm.CHECKLIST:
        _answer(qtbot, page, item.key, "yes", YES_NOTES.get(item.key))
    _next(qtbot, win, page, 4)
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 1, timeout=20000)
    _idle(qtbot, win)
    _next(qtbot, win, page, 5)
    page.observation_seconds = 3
    page.observe_step.interval.setValue(1)
    meter = sim_meter(win.ctx.bus.sim, KAM)
    page.observe_step.start_button.click()
    qtbot.waitUntil(lambda: page._obs is not None and len(page._obs["samples"]) == 1, timeout=20000)
    meter.cfg.faults = {"silent": True}                 # the meter stops answering after the first poll
    qtbot.waitUntil(lambda: bool(page.state.observation.get("kpis")), timeout=20000)
    _idle(qtbot, win)
    c = page.state.observation["kpis"]["completeness"]
    assert (c["received"], c["expected"], c["status"]) == (1, 3, "fail")
    assert page.state.observation["missed"] >= 1
    warnings = [m.text for m in page.banner.messages() if m.level == "warning"]
    assert any("got no answer" in t for t in warnings)
    assert "33.3 %" in page.observe_step.kpi_line.text()
    assert page.next_button.isEnabled() and page.state.step == 5    # the window ended; the app goes on


def test_meter_picked_from_the_register_is_read_and_observed_through_the_bus(make_window, qtbot, open_reg, db_url):
    reg = open_reg(db_url)
    reg.create_meter({"site": "North Works", "building": "Energy centre", "location": "Substation 1",
                      "monitoring_point": "SS2", "manufacturer": "Kamstrup", "model": "MULTICAL 603",
                      "serial": KAM, "secondary_address": KAM, "primary_address": 1, "mid_class": 2, "qp_m3h": 1.5,
                      "qp_qi_ratio": 100, "qs_m3h": 3.0, "dtheta_min_k": 3, "dtheta_max_k": 150,
                      "flow_sensor_position": "return", "install_date": "2024-05-01"}, user="planner")
    win, page = _open(make_window, qtbot, db_url, scan=False)
    win.ctx.bus.connect_simulator(pace=0.0)                       # connected, nothing scanned
    step1 = page.identify_step
    step1.search.setText(KAM)
    qtbot.keyClick(step1.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: step1.use_button.isEnabled(), timeout=20000)
    qtbot.mouseClick(step1.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: step1.fields["model"].text() == "MULTICAL 603", timeout=20000)
    assert step1.fields["qi_m3h"].text() == "0.015" and step1.mid_class.currentText() == "2"
    _next(qtbot, win, page, 2)
    assert page.state.record_id is not None                       # a known meter: the draft starts at once
    from app.ui.commission.steps.place import point_id

    assert point_id(page.place_step.point.currentText()) == "SS2"
    assert page.place_step.point.currentText().startswith("SS2 — Boundary (offtake)")   # with its description
    _next(qtbot, win, page, 3)
    for item in cm.CHECKLIST:
        _answer(qtbot, page, item.key, "yes", YES_NOTES.get(item.key))
    _next(qtbot, win, page, 4)
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 1, timeout=20000)
    _idle(qtbot, win)
    assert page.state.bus_meter["manufacturer"] == "KAM" and page.state.bus_meter["medium_code"] == 0x04
    assert page.state.identify["kind"] == "heat"
    _next(qtbot, win, page, 5)
    page.observation_seconds = 2
    page.observe_step.interval.setValue(1)
    page.observe_step.start_button.click()
    qtbot.waitUntil(lambda: bool(page.state.observation.get("kpis")), timeout=20000)
    _idle(qtbot, win)
    assert page.state.observation["kpis"]["completeness"]["received"] >= 1
    meter = reg.find_meter("Kamstrup", KAM)
    assert meter.site == "North Works" and len(reg.installations(meter.id)) == 1   # same place: not moved


def _to_observation(make_window, qtbot, db_url):
    win, page = _open(make_window, qtbot, db_url)
    _to_checklist(qtbot, win, page)
    for item in cm.CHECKLIST:
        _answer(qtbot, page, item.key, "yes", YES_NOTES.get(item.key))
    _next(qtbot, win, page, 4)
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 1, timeout=20000)
    _idle(qtbot, win)
    _next(qtbot, win, page, 5)
    page.observe_step.interval.setValue(1)
    return win, page


def test_observation_window_goes_on_through_a_reconnect_and_says_so(make_window, qtbot, db_url):
    """Unplugged during the window: it goes on (missed polls count), the lost connection is said, not a
    silent meter; connected again, its polling picks up by itself and the page says so."""
    win, page = _to_observation(make_window, qtbot, db_url)
    bus = win.ctx.bus
    page.observation_seconds = 120
    page.observe_step.start_button.click()
    qtbot.waitUntil(lambda: page._obs is not None and len(page._obs["samples"]) >= 1, timeout=20000)
    assert not page.observe_step.start_button.isEnabled()           # a window runs: nothing to start
    bus.transport.unplug()
    qtbot.waitUntil(lambda: bus.state == "lost" and page._obs["missed"] >= 2, timeout=20000)
    assert "Connection lost during the observation window" in page.banner.text
    assert not any("got no answer" in m.text for m in page.banner.messages())
    before = len(page._obs["samples"])
    bus.connect_simulator(pace=0.0)
    qtbot.waitUntil(lambda: len(page._obs["samples"]) >= before + 2, timeout=20000)
    assert page.poller.running
    assert page.banner.text == "Connection back: polling for the observation window goes on."
    page.observe_step.reason.setText("test of a reconnect")
    page.observe_step.end_button.click()
    qtbot.waitUntil(lambda: bool(page.state.observation.get("kpis")), timeout=20000)
    _idle(qtbot, win)
    c = page.state.observation["kpis"]["completeness"]
    assert c["received"] >= before + 2 and page.state.observation["missed"] >= 2


def test_observation_refused_without_a_connection_and_resumed_after_esc(make_window, qtbot, db_url):
    win, page = _to_observation(make_window, qtbot, db_url)
    bus = win.ctx.bus
    bus.disconnect()
    _idle(qtbot, win)
    page.observe_step.start_button.click()
    assert page._obs is None                                         # nothing started: no "0 of 1 polls"
    assert page.banner.text.startswith("Not connected: the observation window polls the meter")
    assert page.banner.current().action_text == "Connect page"
    bus.connect_simulator(pace=0.0)
    page.observation_seconds = 120
    page.observe_step.start_button.click()
    qtbot.waitUntil(lambda: page._obs is not None and len(page._obs["samples"]) >= 1, timeout=20000)
    with qtbot.waitSignal(page.poller.stopped, timeout=5000):
        page.poller.task.cancel()                                    # Esc on the window's polling task
    assert page._obs is not None                                     # the window goes on
    assert page.observe_step.start_button.isEnabled()
    assert page.observe_step.start_button.text() == "Resume polling"
    assert page.banner.current().action_text == "Resume polling"
    n = len(page._obs["samples"])
    page.observe_step.start_button.click()
    qtbot.waitUntil(lambda: len(page._obs["samples"]) > n, timeout=20000)
    assert "Polling resumed" in page.banner.text
    page.observe_step.reason.setText("test")
    page.observe_step.end_button.click()
    qtbot.waitUntil(lambda: bool(page.state.observation.get("kpis")), timeout=20000)
    _idle(qtbot, win)


def test_validation_errors_do_not_stack_and_leave_with_their_step(make_window, qtbot, db_url):
    """Next pressed again and again on an incomplete checklist: one error at a time, gone once the step
    is left (not eleven to dismiss later)."""
    win, page = _open(make_window, qtbot, db_url)
    _to_checklist(qtbot, win, page)
    for _ in range(5):
        qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
        _idle(qtbot, win)
    errors = [m for m in page.banner.messages() if m.level == "error"]
    assert len(errors) == 1 and errors[0].text.startswith("Item 1 needs an answer")
    for item in cm.CHECKLIST:
        _answer(qtbot, page, item.key, "yes", YES_NOTES.get(item.key))
    _next(qtbot, win, page, 4)
    assert not any(m.text.startswith("Item ") for m in page.banner.messages())


def test_step_one_takes_what_the_scan_knows_and_says_it_in_words(make_window, qtbot, db_url):
    win, page = _open(make_window, qtbot, db_url)
    bus = win.ctx.bus
    known = bus.meter(f"{KAM}.KAM.08.04")
    assert known.model == "MULTICAL 601"                           # the Scan list shows it
    combo = page.identify_step.meter_combo
    combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemData(i).secondary_address == KAM))
    qtbot.mouseClick(page.identify_step.read_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.identify_step.fields["serial"].text() == KAM, timeout=20000)
    _idle(qtbot, win)
    f = page.identify_step.fields
    assert f["model"].text() == known.model                        # taken, not to be typed again
    assert f["medium"].text() == "Heat (volume in return)"         # in words, not "heat_outlet"
    assert "heat_outlet" not in page.identify_step.read_status.text()
    page.identify_step.collect(page.state)
    assert page.state.identify["medium"] == "heat_outlet"          # the code is what is stored
    title = win.windowTitle()
    assert title.startswith("Commission") and title.endswith(" — heatmeter") and title.count("heatmeter") == 1


def test_a_running_window_does_not_offer_start(make_window, qtbot, db_url):
    from PySide6.QtGui import QColor

    from app.ui import theme

    win, page = _to_observation(make_window, qtbot, db_url)
    page.observation_seconds = 60
    page.observe_step.start_button.click()
    qtbot.waitUntil(lambda: page._obs is not None, timeout=20000)
    b = page.observe_step.start_button
    assert not b.isEnabled() and b.text() == "Observation running…"
    image = b.grab().toImage()
    assert image.pixelColor(image.width() // 2, 4) != QColor(theme.ACCENT)   # not drawn as the live blue button
    page.observe_step.reason.setText("test")
    page.observe_step.end_button.click()
    qtbot.waitUntil(lambda: bool(page.state.observation.get("kpis")), timeout=20000)
    _idle(qtbot, win)
