"""The lot tables' one write path (Register.create_lots, record_draw, record_lot_results, record_lot_verdict)
and the read-only transaction other modules query in (Register.reading)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select

from app.storage.errors import ConflictError, RegisterError, ValidationError
from app.storage.register import LOT, S, LotResult, NewCalibration, NewLot, UnknownLot

from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import recorded

PLAN = {"level": "II", "aql": 4.0, "inspection": "normal", "code_letter": "B", "plan_letter": "B",
        "sample_size": 3, "acceptance_number": 0, "rejection_number": 1}


@pytest.fixture
def ids(reg, tmp_path):
    reg.import_file(write_csv(tmp_path / "m.csv", make_rows(12)))
    return [m.id for m in reg.list_meters()]


def lot_events(reg, lot_id):
    return [(e["action"], e["before"], e["after"]) for e in reversed(reg.events(entity="lots")) if e["entity_id"] == lot_id]


def test_reading_is_a_read_only_transaction(reg, ids):
    with reg.reading() as conn:
        assert conn.execute(select(func.count()).select_from(S)).scalar_one() == 5
    with pytest.raises(Exception) as err, reg.reading() as conn:
        conn.execute(insert(S).values(name="Written behind the register's back"))
    assert "read" in str(err.value).lower()  # "readonly database" (SQLite), "read-only transaction" (PostgreSQL)
    assert [s["name"] for s in reg.list_sites()] == [f"Site {i}" for i in range(5)]
    for _ in range(3):  # the pooled connection is writable again afterwards
        with reg.reading() as conn:
            conn.execute(select(1)).scalar_one()
        reg.set_monitoring_point("Site 0", "SS1", user="t")
    assert "SS1" in [p["label"] for p in reg.list_monitoring_points("Site 0")]


def test_lots_formed_together_with_their_members_and_the_rule(reg, ids):
    first, second = reg.create_lots(
        [NewLot(key={"manufacturer": "Kamstrup"}, member_ids=ids[:4], plan=PLAN, name="K", purpose="sampling_9y",
                rule={"round": 9}, snapshots=[{"serial": str(i)} for i in range(4)]),
         NewLot(key={"manufacturer": "Sontex"}, member_ids=ids[4:6], plan=PLAN, name="S", purpose="sampling_9y")],
        user="planner")
    lot = reg.get_lot(first)
    assert (lot["name"], lot["lot_size"], lot["sample_size"], lot["status"], lot["formed_by"]) == \
        ("K", 4, 3, "formed", recorded(reg, "planner"))
    assert [(m["meter_id"], m["position"], m["snapshot"]) for m in lot["members"]] == \
        [(ids[i], i, {"serial": str(i)}) for i in range(4)]
    assert [m["meter_id"] for m in reg.get_lot(second)["members"]] == ids[4:6]
    [(action, _, after)] = lot_events(reg, first)
    assert action == "create" and after["rule"] == {"round": 9} and after["lot_size"] == 4


def test_lots_formed_from_a_stale_reading_are_refused(reg, ids):
    [seen] = reg.create_lots([NewLot(key={}, member_ids=ids[:2], purpose="sampling_9y")])
    newer = reg.create_lots([NewLot(key={}, member_ids=ids[2:4], purpose="sampling_9y")], newest_lot_seen=seen)[0]
    other = reg.create_lots([NewLot(key={}, member_ids=ids[4:6], purpose="other")])[0]
    assert newer == seen + 1 and other == seen + 2
    with pytest.raises(ConflictError, match=f"lot {newer} was formed by someone else"):
        reg.create_lots([NewLot(key={}, member_ids=ids[6:8], purpose="sampling_9y")], newest_lot_seen=seen,
                        purposes=["sampling_9y"])
    # a newer lot of another purpose does not count
    reg.create_lots([NewLot(key={}, member_ids=ids[6:8], purpose="sampling_9y")], newest_lot_seen=newer,
                    purposes=["sampling_9y"])
    assert len(reg.list_lots()) == 4
    with pytest.raises(ValidationError, match="snapshots"):
        reg.create_lots([NewLot(key={}, member_ids=ids[:2], snapshots=[{}])])


def test_a_seeded_draw_is_whole_and_replaced_only_when_asked(reg, ids):
    lot = reg.create_lot(key={}, member_ids=ids[:6], plan=PLAN, purpose="sampling_9y")
    first = [(ids[0], False), (ids[2], False), (ids[4], False), (ids[5], True)]
    assert reg.record_draw(lot, first, seed=7, algorithm="a", user="d")["redrawn"] is False
    reg.record_lot_result(lot, ids[0], error_pct=1.0, limit_pct=6.0, defective=False)
    with pytest.raises(ValidationError, match="already drawn with seed 7 \\(3 meters \\+ 1 spares\\)"):
        reg.record_draw(lot, first, seed=8)
    out = reg.record_draw(lot, [(ids[1], False), (ids[3], False), (ids[5], False)], seed=8, algorithm="a",
                          replace=True, user="d")
    assert out == {"lot_id": lot, "redrawn": True, "results_discarded": 1}
    got = reg.get_lot(lot)
    assert got["seed"] == "8" and got["status"] == "drawn" and got["results"] == []
    assert [(d["draw_order"], d["meter_id"], d["spare"]) for d in got["draws"]] == \
        [(0, ids[1], False), (1, ids[3], False), (2, ids[5], False)]
    action, before, after = lot_events(reg, lot)[-1]
    assert action == "redraw" and before == {"seed": "7", "sample": [ids[0], ids[2], ids[4]], "spares": [ids[5]],
                                             "results_discarded": 1}
    assert after == {"seed": 8, "algorithm": "a", "sample_size": 3, "sample": [ids[1], ids[3], ids[5]], "spares": [],
                     "draw_hash": got["draw_hash"]}


def test_draws_without_a_seed_are_appended_and_must_be_members(reg, ids):
    lot = reg.create_lot(key={}, member_ids=ids[:6], plan=PLAN, seed=99)
    reg.record_draw(lot, [(ids[1], False)])
    reg.record_draw(lot, [(ids[2], False), (ids[3], True)])
    got = reg.get_lot(lot)
    assert [(d["draw_order"], d["meter_id"], d["spare"]) for d in got["draws"]] == \
        [(0, ids[1], False), (1, ids[2], False), (2, ids[3], True)]
    assert got["seed"] == "99"  # the lot's own seed stays
    with pytest.raises(ValidationError, match=f"meter {ids[7]} is not a member of lot {lot}"):
        reg.record_draw(lot, [(ids[7], False)])
    with pytest.raises(UnknownLot):
        reg.record_draw(lot + 100, [(ids[1], False)])


def test_results_all_or_nothing_with_calibration_and_draw_status(reg, ids):
    lot = reg.create_lot(key={}, member_ids=ids[:6], plan=PLAN)
    with pytest.raises(ValidationError, match="has not been drawn yet"):
        reg.record_lot_results(lot, [LotResult(meter_id=ids[0])])
    reg.record_draw(lot, [(ids[0], False), (ids[1], False), (ids[2], False), (ids[3], True)], seed=1)
    cal = NewCalibration(tested_on=dt.date(2025, 4, 1), subassembly="complete_meter",
                         points=[{"error_pct": 1.5, "q_m3h": 1.5}], inputs={"basis": "single_error"},
                         result={"initial_verdict": "pass", "in_service_verdict": "pass",
                                 "points": [{"mpe_in_service_pct": 7.0, "pass_in_service": True}]})
    good = LotResult(meter_id=ids[0], error_pct=1.5, limit_pct=7.0, defective=False, tested_on=dt.date(2025, 4, 1),
                     calibration=cal, draw_status="tested")
    with pytest.raises(ValidationError, match=f"meter {ids[4]} was not drawn for lot {lot}"):
        reg.record_lot_results(lot, [good, LotResult(meter_id=ids[4], error_pct=0.1)])
    assert reg.get_lot(lot)["results"] == [] and reg.calibration_results(ids[0]) == []  # nothing stored
    [stored] = reg.record_lot_results(lot, [good], user="lab")
    assert stored["spare"] is False and stored["replaced"] is False
    [c] = reg.calibration_results(ids[0])
    assert (c["id"], c["lot_id"], c["in_service_verdict"], c["points"][0]["mpe_in_service_pct"]) == \
        (stored["calibration_result_id"], lot, "pass", 7.0)
    got = reg.get_lot(lot)
    assert got["status"] == "testing" and [d["status"] for d in got["draws"]] == ["tested", "drawn", "drawn", "drawn"]
    with pytest.raises(ValidationError, match="already has a result"):
        reg.record_lot_results(lot, [LotResult(meter_id=ids[0], error_pct=9.0)])
    [again] = reg.record_lot_results(lot, [LotResult(meter_id=ids[0], error_pct=9.0, defective=True)], replace=True)
    assert again["replaced"] and again["result_id"] == stored["result_id"]
    assert [r["error_pct"] for r in reg.get_lot(lot)["results"]] == [9.0]
    with pytest.raises(ValidationError, match="given twice"):
        reg.record_lot_results(lot, [LotResult(meter_id=ids[1]), LotResult(meter_id=ids[1])])


def test_a_lot_is_decided_once_and_then_frozen(reg, ids):
    lot = reg.create_lot(key={}, member_ids=ids[:4], plan=PLAN)
    reg.record_draw(lot, [(ids[0], False)], seed=3)
    with pytest.raises(ValidationError, match="must be pass or fail"):
        reg.record_lot_verdict(lot, decided_on=dt.date(2025, 6, 1), verdict="maybe")
    reg.record_lot_verdict(lot, decided_on=dt.date(2025, 6, 1), verdict="fail", defectives=1, notes="replace all")
    assert reg.get_lot(lot)["status"] == "verdict_fail"
    with pytest.raises(ValidationError, match="already has a verdict"):
        reg.record_lot_verdict(lot, decided_on=dt.date(2025, 6, 2), verdict="pass")
    with pytest.raises(ValidationError, match="has a verdict \\(fail on 2025-06-01\\); it cannot be drawn again"):
        reg.record_draw(lot, [(ids[1], False)], seed=4, replace=True)
    with pytest.raises(ValidationError, match="its results cannot change"):
        reg.record_lot_results(lot, [LotResult(meter_id=ids[0], error_pct=1.0)])
    with pytest.raises(UnknownLot) as err:
        reg.record_lot_verdict(lot + 1, decided_on=dt.date(2025, 6, 1), verdict="pass")
    assert isinstance(err.value, RegisterError) and err.value.status == 2
    with reg.reading() as conn:
        assert conn.execute(select(LOT.c.status).where(LOT.c.id == lot)).scalar_one() == "verdict_fail"
