"""Reports of the register: the HNTAS evidence pack (E28, E27), the data-protection export, the meter page
with its evidence and data-protection actions. PDFs are checked through their text."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from app.core import calcjson
from app.storage import reports
from app.storage.demo import DEMO_EVIDENCE_SITE, build_demo_register

from tests.helpers.files import csv_dicts, csv_rows

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
SITE = DEMO_EVIDENCE_SITE


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    """A small demo register (400 meters) with its evidence records, and one decided sampling lot."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    reg = build_demo_register(url, meters=400)  # a short pack: PDF text extraction costs ~0.3 s a page
    meters = reg.list_meters(site=SITE)
    reg.set_restrict_processing(meters[30].id, True, user="t", reason="occupant objected")
    members = [m.id for m in meters[10:22]]
    lot = reg.create_lot(key={"manufacturer": meters[10].manufacturer}, member_ids=members,
                         plan={"sample_size": 3, "acceptance_number": 0, "rejection_number": 1}, seed=7, user="t",
                         purpose="sampling_9y", name="demo lot")
    reg.record_draw(lot, [(members[0], False), (members[1], False), (members[2], False)], user="t")
    for mid, err in zip(members[:3], (0.8, -1.2, 2.1)):
        reg.record_lot_result(lot, mid, error_pct=err, limit_pct=6.0, defective=False,
                              tested_on=dt.date(2025, 5, 2), user="t")
    reg.record_lot_verdict(lot, decided_on=dt.date(2025, 6, 1), verdict="pass", sample_tested=3, defectives=0,
                           user="t")
    reg.close()
    return url, lot, members


def _page(make_window, qtbot, url):
    win = make_window(page="register", db_url=url)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.index is not None and page.due_map is not None, timeout=WAIT_MS)
    page.open_file = lambda path: None
    return win, page


def test_evidence_pack_pdf_and_csv(make_window, qtbot, demo_url, tmp_path, pdf_text):
    from app.storage.register import open_register
    from app.ui.reports.dialogs import EvidenceDialog

    url, lot, members = demo_url
    win, page = _page(make_window, qtbot, url)
    reg = open_register(url)
    dlg = EvidenceDialog(page, site=SITE)
    dlg.pdf_path.setText(str(tmp_path / "pack.pdf"))
    dlg.csv_path.setText(str(tmp_path / "pack-e28.csv"))
    task = dlg.start()
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    text = pdf_text(tmp_path / "pack.pdf")
    meters = reg.list_meters(site=SITE)
    assert f"HNTAS evidence pack — {SITE}" in text
    # E28: every meter with make, type, serial, year of install
    for m in meters[:40] + meters[-5:]:
        assert m.serial in text
    m1 = meters[1]
    cal = reg.calibration_results(m1.id)[-1]
    assert f"{m1.serial} {m1.install_date.year}" in text
    assert f"recalibrated {cal['tested_on'].isoformat()}" in text and cal["certificate"] in text
    # sampling evidence: the lot, its verdict and date
    assert f"lot {lot} pass 2025-06-01" in text
    rows = csv_dicts(tmp_path / "pack-e28.csv")
    assert len(rows) == len(meters)
    by_serial = {r["serial"]: r for r in rows}
    member = reg.get_meter(members[0])
    assert by_serial[member.serial]["lot_verdict"] == "pass" and by_serial[member.serial]["lot_id"] == str(lot)
    assert by_serial[member.serial]["sampled"].startswith("tested 2025-05-02: +0.80 % good")
    assert by_serial[m1.serial]["recalibrated_on"] == cal["tested_on"].isoformat()
    # the hashes an assessor can check the register against later (db verify): each cited record's, the chain's
    assert by_serial[m1.serial]["evidence_hash"] == cal["content_hash"]
    assert cal["content_hash"] in "".join(text.split())  # printed whole (the PDF text wraps it)
    assert by_serial[member.serial]["evidence_hash"] == reg.get_lot(lot)["verdicts"][0]["content_hash"]
    assert "event chain ended at event" in text
    # restricted meters are left out and said so
    restricted = [m for m in reg.list_meters(site=SITE, include_restricted=True) if m.restrict_processing]
    assert restricted and all(m.serial not in by_serial for m in restricted)
    assert f"{len(restricted)} meter(s) under restricted processing" in text
    # E27: each meter with a design load, the core's sizing of it; the others are counted, not sized
    e27 = csv_dicts(tmp_path / "pack-e27.csv")
    sized = [r for r in e27 if r["status"] == "sized"]
    designed = [m for m in meters if "design_power_kw" in (m.extra or {})]
    assert len(sized) == len(designed) >= 4
    for m in designed:
        x = m.extra
        expect = calcjson.run("sizing", {"application": "heating", "design_power_kw": float(x["design_power_kw"]),
                                         "min_power_kw": float(x["min_power_kw"]), "flow_temp_c": float(x["flow_temp_c"]),
                                         "return_temp_c": float(x["return_temp_c"]),
                                         "meter_position": m.flow_sensor_position})
        assert f"{m.manufacturer} {m.serial}" in text
        assert f"{expect['q_max_m3h']:.3f} / {expect['q_min_m3h']:.4f}" in text
        c = expect["chosen"]
        assert f"qp {c['qp_m3h']:g} m3/h, qp/qi {c['ratio']:g}, DN {c['dn']}" in text
        row = next(r for r in sized if r["serial"] == m.serial)
        assert float(row["q_max_m3h"]) == pytest.approx(expect["q_max_m3h"])
    n_no = len(meters) - len(designed)
    assert f"{n_no} meter(s) have no design load stored" in text
    assert sum(1 for r in e27 if r["status"] == "no_design_load") == n_no
    reg.close()


def test_evidence_pack_from_the_command_line(demo_url, tmp_path, pdf_text):
    url, lot, members = demo_url
    pdf, e28 = tmp_path / "cli.pdf", tmp_path / "cli.csv"
    p = subprocess.run([sys.executable, "-m", "app.cli.main", "report", "evidence", "--db", url, "--site", SITE,
                        "--pdf", str(pdf), "--csv", str(e28), "--json"], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["counts"]["lots_passed"] == len(members) and out["restricted_left_out"] >= 1
    assert f"lot {lot} pass 2025-06-01" in pdf_text(pdf)
    p = subprocess.run([sys.executable, "-m", "app.cli.main", "report", "evidence", "--db", url, "--site", "Nowhere",
                        "--pdf", str(tmp_path / "x.pdf")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr == "heatmeter: no site 'Nowhere' in the register\n"


def test_personal_data_export_by_ids_and_dates_with_chosen_fields(make_window, qtbot, demo_url, tmp_path, pdf_text):
    from app.storage.register import open_register
    from app.ui.reports.dialogs import PersonalExportDialog

    url, _lot, _m = demo_url
    win, page = _page(make_window, qtbot, url)
    reg = open_register(url)
    meters = reg.list_meters(site=SITE)
    with_readouts, with_person = meters[0], next(m for m in meters if m.occupant_name)
    reads = reg.readouts(with_readouts.id)
    assert len(reads) == 2
    dlg = PersonalExportDialog(page, meter_ids=[with_readouts.id, with_person.id])
    dlg.set_fields(["serial", "occupant_name", "flat", "read_at", "quantity", "value", "unit"])
    second = reads[1]["read_at"].date()
    dlg.use_from.setChecked(True)
    dlg.date_from.setDate(second)
    dlg.csv_path.setText(str(tmp_path / "pd.csv"))
    dlg.pdf_path.setText(str(tmp_path / "pd.pdf"))
    task = dlg.start()
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    rows = csv_rows(tmp_path / "pd.csv")
    assert rows[0] == ["serial", "occupant_name", "flat", "read_at", "quantity", "value", "unit"]
    n_records = len(reads[1]["decoded"][0]["records"])
    mine = [r for r in rows[1:] if r[0] == with_readouts.serial]
    assert len(mine) == n_records and {r[3][:10] for r in mine} == {second.isoformat()}  # only the later readout
    person = [r for r in rows[1:] if r[0] == with_person.serial]
    assert person == [[with_person.serial, with_person.occupant_name, with_person.flat, "", "", "", ""]]
    text = pdf_text(tmp_path / "pd.pdf")
    assert with_person.occupant_name in text and with_readouts.serial in text
    assert "site" not in rows[0] and "customer_reference" not in rows[0]
    assert f"{len(rows) - 1} row(s), 2 meter(s)" in text
    reg.close()


def test_meter_page_evidence_and_data_protection(make_window, qtbot, demo_url, tmp_path, pdf_text):
    from app.storage.register import open_register

    url, lot, members = demo_url
    win, page = _page(make_window, qtbot, url)
    reg = open_register(url)
    meters = reg.list_meters(site=SITE, include_restricted=True)
    m = meters[1]   # commissioned, calibrated, design data
    page.open_meter(m.id)
    view = page.meter_view
    qtbot.waitUntil(lambda: view.dossier is not None and view.dossier["meter"].id == m.id, timeout=WAIT_MS)
    assert page.stack.currentWidget() is view and m.serial in view.title.text()
    # commissioning evidence: the stored telegram in hex and its decoded records
    com = reg.list_commissioning(meter_id=m.id)[0]
    ro = [r for r in reg.readouts(m.id) if r["commissioning_id"] == com["id"]][0]
    first16 = " ".join(f"{b:02X}" for b in ro["frames"][0][:16])
    assert first16 in view.frames_text.toPlainText()
    assert view.records_table.rowCount() == len(ro["decoded"][0]["records"])
    assert view.records_table.item(0, 0).text() == ro["decoded"][0]["records"][0]["quantity"]
    assert view.com_checklist.rowCount() == len(com["checklist"])
    assert view.cal_table.rowCount() == len(reg.calibration_results(m.id))
    assert view.log_table.rowCount() == len(reg.history(m.id))
    # the commissioning record re-rendered as PDF
    view.render_certificate()
    qtbot.waitUntil(lambda: getattr(view, "last_certificate", None) is not None, timeout=WAIT_MS)
    text = pdf_text(view.last_certificate)
    assert f"Commissioning record #{com['id']}" in text and m.serial in text and first16 in text
    # a lot member shows its lot and verdict
    page.open_meter(members[0])
    qtbot.waitUntil(lambda: view.dossier is not None and view.dossier["meter"].id == members[0], timeout=WAIT_MS)
    assert view.lots_table.rowCount() == 1 and view.lots_table.item(0, 7).text() == "pass"

    # erase is refused clearly while a legal hold is set, then done after the hold is cleared (with confirmation)
    held = next(x for x in meters if x.legal_hold)
    asked = []
    page.ask = lambda title, text, ok="OK": asked.append(text) or True
    page.open_meter(held.id)
    qtbot.waitUntil(lambda: view.dossier is not None and view.dossier["meter"].id == held.id, timeout=WAIT_MS)
    assert "LEGAL HOLD" in view.flags_label.text()
    # the page showed the occupant: the access is logged, and listed in its own tab (MMS 2.2.7.2)
    assert reg.access_history(held.id)[0]["after"]["what"] == "meter page"
    log = view.access_panel.table
    assert log.rowCount() >= 1 and [log.item(0, j).text() for j in (2, 3)] == ["read", "meter page"]
    assert view.tabs.tabText(view.tabs.indexOf(view.access_panel)) == f"Access log ({log.rowCount()})"
    view.ask_erase()
    assert page.banner.level == "error" and "under legal hold" in page.banner.text and not asked
    assert reg.get_meter(held.id).occupant_name == held.occupant_name
    view.ask_hold()                               # clears it, after asking
    qtbot.waitUntil(lambda: not reg.get_meter(held.id).legal_hold, timeout=WAIT_MS)
    assert "Clear the legal hold" in asked[-1]
    qtbot.waitUntil(lambda: view.dossier["meter"].legal_hold is False, timeout=WAIT_MS)
    page.ask = lambda title, text, ok="OK": False  # the user says no: nothing happens
    view.ask_erase()
    assert reg.get_meter(held.id).occupant_name == held.occupant_name
    page.ask = lambda title, text, ok="OK": True
    view.ask_erase()
    qtbot.waitUntil(lambda: reg.get_meter(held.id).occupant_name is None, timeout=WAIT_MS)
    assert all(held.occupant_name not in json.dumps(e) for e in reg.history(held.id))

    # restrict processing: the meter leaves the table
    other = meters[2]
    page.open_meter(other.id)
    qtbot.waitUntil(lambda: view.dossier is not None and view.dossier["meter"].id == other.id, timeout=WAIT_MS)
    view.ask_restrict()
    qtbot.waitUntil(lambda: reg.get_meter(other.id).restrict_processing, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: other.id not in page.model.ids(), timeout=WAIT_MS)
    reg.close()
