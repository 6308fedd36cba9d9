"""Evidence (readouts), commissioning drafts, calibration results, lots, data protection."""
from __future__ import annotations

import datetime as dt

import pytest

from app.storage.errors import LegalHoldError, SignedRecordError, ValidationError

from tests.helpers.files import csv_rows
from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import recorded


@pytest.fixture
def kam(reg):
    return reg.create_meter({"site": "North", "building": "Block A", "monitoring_point": "CC1",
                             "location": "Flat 12", "manufacturer": "Kamstrup", "model": "Multical 601",
                             "serial": "6855817", "secondary_address": "06855817", "install_date": "2019-03-04",
                             "occupant_name": "A. Tenant", "flat": "12", "customer_reference": "C-991"}, user="ann")


def test_readout_is_stored_byte_for_byte_against_the_matching_meter(reg, kam, corpus_frame):
    raw, telegram = corpus_frame
    assert telegram["manufacturer"] == "KAM" and telegram["identification"] == "06855817"
    second = bytes([0xE5])  # any second frame: order and bytes must survive
    res = reg.save_readout([raw, second], [telegram], user="tech", transport="serial", port="/dev/ttyUSB0",
                           baud=2400, primary_address=telegram["address"])
    assert res.saved and res.meter.id == kam.id and res.matched_by == "manufacturer+secondary_address"
    [ro] = reg.readouts(kam.id)
    assert ro["frames"] == [raw, second] and ro["decoded"] == [telegram]
    assert (ro["read_by"], ro["port"], ro["baud"]) == (recorded(reg, "tech"), "/dev/ttyUSB0", 2400)
    assert reg.history(kam.id)[-1]["entity"] == "readouts"


def test_unknown_meter_gets_a_proposal_then_is_created_and_saved(reg, corpus_frame):
    raw, telegram = corpus_frame
    res = reg.save_readout([raw], [telegram])
    assert res.status == "no_match" and res.readout_id is None
    assert res.proposal["mbus_manufacturer"] == "KAM" and res.proposal["secondary_address"] == "06855817"
    assert reg.count_meters(include_restricted=True) == 0  # nothing stored
    m = reg.create_meter({"site": "South", "manufacturer": "Kamstrup", "model": "Multical 601",
                          "serial": res.proposal["serial"], "secondary_address": res.proposal["secondary_address"]})
    again = reg.save_readout([raw], [telegram])
    assert again.saved and again.meter.id == m.id


def test_commissioning_draft_resumes_and_signing_freezes_it(reg, kam, corpus_frame):
    rec = reg.create_commissioning(kam.id, user="tech")
    assert rec["status"] == "draft" and rec["current_step"] == 0
    reg.save_commissioning_step(rec["id"], step=1, answers={"sensors_in_marked_pipes": "yes"}, user="tech")
    reg.save_commissioning_step(rec["id"], step=2, answers={"seals_fitted": {"answer": "no", "note": "seal missing"}},
                                notes="revisit", user="tech")
    # after a crash the wizard finds the draft and its answers
    [draft] = reg.list_commissioning(status="draft", created_by=recorded(reg, "tech"))
    assert draft["id"] == rec["id"] and draft["current_step"] == 2
    assert draft["checklist"] == {"sensors_in_marked_pipes": {"answer": "yes", "note": None},
                                  "seals_fitted": {"answer": "no", "note": "seal missing"}}
    with pytest.raises(ValidationError):
        reg.save_commissioning_step(rec["id"], step=3, answers={"x": "maybe"})
    raw, telegram = corpus_frame
    res = reg.save_readout([raw], [telegram], commissioning_id=rec["id"])
    with pytest.raises(ValidationError):  # no date yet
        reg.sign_commissioning(rec["id"], user="tech")
    reg.save_commissioning_step(rec["id"], step=3, commissioned_on=dt.date(2024, 5, 6), user="tech")
    signed = reg.sign_commissioning(rec["id"], user="tech")
    assert signed["status"] == "signed" and signed["signed_by"] == recorded(reg, "tech")
    assert signed["readout_ids"] == [res.readout_id]
    with pytest.raises(SignedRecordError):
        reg.save_commissioning_step(rec["id"], step=4, notes="late edit")


def test_calibration_result_keeps_points_and_verdicts(reg, kam):
    points = [{"error_pct": 1.2, "q_m3h": 0.016, "interval": "I1"}, {"error_pct": -0.4, "q_m3h": 1.4, "interval": "I3"}]
    result = {"points": [{"mpe_initial_pct": 4.0, "mpe_in_service_pct": 8.0, "acceptance_initial_pct": 4.0,
                          "acceptance_in_service_pct": 8.0, "pass_initial": True, "pass_in_service": True,
                          "in_interval": True},
                         {"mpe_initial_pct": 2.02, "mpe_in_service_pct": 4.04, "acceptance_initial_pct": 2.02,
                          "acceptance_in_service_pct": 4.04, "pass_initial": True, "pass_in_service": True,
                          "in_interval": False}],
              "initial_verdict": "pass", "in_service_verdict": "pass", "coverage": "incomplete",
              "missing_intervals": ["I2"]}
    reg.add_calibration_result(kam.id, tested_on=dt.date(2028, 3, 1), subassembly="flow_sensor", points=points,
                               result=result, lab="Lab 7", user="ann")
    [c] = reg.calibration_results(kam.id)
    assert (c["lab"], c["coverage"], c["missing_intervals"]) == ("Lab 7", "incomplete", ["I2"])
    assert [p["error_pct"] for p in c["points"]] == [1.2, -0.4]
    assert c["points"][1]["in_interval"] is False and c["points"][0]["interval"] == "I1"
    with pytest.raises(ValidationError):
        reg.add_calibration_result(kam.id, tested_on=dt.date(2028, 3, 1), subassembly="pump", points=points)


def test_lot_records_members_draw_results_and_verdict(reg, tmp_path):
    reg.import_file(write_csv(tmp_path / "m.csv", make_rows(20)))
    ids = [m.id for m in reg.list_meters()]
    plan = {"lot_size": 20, "level": "II", "aql": 4.0, "inspection": "normal", "code_letter": "C",
            "plan_letter": "C", "sample_size": 5, "acceptance_number": 0, "rejection_number": 1}
    lot = reg.create_lot(key={"manufacturer": "Kamstrup", "year": 2015}, member_ids=ids, plan=plan, seed=1234)
    reg.record_draw(lot, [(ids[3], False), (ids[7], False), (ids[11], True)])
    reg.set_draw_status(lot, ids[7], "inaccessible")
    reg.record_lot_result(lot, ids[3], error_pct=1.1, limit_pct=8.0, defective=False, tested_on=dt.date(2024, 1, 2))
    reg.record_lot_verdict(lot, decided_on=dt.date(2024, 2, 1), verdict="pass", sample_tested=5, defectives=0,
                           acceptance_number=0, rejection_number=1, retain_until=dt.date(2029, 7, 1))
    got = reg.get_lot(lot)
    assert got["seed"] == "1234" and got["sample_size"] == 5 and got["lot_size"] == 20
    assert [m["meter_id"] for m in got["members"]] == ids
    assert [(d["meter_id"], d["spare"], d["status"]) for d in got["draws"]] == [
        (ids[3], False, "drawn"), (ids[7], False, "inaccessible"), (ids[11], True, "drawn")]
    assert got["verdicts"][0]["verdict"] == "pass" and got["status"] == "verdict_pass"
    with pytest.raises(ValidationError):
        reg.record_draw(lot, [(10**6, False)])


def test_erase_personal_data_also_from_the_event_log(reg, kam):
    assert kam.occupant_name == "A. Tenant"
    assert "A. Tenant" in str(reg.history(kam.id))
    report = reg.erase_personal_data(kam.id, user="dpo", reason="request 17")
    assert report.erased == [kam.id]
    m = reg.get_meter(kam.id)
    assert (m.occupant_name, m.flat, m.customer_reference) == (None, None, None) and m.personal_erased_at
    hist = reg.history(kam.id)
    assert "A. Tenant" not in str(hist) and "C-991" not in str(hist)
    assert hist[-1]["action"] == "erase_personal" and hist[-1]["user"] == recorded(reg, "dpo")


def test_legal_hold_prevents_erasure(reg, kam):
    reg.set_legal_hold(kam.id, user="dpo", reason="dispute")
    with pytest.raises(LegalHoldError):
        reg.erase_personal_data(kam.id)
    assert reg.get_meter(kam.id).occupant_name == "A. Tenant"
    batch = reg.erase_personal_data([kam.id])
    assert batch.held == [kam.id] and batch.erased == []
    reg.set_legal_hold(kam.id, False, user="dpo")
    assert reg.erase_personal_data(kam.id).erased == [kam.id]


def test_restricted_meters_are_left_out_of_exports_lists_and_planning(reg, kam, tmp_path):
    other = reg.create_meter({"site": "North", "manufacturer": "Sontex", "model": "531", "serial": "1",
                              "install_date": "2020"})
    reg.set_restrict_processing(kam.id, user="dpo")
    assert [m.id for m in reg.list_meters()] == [other.id]
    assert {m.id for m in reg.list_meters(include_restricted=True)} == {kam.id, other.id}
    assert [p["id"] for p in reg.planning_meters()] == [other.id]
    _, rows = reg.export_rows()
    assert [r[6] for r in rows] == ["1"]
    res = reg.export_personal_data(tmp_path / "d.csv", site="North")
    assert res["restricted_left_out"] == [kam.id] and res["meters"] == 1
    reg.set_restrict_processing(kam.id, False, user="dpo")
    assert reg.count_meters() == 2


def test_export_personal_data_by_meter_date_range_and_fields(reg, kam, corpus_frame, tmp_path):
    raw, telegram = corpus_frame
    reg.save_readout([raw], [telegram], read_at=dt.datetime(2024, 1, 10, 8, 0))
    reg.save_readout([raw], [telegram], read_at=dt.datetime(2024, 3, 10, 8, 0))
    out = tmp_path / "subject.csv"
    res = reg.export_personal_data(out, meter_ids=[kam.id], date_from=dt.date(2024, 3, 1), date_to=dt.date(2024, 3, 31),
                                   fields=["serial", "occupant_name", "read_at", "quantity", "value", "unit"])
    rows = csv_rows(out, encoding="utf-8")
    assert rows[0] == ["serial", "occupant_name", "read_at", "quantity", "value", "unit"]
    assert len(rows) - 1 == len(telegram["records"]) == res["rows"]  # only the March readout
    assert {r[2] for r in rows[1:]} == {"2024-03-10T08:00:00"}
    assert rows[1][:2] == ["6855817", "A. Tenant"]
    energy = next(r for r in rows[1:] if r[3] == "energy")
    assert float(energy[4]) == next(x["value"] for x in telegram["records"] if x["quantity"] == "energy")
    with pytest.raises(ValidationError):
        reg.export_personal_data(out, meter_ids=[kam.id], fields=["password"])


def test_replacing_a_meter_closes_its_installation_and_opens_the_new_ones(reg, kam):
    new = reg.replace_meter(kam.id, {"manufacturer": "Kamstrup", "model": "Multical 603", "serial": "7000001"},
                            on=dt.date(2025, 1, 15), user="tech")
    assert (new.site, new.building, new.monitoring_point, new.location) == ("North", "Block A", "CC1", "Flat 12")
    old = reg.get_meter(kam.id)
    assert old.status == "removed"
    [inst] = reg.installations(kam.id)
    assert inst["removed_on"] == "2025-01-15" and inst["replaced_by_meter_id"] == new.id
    at_point = reg.meters_at("North", "CC1")
    assert [(x["meter_id"], x["installed_on"], x["removed_on"]) for x in at_point] == [
        (kam.id, "2019-03-04", "2025-01-15"), (new.id, "2025-01-15", None)]
