"""heatmeter lots: the odd cases (errors, results, spares, round 13) on a small register."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from app.storage import planning

from tests.helpers.planning import mpe_complete_meter, small_register

FORM_ON = "2025-03-01"


@pytest.fixture
def small(tmp_path):
    url = f"sqlite:///{tmp_path / 'small.db'}"
    reg = small_register(url, tmp_path)
    yield url, reg
    reg.close()


def one_line_error(status, err, code=2):
    assert status == code, err
    assert err.startswith("heatmeter: ") and err.count("\n") == 1 and "Traceback" not in err


def form_big_lots(cli, url):
    """Lots by make and model of every meter: a few large lots (n > 3, spares, Ac >= 1)."""
    status, out, err = cli("lots", "form", "--db", url, "--all", "--key", "manufacturer,model", "--as-of", FORM_ON,
                           "--json")
    assert status == 0, err
    return json.loads(out)["lots"]


@pytest.mark.parametrize("args, words", [
    (("lots", "show", "999"), ["no lot 999"]),
    (("lots", "show", "abc"), ["LOT", "whole number"]),
    (("lots", "draw", "999", "--seed", "1"), ["no lot 999"]),
    (("lots", "verdict", "999"), ["no lot 999"]),
    (("lots", "record", "999", "--meter", "Kamstrup", "1", "--error-pct", "1"), ["no lot 999"]),
    (("lots", "form", "--aql", "5"), ["aql", "5 is not an AQL"]),
    (("lots", "form", "--aql", "four"), ["aql", "number"]),
    (("lots", "form", "--level", "IV"), ["level"]),
    (("lots", "form", "--inspection", "strict"), ["inspection"]),
    (("lots", "form", "--key", "manufacturer,colour"), ["key", "colour"]),
    (("lots", "form", "--site", "Nowhere"), ["no site 'Nowhere'"]),
    (("lots", "form", "--as-of", "2025-02-30"), ["--as-of", "bad date"]),
    (("lots", "draw", "1", "--seed", "abc"), ["seed", "whole number"]),
    (("lots", "draw", "1", "--seed", "1", "--spares", "-1"), ["spares"]),
    (("schedule", "--as-of", "2025-13-01"), ["--as-of", "bad date"]),
    (("schedule", "--horizon-months", "-1"), ["horizon-months"]),
    (("schedule", "--site", "Nowhere"), ["no site 'Nowhere'"]),
])
def test_bad_input_is_one_line_and_exit_2(small, cli, args, words):
    url, _ = small
    status, _, err = cli(*args, "--db", url)
    one_line_error(status, err)
    for w in words:
        assert w in err


def test_a_lot_needs_meters(tmp_path, cli):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    status, _, err = cli("lots", "form", "--db", url, "--as-of", FORM_ON)
    one_line_error(status, err)
    assert "at least one meter" in err
    from app.storage.register import open_register

    with open_register(url) as reg:  # a lot stored through the bare API without members
        lid = reg.create_lot(key={"manufacturer": "Kamstrup"}, member_ids=[], purpose="sampling_9y")
    status, _, err = cli("lots", "draw", lid, "--db", url, "--seed", "1")
    one_line_error(status, err)
    assert f"lot {lid} has no meters" in err


def test_nothing_due_is_exit_1(small, cli):
    url, _ = small
    status, out, err = cli("lots", "form", "--db", url, "--as-of", "2000-01-01")
    assert status == 1 and "no lot formed" in err and "nothing stored" in out
    assert planning.list_lots(small[1]) == []


def test_dry_run_stores_nothing_and_human_output_shows_key_members_and_apart(small, cli):
    url, reg = small
    m = reg.create_meter({"site": "North", "manufacturer": "Kamstrup", "model": "Multical 603", "serial": "NODATE"})
    status, out, _ = cli("lots", "form", "--db", url, "--as-of", FORM_ON, "--dry-run")
    assert status == 0
    assert "lot key: manufacturer, model, qp_m3h, install_year" in out and "members: " in out
    assert "Kamstrup NODATE (North): install_date_unknown" in out and "not stored (--dry-run)" in out
    assert planning.list_lots(reg) == []
    assert m.id


def test_record_single_figures_against_twice_the_initial_mpe(small, cli):
    url, reg = small
    lots = form_big_lots(cli, url)
    lot = next(lt for lt in lots if lt["key"]["manufacturer"] == "Kamstrup")  # class 2, qp/qi 100, Δθ 3...100 K
    d = planning.draw_lot(reg, lot["id"], seed=5)
    a, b, c, e = d["sample"][:4]
    rec = reg.find_meter(a["manufacturer"], a["serial"])
    limit = 2 * mpe_complete_meter(2, rec.qp_m3h, rec.qp_m3h, 100.0)   # judged at qp and Δθmax
    status, out, _ = cli("lots", "record", lot["id"], "--db", url, "--meter", a["manufacturer"], a["serial"],
                         "--error-pct", f"{limit:.12f}", "--json")
    r = json.loads(out)["recorded"][0]
    assert status == 0 and not r["defective"] and r["limit_pct"] == pytest.approx(limit)
    status, out, _ = cli("lots", "record", lot["id"], "--db", url, "--meter", b["manufacturer"], b["serial"],
                         "--error-pct", f"{-(limit + 0.01)}", "--json")
    assert json.loads(out)["recorded"][0]["defective"]
    # At a stated flow and Δθ; against a stated MPE.
    rec_c = reg.find_meter(c["manufacturer"], c["serial"])
    q = rec_c.qp_m3h / 50
    status, out, _ = cli("lots", "record", lot["id"], "--db", url, "--meter", c["manufacturer"], c["serial"],
                         "--error-pct", "7", "--q-m3h", q, "--dtheta-k", "10", "--json")
    r = json.loads(out)["recorded"][0]
    assert r["limit_pct"] == pytest.approx(2 * mpe_complete_meter(2, rec_c.qp_m3h, q, 10.0)) and not r["defective"]
    status, out, _ = cli("lots", "record", lot["id"], "--db", url, "--meter", e["manufacturer"], e["serial"],
                         "--error-pct", "4.1", "--mpe-pct", "2", "--json")
    r = json.loads(out)["recorded"][0]
    assert r["limit_pct"] == 4.0 and r["defective"]
    # Stored against the meter too, with the lot.
    cal = reg.calibration_results(rec_c.id)
    assert len(cal) == 1 and cal[0]["lot_id"] == lot["id"] and cal[0]["points"][0]["q_m3h"] == pytest.approx(q)
    # A second result for the same meter needs --replace, and the correction is logged.
    status, _, err = cli("lots", "record", lot["id"], "--db", url, "--meter", b["manufacturer"], b["serial"],
                         "--error-pct", "0.5")
    one_line_error(status, err)
    assert "--replace" in err
    status, _, _ = cli("lots", "record", lot["id"], "--db", url, "--meter", b["manufacturer"], b["serial"],
                       "--error-pct", "0.5", "--replace", "--user", "lab")
    assert status == 0
    shown = planning.show_lot(reg, lot["id"])
    assert shown["defectives"] == 1 and shown["results"] == 4
    ev = [x for x in reg.history(reg.find_meter(b["manufacturer"], b["serial"]).id) if x["action"] == "replace"]
    assert ev and ev[-1]["user"] == "lab" and ev[-1]["before"]["defective"] is True


def test_point_without_flow_for_a_flow_sensor_names_the_key(small, cli, tmp_path):
    url, reg = small
    lot = form_big_lots(cli, url)[0]
    d = planning.draw_lot(reg, lot["id"], seed=11)
    m = d["sample"][0]
    pts = tmp_path / "points.json"
    pts.write_text(json.dumps([{"error_pct": 0.4, "q_m3h": 1.4}, {"error_pct": 0.9}]))
    status, _, err = cli("lots", "record", lot["id"], "--db", url, "--meter", m["manufacturer"], m["serial"],
                         "--points", pts, "--subassembly", "flow_sensor")
    one_line_error(status, err)
    assert "points[1].q_m3h" in err and "flow" in err
    # The same in a lab CSV names the line.
    res = tmp_path / "res.csv"
    res.write_text("manufacturer;serial;error_pct;q_m3h;interval;subassembly\n"
                   f"{m['manufacturer']};{m['serial']};0,4;1,4;I3;flow_sensor\n"
                   f"{m['manufacturer']};{m['serial']};0,9;;I1;flow_sensor\n", encoding="utf-8")
    status, _, err = cli("lots", "record", lot["id"], "--db", url, "--file", res)
    one_line_error(status, err)
    assert "line 3: q_m3h: missing" in err
    assert planning.show_lot(reg, lot["id"])["results"] == 0


@pytest.mark.parametrize("content, words", [
    ("manufacturer,serial,error_pct,colour\nA,1,0.1,red\n", ["unknown column colour"]),
    ("manufacturer,error_pct\nA,0.1\n", ["missing column serial"]),
    ("manufacturer,serial,error_pct\nA,1,0.1\nB,,0.2\n", ["line 3", "empty serial"]),
    ("manufacturer,serial,error_pct\nA,1,abc\n", ["line 2", "error_pct", "not a number"]),
    ("manufacturer,serial,error_pct,inaccessible\nA,1,0.3,yes\n", ["line 2", "inaccessible and has results"]),
    ("manufacturer,serial,error_pct,inaccessible\nA,1,,maybe\n", ["line 2", "inaccessible"]),
    ("manufacturer,serial,error_pct,tested_on\nA,1,0.1,1/5/2025\n", ["line 2", "tested_on", "bad date"]),
    ("just one column\n", ["not a results CSV"]),
])
def test_results_file_errors_name_the_line(tmp_path, content, words):
    p = tmp_path / "r.csv"
    p.write_text(content, encoding="utf-8")
    from app.storage.errors import ValidationError

    with pytest.raises(ValidationError) as exc:
        planning.read_results_csv(p)
    for w in words:
        assert w in str(exc.value)


def test_results_file_groups_points_and_reads_windows_1252(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes("Manufacturer\tSerial\tError_pct\tq_m3h\tdtheta_k\tInterval\tlab\n"
                  "Müller\t7\t0.5\t1.5\t3.3\tc1\tPrüfstelle\n"
                  "Müller\t7\t1.5\t0.15\t15\tc2\tPrüfstelle\n"
                  "Kamstrup\t8\t-0.3\t\t\t\t\n".encode("cp1252"))
    a, b = planning.read_results_csv(p)
    assert a.manufacturer == "Müller" and a.lab == "Prüfstelle" and a.lines == [2, 3]
    assert a.points == [{"error_pct": 0.5, "q_m3h": 1.5, "dtheta_k": 3.3, "interval": "C1"},
                        {"error_pct": 1.5, "q_m3h": 0.15, "dtheta_k": 15.0, "interval": "C2"}]
    assert b.points is None and b.error_pct == -0.3


def test_inaccessible_meter_is_replaced_by_a_spare_and_incomplete_is_exit_1(small, cli):
    url, reg = small
    lot = max(form_big_lots(cli, url), key=lambda lt: lt["size"])
    d = planning.draw_lot(reg, lot["id"], seed=3, spares=2)
    sample, spares = d["sample"], d["spares"]
    assert len(spares) == 2
    planning.record_results(reg, lot["id"], [planning.ResultEntry(m["manufacturer"], m["serial"], error_pct=0.2)
                                             for m in sample[1:]])
    status, out, err = cli("lots", "verdict", lot["id"], "--db", url, "--json")
    assert status == 1 and "incomplete" in err and json.loads(out)["stored"] is False
    assert planning.list_lots(reg)[0]["verdict"] is None
    status, _, _ = cli("lots", "record", lot["id"], "--db", url, "--meter", sample[0]["manufacturer"],
                       sample[0]["serial"], "--inaccessible")
    assert status == 0
    status, _, err = cli("lots", "verdict", lot["id"], "--db", url)
    assert status == 1  # still one short: the spare is not tested yet
    planning.record_results(reg, lot["id"], [planning.ResultEntry(spares[0]["manufacturer"], spares[0]["serial"],
                                                                  error_pct=0.3)])
    status, out, err = cli("lots", "verdict", lot["id"], "--db", url, "--date", "2025-06-01", "--json")
    v = json.loads(out)
    assert status == 0 and v["verdict"] == "pass" and v["tested"] == d["sample_size"]
    assert spares[0]["meter_id"] in [m["meter_id"] for m in v["counted"]]
    shown = planning.show_lot(reg, lot["id"])
    status_of = {m["meter_id"]: m["status"] for m in shown["draw"]["meters"]}
    assert status_of[sample[0]["meter_id"]] == "inaccessible" and status_of[spares[0]["meter_id"]] == "tested"
    assert shown["verdict_record"]["decided_on"] == "2025-06-01"
    # Decided: no new draw, no new results.
    status, _, err = cli("lots", "draw", lot["id"], "--db", url, "--seed", "4", "--force")
    one_line_error(status, err)
    assert "has a verdict" in err
    status, _, err = cli("lots", "record", lot["id"], "--db", url, "--meter", spares[1]["manufacturer"],
                         spares[1]["serial"], "--error-pct", "0.1")
    one_line_error(status, err)
    assert "has a verdict" in err


def test_second_round_takes_the_passed_lots_and_not_the_failed_one(small, cli):
    url, reg = small
    lots = form_big_lots(cli, url)
    failed = lots[0]["id"]
    for lot in lots:
        d = planning.draw_lot(reg, lot["id"], seed=lot["id"])
        bad = d["acceptance_number"] + 1 if lot["id"] == failed else 0
        planning.record_results(reg, lot["id"], [
            planning.ResultEntry(m["manufacturer"], m["serial"], error_pct=20.0 if i < bad else 0.4)
            for i, m in enumerate(d["sample"])])
        planning.decide_lot(reg, lot["id"], decided_on=dt.date(2025, 6, 1))
    status, out, err = cli("lots", "form", "--db", url, "--round", "13", "--all", "--as-of", "2029-01-01", "--json")
    assert status == 0, err
    f = json.loads(out)
    got = {m["meter_id"] for lt in f["lots"] for m in lt["members"]}
    passed = {m["meter_id"] for lt in lots if lt["id"] != failed for m in lt["members"]}
    assert got == passed
    assert f["not_eligible"]["lot_failed_replacement_list"] == lots[0]["size"]
    assert all(lt["plan"]["sample_size"] >= 1 for lt in f["lots"])
    assert {lt["id"]: lt for lt in planning.list_lots(reg)}[f["lots"][0]["id"]]["purpose"] == "sampling_13y"


def test_recalibration_outside_a_lot_restarts_the_clock(small, cli):
    url, reg = small
    m = reg.list_meters(limit=1)[0]
    on = dt.date(2023, 4, 5)
    reg.add_calibration_result(m.id, tested_on=on, subassembly="complete_meter", points=[{"error_pct": 0.2}],
                               result={"initial_verdict": "pass", "in_service_verdict": "pass"})
    s = planning.schedule(reg, dt.date(2025, 1, 1), horizon_months=12)
    row = next(r for r in s.meter_rows() if r["meter_id"] == m.id)
    assert row["clock_start"] == "2023-04-05"
    if not m.battery_expiry:
        assert (row["reason"], row["due_date"]) == ("sampling_9y", "2032-04-05")


def test_show_list_and_human_outputs(small, cli):
    url, reg = small
    lot = form_big_lots(cli, url)[0]
    cli("lots", "draw", lot["id"], "--db", url, "--seed", "77")
    status, out, _ = cli("lots", "show", lot["id"], "--db", url)
    assert status == 0 and "draw: seed 77 (reproduces" in out and "plan: level II, AQL 4.0" in out
    status, out, _ = cli("lots", "list", "--db", url)
    assert status == 0 and f"{lot['name']}" in out
    status, out, _ = cli("lots", "list", "--db", url, "--json")
    assert json.loads(out)[0]["seed"] == 77
    status, out, _ = cli("schedule", "--db", url, "--as-of", "2025-06-01")
    assert status == 0 and "schedule on 2025-06-01" in out and "per site:" in out


def test_lots_formed_meanwhile_by_someone_else_store_nothing(small):
    from app.storage.errors import ConflictError

    url, reg = small
    stale = planning.load_planning_data(reg)
    planning.form_lots(reg, as_of=dt.date(2025, 3, 1), user="ann")
    n = len(planning.list_lots(reg))
    with pytest.raises(ConflictError, match="meanwhile"):
        planning.form_lots(reg, as_of=dt.date(2025, 3, 1), user="bob", data=stale)
    assert len(planning.list_lots(reg)) == n


def test_planning_sees_the_meters_the_register_gives_the_planner(small):
    url, reg = small
    ms = reg.list_meters(limit=3)
    reg.set_restrict_processing(ms[0].id, True, reason="objection")
    reg.update_meter(ms[1].id, {"status": "removed"}, expected_version=ms[1].version)
    data = planning.load_planning_data(reg)
    # Restricted processing (MMS 2.2.5) limits personal data, not maintenance (MMS 1.3.3): still planned,
    # flagged; a removed meter is not.
    assert {int(m.id) for m in data.meters} == {d["id"] for d in reg.planning_meters()} | {ms[0].id}
    assert ms[1].id not in {int(m.id) for m in data.meters}
    assert [m.restricted for m in data.meters if int(m.id) == ms[0].id] == [True]
    rows = {int(r.meter_id): r for r in planning.schedule(reg, dt.date(2025, 1, 1)).rows}
    assert set(rows) == {int(m.id) for m in data.meters} and "restricted" in rows[ms[0].id].flags
