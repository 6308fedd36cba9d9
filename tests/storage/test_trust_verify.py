"""``Register.verify_integrity`` / ``heatmeter db verify``: every kind of alteration made with plain SQL is found
and named (table, id, what); a legitimate erase of personal data still verifies (MMS 2.2.3, 2.2.6, 2.3.8.1)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import text

from app.cli.main import main
from app.storage import integrity
from app.storage.register import LotResult, NewCalibration

from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import recorded, stored_text, tamper


@pytest.fixture
def evidence(reg, corpus_frame, tmp_path):
    """A register holding one of each kind of evidence, and meters with personal data."""
    raw, telegram = corpus_frame
    rows = make_rows(6)
    for i, r in enumerate(rows):
        r.update(occupant_name=f"Tenant {i}", flat=str(i), notes=f"call {i}")
    cols = list(rows[0])
    reg.import_file(write_csv(tmp_path / "m.csv", rows, columns=cols), user="ann")
    ids = [m.id for m in reg.list_meters()]
    kam = reg.create_meter({"site": "North", "manufacturer": "Kamstrup", "model": "Multical 601", "serial": "6855817",
                            "secondary_address": "06855817", "install_date": "2019-03-04",
                            "occupant_name": "A. Tenant"}, user="ann")
    reg.set_legal_hold(ids[0], user="dpo")
    ro = reg.save_readout([raw], [telegram], meter_id=kam.id, user="tech", read_at=dt.datetime(2024, 3, 1, 8))
    com = reg.create_commissioning(kam.id, user="tech", technician="T. Tech", commissioned_on=dt.date(2024, 3, 1))
    reg.save_commissioning_step(com["id"], step=2, answers={"seals": "yes", "sensor_pockets": "yes"}, user="tech")
    signed = reg.sign_commissioning(com["id"], user="tech")
    cal = reg.add_calibration_result(kam.id, tested_on=dt.date(2024, 2, 1), subassembly="complete_meter",
                                     points=[{"error_pct": 0.5, "q_m3h": 1.5}, {"error_pct": -1.0, "q_m3h": 0.06}],
                                     result={"initial_verdict": "pass"}, lab="Lab 7", user="ann")
    lot = reg.create_lot(key={"make": "mixed"}, member_ids=ids, plan={"sample_size": 2}, purpose="sampling_9y",
                         user="planner")
    reg.record_draw(lot, [(ids[1], False), (ids[2], False), (ids[3], True)], seed=11, algorithm="t", user="planner")
    [res] = reg.record_lot_results(lot, [LotResult(meter_id=ids[1], error_pct=1.0, limit_pct=6.0, defective=False,
                                                   calibration=NewCalibration(tested_on=dt.date(2024, 4, 1),
                                                                              subassembly="complete_meter",
                                                                              points=[{"error_pct": 1.0}]))],
                                   user="planner")
    vid = reg.record_lot_verdict(lot, decided_on=dt.date(2024, 5, 1), verdict="pass", user="planner")
    return {"ids": ids, "kam": kam.id, "readout": ro.readout_id, "commissioning": signed["id"], "calibration": cal,
            "lot": lot, "result": res["result_id"], "lot_calibration": res["calibration_result_id"], "verdict": vid}


def counts(reg) -> tuple[int, int]:
    """(events, evidence items) counted with plain SQL, independently of the verifier."""
    with reg.engine.connect() as c:
        events = c.execute(text("SELECT count(*) FROM events")).scalar()
        items = sum(c.execute(text(q)).scalar() for q in (
            "SELECT count(*) FROM readouts", "SELECT count(*) FROM commissioning_records WHERE status = 'signed'",
            "SELECT count(*) FROM calibration_results", "SELECT count(*) FROM lots",
            "SELECT count(DISTINCT lot_id) FROM lot_draws", "SELECT count(*) FROM lot_results",
            "SELECT count(*) FROM lot_verdicts"))
    return events, items


def problems(reg) -> list[tuple[str, str, str]]:
    return [(p.table, str(p.id), p.what) for p in reg.verify_integrity().problems]


def test_an_untouched_register_verifies(reg, evidence):
    rep = reg.verify_integrity()
    assert rep.ok and (rep.events, rep.evidence) == counts(reg)
    assert rep.evidence == 8  # readout, signed record, 2 calibrations, lot, its draw, its result, its verdict
    with reg.engine.connect() as c:
        last_id, last_hash = c.execute(text("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")).one()
    assert (rep.head_id, rep.head_hash) == (last_id, bytes(last_hash).hex())


def test_the_chain_is_sha256_over_the_stored_rows(reg, evidence):
    """Recompute the first links by hand from the stored rows (the format documented in docs/security.md)."""
    at_sql = "at" if reg.is_sqlite else f"to_char(at, '{integrity.PG_AT_FORMAT}')"
    j = "" if reg.is_sqlite else "::text"
    with reg.engine.connect() as c:
        rows = c.execute(text(f'SELECT id, {at_sql}, "user", entity, entity_id, meter_id, action, before{j}, '
                              f"after{j}, source, detail_digest, hash FROM events ORDER BY id LIMIT 5")).all()
    def field(v):  # text as LENGTH:TEXT, numbers in decimal, absent as "-" (docs/security.md)
        return "-" if v is None else f"{len(v)}:{v}" if isinstance(v, str) else str(v)

    prev = bytes(32)
    for r in rows:
        i, at, *rest, detail, stored = r
        text_ = "\x1f".join([str(i), at] + [field(v) for v in rest] + [detail or "-"])
        prev = hashlib.sha256(prev + text_.encode("utf-8")).digest()
        assert prev == bytes(stored)


def test_a_changed_decoded_value_is_found(reg, evidence):
    rid = evidence["readout"]
    with reg.engine.connect() as c:
        decoded = json.loads(c.execute(text(f"SELECT decoded{'' if reg.is_sqlite else '::text'} FROM readouts "
                                            "WHERE id = :i"), {"i": rid}).scalar())
    energy = next(r for r in decoded[0]["records"] if r["quantity"] == "energy")
    energy["value"] = energy["value"] * 2  # a forged energy reading
    tamper(reg, "UPDATE readouts SET decoded = :d WHERE id = :i", d=json.dumps(decoded), i=rid)
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("readouts", str(rid)) and "content altered" in what


def test_a_changed_raw_byte_is_found(reg, evidence):
    rid = evidence["readout"]
    with reg.engine.connect() as c:
        raw = bytearray(c.execute(text("SELECT raw FROM readout_frames WHERE readout_id = :i AND seq = 0"),
                                  {"i": rid}).scalar())
    raw[20] ^= 0x01
    tamper(reg, "UPDATE readout_frames SET raw = :r WHERE readout_id = :i AND seq = 0", r=bytes(raw), i=rid)
    assert problems(reg) == [("readouts", str(rid), problems(reg)[0][2])]
    assert "content altered" in problems(reg)[0][2]


def test_an_edited_signed_record_is_found(reg, evidence):
    cid = evidence["commissioning"]
    tamper(reg, "UPDATE commissioning_records SET checklist = :c, signed_by = 'mallory' WHERE id = :i",
           c=json.dumps({"seals": {"answer": "yes", "note": None}}), i=cid)
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("commissioning_records", str(cid)) and "altered" in what


def test_an_edited_record_and_its_stored_hash_are_found_by_the_chain(reg, evidence):
    cid = evidence["commissioning"]
    tamper(reg, "UPDATE commissioning_records SET technician = 'Someone Else' WHERE id = :i", i=cid)
    with reg.engine.connect() as c:  # the forger also stores the new hash of the record
        from app.storage.evidence import item_hashes
        from app.storage.register.tables import EVIDENCE_TABLES

        [(_, new, _old)] = item_hashes(c, EVIDENCE_TABLES, "commissioning_records", [cid])
    tamper(reg, "UPDATE commissioning_records SET content_hash = :h WHERE id = :i", h=new, i=cid)
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("commissioning_records", str(cid)) and "recorded another" in what


@pytest.mark.parametrize("kind, sql", [
    ("calibration_results", "UPDATE calibration_points SET error_pct = 0.1 WHERE result_id = :i AND seq = 1"),
    ("lot_results", "UPDATE lot_results SET defective = :t WHERE id = :i"),
    ("lot_verdicts", "UPDATE lot_verdicts SET verdict = 'fail' WHERE id = :i"),
    ("lot_draws", "UPDATE lot_draws SET meter_id = meter_id + 1 WHERE lot_id = :i AND draw_order = 0"),
])
def test_changed_lots_and_calibrations_are_found(reg, evidence, kind, sql):
    item = {"calibration_results": evidence["calibration"], "lot_results": evidence["result"],
            "lot_verdicts": evidence["verdict"], "lot_draws": evidence["lot"]}[kind]
    tamper(reg, sql, i=item, t=True)
    [(table, found, what)] = problems(reg)
    assert (table, found) == (kind, str(item)) and "altered" in what


def test_a_changed_event_is_found(reg, evidence):
    with reg.engine.connect() as c:
        eid = c.execute(text("SELECT id FROM events WHERE action = 'legal_hold'")).scalar()
    tamper(reg, "UPDATE events SET \"user\" = 'somebody' WHERE id = :i", i=eid)
    assert problems(reg) == [("events", str(eid), "altered (its content does not match its hash)")]


def test_a_deleted_event_is_found(reg, evidence):
    with reg.engine.connect() as c:
        eid = c.execute(text("SELECT id FROM events WHERE action = 'legal_hold'")).scalar()
    tamper(reg, "DELETE FROM events WHERE id = :i", i=eid)
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("events", str(eid)) and what.startswith("removed")


def test_an_inserted_event_is_found(reg, evidence):
    """A forger appends an event with a correct-looking hash (the algorithm is public) but cannot move the
    chain's end without it being checked: the event is named as inserted."""
    with reg.engine.connect() as c:
        last_id, last_hash = c.execute(text("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")).one()
    now = dt.datetime(2024, 6, 1, 12, 0, 0)
    at = integrity.at_text(now)
    after = json.dumps({"legal_hold": False})
    who = recorded(reg, "dpo")  # on PostgreSQL a trigger writes the role that connected, whatever is sent
    h = integrity.event_hash(bytes(last_hash), last_id + 1, at, who, "meters", evidence["ids"][0],
                             evidence["ids"][0], "clear_legal_hold", None, after, None, None)
    cast = "" if reg.is_sqlite else "CAST(:a AS json)"
    tamper(reg, 'INSERT INTO events (id, at, "user", entity, entity_id, meter_id, action, after, hash) VALUES '
                f"(:i, :at, 'dpo', 'meters', :m, :m, 'clear_legal_hold', {cast or ':a'}, :h)",
           i=last_id + 1, at=at if reg.is_sqlite else now, m=evidence["ids"][0], a=after, h=h)
    assert problems(reg) == [("events", str(last_id + 1), "inserted after the end of the chain")]


def test_inserted_and_deleted_evidence_are_found(reg, evidence):
    kam = evidence["kam"]
    tamper(reg, "INSERT INTO readouts (id, meter_id, read_at, read_by) VALUES (9999, :m, :t, 'x')", m=kam,
           t=dt.datetime(2024, 1, 1))
    tamper(reg, "DELETE FROM lot_verdicts WHERE id = :i", i=evidence["verdict"])
    found = {(t, i): w for t, i, w in problems(reg)}
    assert found.keys() == {("readouts", "9999"), ("lot_verdicts", str(evidence["verdict"]))}
    assert found[("readouts", "9999")].startswith("inserted")
    assert found[("lot_verdicts", str(evidence["verdict"]))].startswith("removed")


def test_a_changed_personal_value_and_one_removed_without_an_erase_are_found(reg, evidence):
    with reg.engine.connect() as c:
        pid, payload = c.execute(text("SELECT id, payload FROM personal_values WHERE key = 'occupant_name' "
                                      "ORDER BY id LIMIT 1")).one()
    entries = integrity.decode_entries(payload)
    entries[0] = entries[0].replace("Tenant 0", "Tenant X")
    entries[1] = None
    tamper(reg, "UPDATE personal_values SET payload = :p WHERE id = :i", p=integrity.encode_entries(entries), i=pid)
    found = problems(reg)
    assert [t for t, _i, _w in found] == ["personal_values", "personal_values"]
    assert any("differs from its commitment" in w for _t, _i, w in found)
    assert any("without an erase" in w for _t, _i, w in found)


def test_a_legitimate_erase_still_verifies_and_leaves_no_value(reg, evidence):
    ids = evidence["ids"]
    names = {i: (m.occupant_name, m.notes) for i in ids for m in [reg.get_meter(i)]}
    report = reg.erase_personal_data(ids[1:] + [evidence["kam"]], user="dpo", reason="request")
    assert sorted(report.erased) == sorted(ids[1:] + [evidence["kam"]]) and report.held == []
    rep = reg.verify_integrity()
    assert rep.ok, [p.line() for p in rep.problems]
    stored = stored_text(reg)
    for i in ids[1:]:
        assert names[i][0] not in stored and names[i][1] not in stored
    assert "A. Tenant" not in stored
    assert names[ids[0]][0] in stored  # under legal hold: kept


def test_db_verify_command_prints_the_contract_lines(reg, evidence, capsys):
    url = reg.engine.url.render_as_string(hide_password=False)
    events, items = counts(reg)
    assert main(["db", "verify", "--db", url]) == 0
    assert capsys.readouterr().out == f"verified: {events} events, {items} evidence items\n"
    tamper(reg, "UPDATE lot_verdicts SET verdict = 'fail' WHERE id = :i", i=evidence["verdict"])
    with reg.engine.connect() as c:
        eid = c.execute(text("SELECT id FROM events WHERE action = 'legal_hold'")).scalar()
    tamper(reg, "UPDATE events SET source = 'x' WHERE id = :i", i=eid)
    assert main(["db", "verify", "--db", url]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"events {eid}: altered (its content does not match its hash)",
                   f"lot_verdicts {evidence['verdict']}: content altered (its hash does not match what event "
                   f"{_anchoring_event(reg, 'lot_verdicts', evidence['verdict'])} recorded)"]
    assert main(["db", "verify", "--db", url, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] is False and {(p["table"], p["id"]) for p in doc["problems"]} == {
        ("events", eid), ("lot_verdicts", evidence["verdict"])}


def _anchoring_event(reg, table: str, item: int) -> int:
    with reg.engine.connect() as c:
        return c.execute(text("SELECT max(event_id) FROM evidence_anchors WHERE item_table = :t AND item_id = :i"),
                         {"t": table, "i": item}).scalar()


def test_a_changed_survey_telegram_is_found(reg):
    t0 = dt.datetime(2026, 3, 2, 9, 0, 0)
    doc = {"site": "Block A", "name": "March", "settings": {"dongle": "simulator", "mode": "t1"},
           "locations": [{"name": "Stairwell", "started_at": t0, "ended_at": t0 + dt.timedelta(minutes=2),
                          "telegrams": [{"received_at": t0 + dt.timedelta(seconds=k), "raw": bytes([0x44, k, 1, 2]),
                                         "rssi_dbm": -70.0 - k, "mode": "t1", "manufacturer": "KAM",
                                         "identification": "71234567"} for k in range(3)]}]}
    sid = reg.save_survey(doc, user="tech")
    assert reg.verify_integrity().ok
    tamper(reg, "UPDATE radio_survey_telegrams SET rssi_dbm = -40.0 WHERE seq = 1")  # a better signal, forged
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("radio_surveys", str(sid)) and "altered" in what


def test_a_large_sqlite_register_is_checked_by_several_processes_alike(reg, evidence, monkeypatch):
    if not reg.is_sqlite:
        pytest.skip("PostgreSQL hashes in the server")
    from app.storage.register import verify

    with reg.engine.connect() as c:
        hold = c.execute(text("SELECT id FROM events WHERE action = 'legal_hold'")).scalar()
        plain = c.execute(text("SELECT min(id) FROM events WHERE detail_digest IS NULL AND id > 1 AND id <> :h"),
                          {"h": hold}).scalar()
        last = c.execute(text("SELECT max(id) FROM events")).scalar()
    tamper(reg, "UPDATE events SET source = 'x' WHERE id = :i", i=hold)
    tamper(reg, "DELETE FROM events WHERE id = :i", i=plain)
    tamper(reg, "UPDATE events SET after = '{}' WHERE id = :i", i=last - 1)
    alone = problems(reg)
    assert [(t, i) for t, i, _w in alone] == sorted([("events", str(hold)), ("events", str(plain)),
                                                     ("events", str(last - 1))], key=lambda p: int(p[1]))
    monkeypatch.setattr(verify, "PARALLEL_FROM", 0)  # every register is "large"
    assert problems(reg) == alone
