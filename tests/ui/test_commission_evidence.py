"""The Commission wizard to a signed record for a substation offtake (SS2) with photos and a clock
correction, through the real window, the simulated bus and a real register (SQLite and PostgreSQL).

The simulated MULTICAL's clock runs an hour behind (its configuration); the SS1 of the same substation
is in the register already, signed, with a mean return temperature, so the approach temperature
(HNTAS SS-KPI-12) can be checked. Expected values come from the configuration, the files attached and
the standards' thresholds, not from the wizard's own output.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from app.core import commissioning as cm
from drivers.simulator import default_configs

KAM = "71234567"
SITE, BUILDING = "North Works", "Substation 3"
SS1_RETURN_C = 52.0           # the SS1 record's mean return temperature
YES_NOTES = {i.key: ("M24" if i.key == "mid_marking" else "as found on site") for i in cm.CHECKLIST if i.note_on_yes}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path):
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "register.db")
    return request.getfixturevalue("pg_url")


def _idle(qtbot, win, timeout=30000):
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=timeout)


def _next(qtbot, win, page, step):
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.step == step, timeout=30000)
    _idle(qtbot, win)


def _photo(path, colour: str, fmt: str) -> bytes:
    img = QImage(64, 48, QImage.Format.Format_RGB32)
    img.fill(QColor(colour))
    assert img.save(str(path), fmt)
    return path.read_bytes()


def _ss1_signed(url: str) -> int:
    """The substation's intake (SS1): a meter commissioned and signed before, with its observation's mean
    return temperature."""
    from app.storage.register import open_register

    with open_register(url) as reg:
        m = reg.create_meter({"site": SITE, "building": BUILDING, "monitoring_point": "SS1", "manufacturer": "Sontex",
                              "model": "Supercal 5", "serial": "30500001"}, user="ann")
        rec = reg.create_commissioning(m.id, user="ann")
        ended = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        reg.save_commissioning_step(rec["id"], step=6, technician="Ann", commissioned_on=dt.date.today(),
                                    answers={"seals": "yes"},
                                    plausibility={"observation": {"kpis": {"mean_return_c": SS1_RETURN_C},
                                                                  "ended": ended}})
        reg.sign_commissioning(rec["id"], user="ann")
        return rec["id"]


def test_ss2_commissioned_with_photos_and_a_clock_correction(make_window, qtbot, any_db_url, tmp_path, pdf_text):
    from app.storage.register import open_register

    url = any_db_url
    ss1_record = _ss1_signed(url)
    win = make_window(page="commission", db_url=url)
    page = win.current_page()
    _idle(qtbot, win)
    cfgs = default_configs(3)
    cfgs[0].clock_offset_s = -3600                       # the MULTICAL's clock: an hour behind
    bus = win.ctx.bus
    bus.connect_simulator(pace=0.0, configs=cfgs)
    bus.scan_primary(1, 3)
    _idle(qtbot, win)
    qtbot.waitUntil(lambda: page.identify_step.meter_combo.count() >= 3)

    # 1 identify: the MULTICAL, rated as a MULTICAL 403 (a model that counts its reconfigurations)
    combo = page.identify_step.meter_combo
    combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemData(i).secondary_address == KAM))
    qtbot.mouseClick(page.identify_step.read_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.identify_step.fields["serial"].text() == KAM, timeout=30000)
    _idle(qtbot, win)
    f = page.identify_step.fields
    f["model"].setText("MULTICAL 403")
    page.identify_step.mid_class.setCurrentText("2")
    for k, v in (("qp_m3h", "1.5"), ("qi_m3h", "0.015"), ("qs_m3h", "3"), ("dtheta_min_k", "3"),
                 ("dtheta_max_k", "150")):
        f[k].setText(v)
    _next(qtbot, win, page, 2)

    # 2 place: the substation's offtake, with its design flow temperature
    p = page.place_step
    p.site.setCurrentText(SITE)
    p.building.setText(BUILDING)
    p.point.setCurrentText("SS2")
    p.design_flow.setText("72")                        # the simulated meter's mean flow temperature
    _next(qtbot, win, page, 3)
    assert page.state.place["design_flow_c"] == 72.0

    # 3 checklist, with a photo of the straight lengths and one of the installation
    for item in cm.CHECKLIST:
        row = page.checklist_step.rows[item.key]
        qtbot.mouseClick(row.buttons.buttons["yes"], Qt.MouseButton.LeftButton)
        if item.key in YES_NOTES:
            row.note.setText(YES_NOTES[item.key])
    page.save_answers()
    pipe = _photo(tmp_path / "straight-lengths.png", "#0b55b3", "PNG")
    room = _photo(tmp_path / "plant-room.jpg", "#c0241c", "JPG")
    page.add_photo_files("checklist:straight_lengths", [str(tmp_path / "straight-lengths.png")])
    page.add_photo_files("installation", [str(tmp_path / "plant-room.jpg")])
    qtbot.waitUntil(lambda: len(page.checklist_step.gallery.photos) == 2, timeout=30000)
    _idle(qtbot, win)
    assert page.checklist_step.rows["straight_lengths"].photo_button.text() == "Photo… (1)"
    _next(qtbot, win, page, 4)

    # 4 plausibility: the clock is an hour off -> the clock step; a MULTICAL 403 asks first
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 1, timeout=30000)
    _idle(qtbot, win)
    clock = {c["key"]: c for c in page.state.checks}["clock"]
    assert clock["status"] in ("warn", "fail") and abs(clock["values"]["difference_s"] + 3600) <= 90
    panel = page.plausibility_step.clock_panel
    assert panel.isVisible() and panel.set_button.isVisible()
    qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
    msg = page.banner.current()
    assert "MULTICAL 403" in msg.text and "25" in msg.text and msg.action_text == "Write the clock"
    assert bus.sim.meters[0].clock_writes == []          # nothing written before the technician agrees
    qtbot.mouseClick(page.banner.action_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.clock.get("write_id") is not None, timeout=30000)
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 2, timeout=30000)    # read again
    _idle(qtbot, win)
    assert len(bus.sim.meters[0].clock_writes) == 1
    c = page.state.clock
    assert c["ok"] and c["outcome"] == "confirmed"
    assert abs(c["offset_before_s"] + 3600) <= 90 and abs(c["offset_after_s"]) <= 90
    assert "Before" in panel.result.text() and "after" in panel.result.text()
    assert {x["key"]: x for x in page.state.checks}["clock"]["status"] == "pass"

    # fifteen minutes of flow, read again for the energy increment
    assert page.bus.advance_simulated_clock(900)
    qtbot.mouseClick(page.plausibility_step.read_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.state.readouts_with("check")) == 3, timeout=30000)
    _idle(qtbot, win)
    _next(qtbot, win, page, 5)

    # 5 observation window
    page.observation_seconds = 3
    page.observe_step.interval.setValue(1)
    qtbot.mouseClick(page.observe_step.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(page.state.observation.get("kpis")), timeout=30000)
    _idle(qtbot, win)
    k = page.state.observation["kpis"]
    checks = {x["key"]: x for x in page.state.checks}
    assert checks["data_items"]["status"] == "pass"                     # SS2: all seven items, 1 s <= 5 min
    vw = checks["vwaft_setpoint"]
    assert vw["status"] == ("pass" if abs(k["vwaft_c"] - 72.0) <= 3.0 else "fail")    # ±3 °C (SS-KPI-09A)
    ap = checks["approach"]
    assert ap["values"]["approach_k"] == pytest.approx(SS1_RETURN_C - k["mean_return_c"])
    assert ap["status"] == ("warn" if ap["values"]["approach_k"] < 0 else
                            "pass" if ap["values"]["approach_k"] <= 5 else "fail")
    assert f"record {ss1_record}" in ap["message"]
    _next(qtbot, win, page, 6)

    # 6 sign
    win.ctx.settings.set_page_value("commission", "certificate_dir", str(tmp_path / "certs"))
    page.sign_step.technician.setText("Ann Example")
    qtbot.mouseClick(page.sign_step.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.signed, timeout=60000)
    _idle(qtbot, win)

    with open_register(url) as reg:
        rec = reg.get_commissioning(page.state.record_id)
        assert rec["status"] == "signed" and rec["signed_by"] == "Ann Example"
        photos = reg.commissioning_photos(rec["id"], with_data=True)
        assert [(x["step"], x["data"]) for x in photos] == [("checklist:straight_lengths", pipe),
                                                             ("installation", room)]
        assert all(x["hash_ok"] for x in photos)
        sign = [e for e in reg.history(rec["meter_id"]) if e["action"] == "sign"][-1]
        assert [x["sha256"] for x in sign["after"]["photos"]] == [hashlib.sha256(pipe).hexdigest(),
                                                                  hashlib.sha256(room).hexdigest()]
        [w] = reg.meter_writes(rec["meter_id"], kind="clock")
        assert w["commissioning_id"] == rec["id"] and w["ok"] and w["id"] == page.state.clock["write_id"]
        assert sign["after"]["meter_writes"] == [w["id"]]
        sent = [f for d, f in w["frames"] if d == "tx" and f[:1] == b"\x68" and f[6] == 0x51]
        assert len(sent) == 1 and sent[0][7:9] == b"\x04\x6d"          # one EN 13757-3 date-time write
        assert abs(w["before"]["offset_s"] + 3600) <= 90 and abs(w["after"]["offset_s"]) <= 90
        assert rec["plausibility"]["clock"]["write_id"] == w["id"]

    text = pdf_text(page.certificate_path)
    assert "Meter clock set during commissioning" in text and "confirmed by a read-back" in text
    assert "Photos" in text and hashlib.sha256(pipe).hexdigest() in text
    assert "Checklist: straight lengths" in text and "plant-room.jpg" in text
    assert "SS-KPI-09A" in text and "SS-KPI-12" in text and "Data items of the monitoring point" in text
