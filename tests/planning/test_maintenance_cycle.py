"""The maintenance-cycle contract, clause by clause, on SQLite and PostgreSQL (``db_url``).

Recording the work (recalibrate, replace, battery), meters without an install
date, the schedule's deadlines and flags, lots on normalised keys; refused
commands change nothing. Expected dates are worked out by hand in the comments.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from app.storage import planning, reports
from app.storage.errors import ConflictError, ValidationError
from app.storage.register import open_register

from tests.helpers.trust import as_user, recorded

HEADER = "site,building,location,monitoring_point,manufacturer,model,serial,install_date,mid_class,qp_m3h,qp_qi_ratio," \
         "dtheta_min_k,dtheta_max_k,battery_expiry,primary_address,battery_capacity_mah,standby_current_ua\n"
ROWS = [
    # the spellings: one make, one model
    "North,B1,Flat 1,CC1,Kamstrup,MULTICAL 403,1001,2016-05-12,2,1.5,100,3,100,2027-11-01,11,,",
    "North,B1,Flat 2,CC1,KAMSTRUP,Multical403,1002,2016-05-12,2,1.5,100,3,100,,12,,",
    "North,B1,Flat 3,CC1,Kamstrup A/S,MC403,1003,2016-05-12,2,1.5,100,3,100,,13,,",
    "North,B2,Flat 4,CC1,Kamstrup,MULTICAL 403,1004,2016-05-12,3,1.5,100,3,100,,14,2000,10",
    "North,B2,Flat 5,CC1,Kamstrup,MULTICAL 403,1005,,2,1.5,100,3,100,,15,,",       # install date unknown
    "South,S1,Flat 6,CC1,Diehl,Sharky 775,2001,2017-06-01,2,2.5,100,3,100,,16,,",
]


@pytest.fixture
def reg(db_url, tmp_path):
    p = tmp_path / "meters.csv"
    p.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    r = open_register(db_url)
    r.import_file(p, user="ann")
    yield r
    r.close()


def mid(reg, serial, make="Kamstrup"):
    return reg.find_meter(make, serial).id


def events(reg):
    return len(reg.events(limit=100000))


def sched(reg, as_of=dt.date(2025, 6, 1), **kw):
    return {r["serial"] or str(r["meter_id"]): r for r in planning.schedule(reg, as_of, **kw).meter_rows()}


def test_meter_without_install_date_imports_flagged_overdue_and_never_pooled(reg):
    m = reg.find_meter("Kamstrup", "1005")
    assert m.install_date is None
    row = sched(reg)["1005"]
    assert (row["state"], row["reason"], row["deadlines"], row["flags"]) == \
        ("overdue", "install_date_unknown", [], ["install_date_unknown"])
    f = planning.form_lots(reg, as_of=dt.date(2025, 6, 1), all_meters=True, dry_run=True)
    assert {a["meter_id"]: a["reason"] for a in f.apart} == {m.id: "install_date_unknown"}
    assert all(m.id not in [x["meter_id"] for x in lot["members"]] for lot in f.lots)


def test_schedule_deadlines_flags_and_half_open_horizon(reg, cli, db_url):
    status, out, err = cli("schedule", "--db", db_url, "--as-of", "2025-06-01", "--json")
    assert status == 0, err
    rows = {r["serial"]: r for r in json.loads(out)["meters"]}
    # 1001: installed 2016-05-12: 9 y 2025-05-12 (passed), 10 y 2026-05-12; battery end 2027-11-01 → change
    # 2026-11-01, after the 10-year date: no battery deadline.
    assert rows["1001"]["deadlines"] == [{"kind": "sampling_9y", "date": "2025-05-12"},
                                         {"kind": "replace", "date": "2026-05-12"}]
    assert rows["1001"]["flags"] == [] and rows["1001"]["state"] == "overdue"
    assert rows["1004"]["flags"] == ["class_below_2"]
    # 2001: installed 2017-06-01: 9 years on 2026-06-01, exactly the horizon end: outside (half-open).
    assert rows["2001"]["state"] == "in_service" and rows["2001"]["due_date"] == "2026-06-01"
    status, out, _ = cli("schedule", "--db", db_url, "--as-of", "2025-06-02", "--json")
    assert {r["serial"]: r for r in json.loads(out)["meters"]}["2001"]["state"] == "sampling_due"


def test_restricted_meter_stays_scheduled_by_id_only_and_is_never_drawn(reg):
    rid = mid(reg, "1002", "KAMSTRUP")
    reg.set_restrict_processing(rid, True, reason="objection", user="ann")
    rows = {r["meter_id"]: r for r in planning.schedule(reg, dt.date(2025, 6, 1)).meter_rows()}
    assert rows[rid]["flags"] == ["restricted"] and rows[rid]["serial"] is None and rows[rid]["state"] == "overdue"
    f = planning.form_lots(reg, as_of=dt.date(2025, 6, 1), all_meters=True, user="ann")
    assert f.not_eligible.get("restricted") == 1
    assert all(rid not in [x["meter_id"] for x in lot["members"]] for lot in f.lots)
    # Restricted after forming: left out of the draw's frame, and the draw still reproduces.
    lot = next(x for x in f.lots if len(x["members"]) >= 3)
    other = lot["members"][0]["meter_id"]
    reg.set_restrict_processing(other, True, reason="objection", user="ann")
    d = planning.draw_lot(reg, lot["id"], seed=7, user="ann")
    assert d["excluded"] == [other] and other not in [m["meter_id"] for m in d["sample"] + d["spares"]]
    assert planning.show_lot(reg, lot["id"])["draw"]["reproduced"] is True


def test_lots_merge_spellings_by_flag_code_and_alias_table(reg, cli, db_url):
    status, out, err = cli("lots", "form", "--db", db_url, "--as-of", "2025-06-01", "--all", "--dry-run", "--json")
    assert status == 0, err
    lots = {lot["name"]: lot for lot in json.loads(out)["lots"]}
    kam = lots["Kamstrup|MULTICAL 403|1.5|2016"]
    assert kam["size"] == 4  # 1001-1004: three makes and three models as typed, one lot
    assert kam["merged"] == {"manufacturer": ["Kamstrup", "KAMSTRUP", "Kamstrup A/S"],
                             "model": ["MULTICAL 403", "MC403", "Multical403"]}
    assert kam["normalised_key"]["manufacturer"] == "KAM" and kam["normalised_key"]["model"] == "multical403"
    assert kam["aliases_used"] == [{"manufacturer": "KAM", "alias": "MC403", "model": "MULTICAL 403",
                                    "source": "shipped"}]
    # The 10-year deadline (2026-05-12) falls within the 4 months... no: as of 2025-06-01 + 4 months is
    # 2025-10-01, before it: no warning. Forming on 2026-02-01 (+4 months = 2026-06-01) warns for all 4.
    assert kam["warnings"] == []
    status, out, _ = cli("lots", "form", "--db", db_url, "--as-of", "2026-02-01", "--all", "--dry-run", "--json")
    w = {lot["name"]: lot for lot in json.loads(out)["lots"]}["Kamstrup|MULTICAL 403|1.5|2016"]["warnings"]
    assert [(x["kind"], x["meters"], x["first_deadline"]) for x in w] == [("verdict_too_late", 4, "2026-05-12")]


def test_user_alias_merges_two_spellings(reg, cli, db_url, tmp_path):
    reg.create_meter({"site": "North", "manufacturer": "Kamstrup", "model": "MC-403 heat", "serial": "1006",
                      "install_date": "2016-05-12", "qp_m3h": 1.5}, user="ann")
    f = planning.form_lots(reg, as_of=dt.date(2025, 6, 1), all_meters=True, dry_run=True)
    assert len([lot for lot in f.lots if lot["key"]["install_year"] == 2016]) == 2
    status, _, err = cli("lots", "alias", "add", "KAM", "MC-403 heat", "MULTICAL 403", "--db", db_url,
                         *as_user(db_url, "bob"))
    assert status == 0, err
    f = planning.form_lots(reg, as_of=dt.date(2025, 6, 1), all_meters=True, dry_run=True)
    [lot] = [lot for lot in f.lots if lot["key"]["install_year"] == 2016]
    assert lot["size"] == 5 and "MC-403 heat" in lot["merged"]["model"]
    assert reg.events(entity="model_aliases")[0]["user"] == recorded(reg, "bob")
    status, _, err = cli("lots", "alias", "add", "KAM", "MC-403 heat", "MULTICAL 403", "--db", db_url)
    assert status == 2 and "already an alias" in err


def test_recalibration_pass_restarts_the_clock_and_is_logged(reg, cli, db_url):
    m = reg.find_meter("Kamstrup", "1001")
    status, out, err = cli("meters", "recalibrate", "Kamstrup", "1001", "--on", "2025-04-10", "--verdict", "pass",
                           "--error-pct", "1.2", "--lab", "Lab A", "--db", db_url, *as_user(db_url, "ann"), "--json")
    assert status == 0, err
    row = sched(reg)["1001"]
    # 10 years from 2025-04-10; sampling at 9 years 2034-04-10; its battery (end of life 2027-11-01) is now
    # due a year before, 2026-11-01, as the meter may be kept beyond 10 years.
    assert row["clock_start"] == "2025-04-10" and row["state"] == "in_service"
    assert row["deadlines"] == [{"kind": "battery", "date": "2026-11-01"}, {"kind": "sampling_9y", "date": "2034-04-10"},
                                {"kind": "replace", "date": "2035-04-10"}]
    ev = [e for e in reg.history(m.id) if e["action"] == "recalibrate"]
    assert len(ev) == 1 and ev[0]["user"] == recorded(reg, "ann") and ev[0]["before"]["version"] == m.version
    assert ev[0]["after"]["verdict"] == "pass" and ev[0]["after"]["version"] == m.version + 1
    pack = reports.evidence_pack(reg, "North", as_of=dt.date(2025, 6, 1))
    r = next(x for x in pack.e28 if x.serial == "1001")
    assert r.recalibrated_on == dt.date(2025, 4, 10) and "recalibrated 2025-04-10" in r.evidence


def test_failed_recalibration_goes_to_the_replacement_list_never_evidence(reg, cli, db_url):
    status, _, err = cli("meters", "recalibrate", "Kamstrup", "1001", "--on", "2025-04-10", "--verdict", "fail",
                         "--db", db_url)
    assert status == 0, err
    row = sched(reg)["1001"]
    assert (row["state"], row["reason"], row["due_date"], row["flags"]) == \
        ("overdue", "failed_recalibration", "2025-04-10", ["failed_recalibration"])
    assert row["deadlines"] == [{"kind": "replace", "date": "2025-04-10"}]
    pack = reports.evidence_pack(reg, "North", as_of=dt.date(2025, 6, 1))
    r = next(x for x in pack.e28 if x.serial == "1001")
    assert r.recalibrated_on is None and r.evidence.startswith("recalibration FAILED 2025-04-10")
    assert pack.counts["recalibrated"] == 0 and pack.counts["failed_recalibration"] == 1
    f = planning.form_lots(reg, as_of=dt.date(2025, 6, 1), all_meters=True, dry_run=True)
    assert f.not_eligible.get("failed_recalibration") == 1


def test_replacement_keeps_place_and_both_histories(reg, cli, db_url):
    old = reg.find_meter("Kamstrup", "1001")
    status, out, err = cli("meters", "replace", "Kamstrup", "1001", "--on", "2025-05-20", "--new-serial", "12345678",
                           "--new-model", "MULTICAL 603", "--reason", "end of life", "--db", db_url, *as_user(db_url, "tom"),
                           "--json")
    assert status == 0, err
    done = json.loads(out)
    new = reg.get_meter(done["new_meter_id"])
    assert reg.get_meter(old.id).status == "removed"
    assert (new.site, new.building, new.location, new.monitoring_point, new.primary_address) == \
        (old.site, old.building, old.location, old.monitoring_point, old.primary_address)
    assert (new.mid_class, new.qp_m3h, new.qp_qi_ratio, new.model) == (2, 1.5, 100, "MULTICAL 603")
    assert new.install_date == dt.date(2025, 5, 20) and new.secondary_address == "12345678"
    first = reg.history(new.id)[0]
    assert first["action"] == "create" and first["after"]["replaces_meter_id"] == old.id and first["user"] == recorded(reg, "tom")
    assert any(e["action"] == "create" for e in reg.history(old.id)) and \
        [e["after"]["replaced_by_meter_id"] for e in reg.history(old.id) if e["action"] == "replaced"] == [new.id]
    status, out, _ = cli("meters", "show", "Kamstrup", "1001", "--db", db_url, "--json")
    assert json.loads(out)["replaced_by"]["serial"] == "12345678"
    status, out, _ = cli("meters", "show", "Kamstrup", "12345678", "--db", db_url, "--json")
    assert [x["serial"] for x in json.loads(out)["replaces"]] == ["1001"]
    rows = sched(reg)
    assert "1001" not in rows and rows["12345678"]["clock_start"] == "2025-05-20"


def test_battery_change_with_given_calculated_and_read_expiry(reg, cli, db_url):
    status, out, err = cli("meters", "battery", "Kamstrup", "1001", "--replaced-on", "2025-03-01",
                           "--expiry", "2036-03-01", "--db", db_url, "--json")
    assert status == 0, err
    m = reg.find_meter("Kamstrup", "1001")
    assert (m.battery_expiry, m.battery_replaced_on) == (dt.date(2036, 3, 1), dt.date(2025, 3, 1))
    # The battery calculator with the meter's data: 2000 mAh × 0.85 = 1700 mAh usable; 10 µA standby at CC1
    # (Annex A: 30 minutes, no charge per readout given) = 0.01 mA × 8766 h = 87.66 mAh/year, self-discharge
    # 1 % of 2000 = 20 mAh/year → 1700 / 107.66 = 15.790 years = round(15.790 × 365.25) = 5767 days.
    status, out, err = cli("meters", "battery", "Kamstrup", "1004", "--replaced-on", "2025-03-01", "--db", db_url,
                           "--json")
    assert status == 0, err
    life = 1700 / (0.01 * 8766 + 20)
    assert json.loads(out)["battery_expiry"] == (dt.date(2025, 3, 1) + dt.timedelta(days=round(life * 365.25))).isoformat()
    assert json.loads(out)["expiry_source"] == "battery calculator"
    # The meter's own record (VIF extension FD 74, remaining battery lifetime, in days) in a readout saved after
    # the change: read 2025-03-02 with 4000 days left → 2036-01-27 (2025-03-02 + 4000 days).
    m3 = reg.find_meter("KAM", "1003")
    reg.save_readout([b"\x68"], [{"records": [{"quantity": "remaining_battery_lifetime", "value": 4000 * 86400,
                                               "unit": "s", "storage": 0}]}], meter_id=m3.id,
                     read_at=dt.datetime(2025, 3, 2, 9, 0))
    status, out, err = cli("meters", "battery", "KAM", "1003", "--replaced-on", "2025-03-01", "--db", db_url,
                           "--json")
    assert status == 0, err
    assert json.loads(out)["battery_expiry"] == (dt.date(2025, 3, 2) + dt.timedelta(days=4000)).isoformat()
    # Nobody can tell: --expiry is required, nothing stored.
    n = events(reg)
    status, _, err = cli("meters", "battery", "KAMSTRUP", "1002", "--replaced-on", "2025-03-01", "--db", db_url)
    assert status == 2 and "--expiry" in err and len(err.strip().splitlines()) == 1 and events(reg) == n


@pytest.mark.parametrize("args,words", [
    (("recalibrate", "Kamstrup", "1001", "--on", "2025-02-30", "--verdict", "pass"), "bad date"),
    (("recalibrate", "Kamstrup", "1001", "--on", "2025-02-01", "--verdict", "maybe"), "pass or fail"),
    (("recalibrate", "Kamstrup", "1001", "--on", "2099-02-01", "--verdict", "pass"), "in the future"),
    (("recalibrate", "Kamstrup", "1001", "--on", "2010-02-01", "--verdict", "pass"), "before its installation"),
    (("recalibrate", "Kamstrup", "9999", "--on", "2025-02-01", "--verdict", "pass"), "no meter"),
    (("replace", "Kamstrup", "1001", "--on", "2025-02-01", "--new-serial", "1002", "--new-manufacturer", "KAMSTRUP"),
     "already in the register"),
    (("battery", "Kamstrup", "1001", "--replaced-on", "2025-02-01", "--expiry", "2024-01-01"), "must come after"),
])
def test_refused_commands_change_nothing(reg, cli, db_url, args, words):
    n = events(reg)
    before = reg.find_meter("Kamstrup", "1001")
    status, out, err = cli("meters", *args, "--db", db_url)
    assert status == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert events(reg) == n and reg.find_meter("Kamstrup", "1001").version == before.version
    assert len(reg.list_meters(include_restricted=True)) == len(ROWS)


def test_stale_version_is_refused_and_a_batch_is_all_or_nothing(reg):
    from app.storage.register import WorkItem

    m = reg.find_meter("Kamstrup", "1001")
    reg.update_meter(m.id, {"location": "Flat 1a"}, expected_version=m.version, user="bob")
    with pytest.raises(ConflictError, match=recorded(reg, "bob")):
        reg.record_battery_change(m.id, on=dt.date(2025, 3, 1), expiry=dt.date(2035, 3, 1),
                                  expected_version=m.version, user="ann")
    other = reg.find_meter("KAMSTRUP", "1002")
    n = events(reg)
    with pytest.raises(ValidationError, match="line 3"):
        reg.record_work([WorkItem("battery", other.id, dt.date(2025, 3, 1), expiry=dt.date(2035, 3, 1),
                                  where="jobs.csv: line 2"),
                         WorkItem("recalibrate", m.id, dt.date(2025, 3, 1), verdict="perhaps",
                                  where="jobs.csv: line 3")], user="ann")
    assert events(reg) == n and reg.find_meter("KAMSTRUP", "1002").battery_expiry is None
