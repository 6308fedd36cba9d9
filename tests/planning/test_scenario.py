"""A whole planning round on a generated register of 20,000 meters, on SQLite and on PostgreSQL.

form lots → draw with a seed → record results (some defective, one meter
inaccessible, one lab CSV) → verdicts → schedule, checking the consequences
against expectations computed here from the generated data, not from the
tool's own output.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random

import pytest

from app.core.schedule import anniversary
from app.storage import planning
from app.storage.register import open_register

from tests.helpers.planning import write_register_csv

N = 20_000
FORM_ON = dt.date(2025, 3, 1)          # lots formed for meters reaching 9 years by 2026-03-01
WINDOW_END = dt.date(2026, 3, 1)
DECIDED_ON = dt.date(2025, 6, 1)
SCHEDULE_ON = dt.date(2025, 6, 1)
HORIZON = 24                           # months: 2027-06-01 covers every 10-year date of the formed lots


def start_of(install: str) -> dt.date:
    """The 10-year clock start of a CSV install date: a year alone counts from 1 January."""
    return dt.date(int(install), 1, 1) if len(install) == 4 else dt.date.fromisoformat(install)


def documented_draw(ids, n: int, spares: int, seed: int) -> tuple[list[str], list[str]]:
    """The draw as docs/metrology.md describes it, written again here."""
    pool = sorted(str(i) for i in ids)
    rng = random.Random(seed)
    for i in range(n + spares):
        j = i + int(rng.random() * (len(pool) - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:n], pool[n:n + spares]


def ids_of(refs) -> list[int]:
    return [r["meter_id"] for r in refs]


@pytest.mark.slow
def test_planning_round_on_20000_meters(db_url, tmp_path, cli):
    # ---- the register: 20,000 meters from a CSV, plus the cases a CSV cannot make ------------------------
    csv_path = write_register_csv(tmp_path / "meters.csv", N)
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    reg = open_register(db_url)
    try:
        report = reg.import_file(csv_path, user="planner")
        assert report.created == N
        mid_of = {m.serial: m.id for m in reg.list_meters(include_restricted=True)}
        unknown = [reg.create_meter({"site": "North", "manufacturer": "Kamstrup", "model": "Multical 603",
                                     "serial": f"U{i:03d}", "mid_class": 2, "qp_m3h": 1.5, "qp_qi_ratio": 100},
                                    user="planner").id for i in range(12)]
        # Back from repair in 2016: their clock restarts then, and they are never pooled.
        repaired: dict[int, dt.date] = {}
        for i, r in enumerate([r for r in rows if r["install_date"][:4] in ("2009", "2010", "2011")
                               and len(r["install_date"]) == 10][:20]):
            m = reg.find_meter(r["manufacturer"], r["serial"])
            back = dt.date(2016, 1 + i % 12, 10)
            reg.move_meter(m.id, on=back, expected_version=m.version, reason="removed for repair", user="planner")
            repaired[m.id] = back
        # Moved to another site without repair: the clock keeps the first installation.
        moved: dict[int, dt.date] = {}
        for r in [r for r in rows if r["install_date"].startswith("2016-")
                  and mid_of[r["serial"]] not in repaired][:15]:
            m = reg.find_meter(r["manufacturer"], r["serial"])
            reg.move_meter(m.id, on=dt.date(2019, 6, 1), site="Campus", expected_version=m.version,
                           reason="moved", user="planner")
            moved[m.id] = dt.date.fromisoformat(r["install_date"])
        restricted = set()
        for r in rows[100:130]:
            mid = mid_of[r["serial"]]
            if mid not in repaired and mid not in moved and len(restricted) < 10:
                reg.set_restrict_processing(mid, True, user="planner", reason="occupant objection")
                restricted.add(mid)
        start = {mid_of[r["serial"]]: start_of(r["install_date"]) for r in rows}
        start.update(repaired)
        battery = {mid_of[r["serial"]]: dt.date.fromisoformat(r["battery_expiry"]) for r in rows if r["battery_expiry"]}
        in_service = N + len(unknown)  # restricted meters stay in the schedule (MMS 2.2.5 is not 1.3.3)

        # ---- schedule before any verdict (operator replacing at 10 years: no sampling events) --------------
        status, out, _ = cli("schedule", "--db", db_url, "--as-of", SCHEDULE_ON, "--horizon-months", HORIZON,
                             "--no-sampling", "--json")
        assert status == 0
        before = {m["meter_id"]: m for m in json.loads(out)["meters"]}

        # ---- form the 9-year lots ---------------------------------------------------------------------------
        as_planner = ["--user", "planner"] if db_url.startswith("sqlite") else []  # PostgreSQL: the role connected
        status, out, err = cli("lots", "form", "--db", db_url, "--as-of", FORM_ON, *as_planner, "--json")
        assert status == 0, err
        formed = json.loads(out)
        assert formed["stored"] and formed["key_fields"] == ["manufacturer", "model", "qp_m3h", "install_year"]
        expected: dict[tuple, set[int]] = {}
        for r in rows:
            mid = mid_of[r["serial"]]
            if mid in restricted or mid in repaired:
                continue
            s = start[mid]
            if anniversary(s, 9) <= WINDOW_END and anniversary(s, 10) > FORM_ON:
                expected.setdefault((r["manufacturer"], r["model"], float(r["qp_m3h"]), s.year), set()).add(mid)
        got = {(lot["key"]["manufacturer"], lot["key"]["model"], lot["key"]["qp_m3h"], lot["key"]["install_year"]):
               set(ids_of(lot["members"])) for lot in formed["lots"]}
        assert got == expected
        assert {a["meter_id"]: a["reason"] for a in formed["apart"]} == {
            **{u: "install_date_unknown" for u in unknown}, **{r: "reinstalled_after_repair" for r in repaired}}
        members_2016 = set().union(*(m for k, m in expected.items() if k[3] == 2016))
        assert set(moved) <= members_2016
        lots = {lot["id"]: lot for lot in formed["lots"]}
        for lot in lots.values():
            plan = lot["plan"]
            assert plan["level"] == "II" and plan["aql"] == 4.0 and plan["inspection"] == "normal"
            assert plan["lot_size"] == lot["size"] >= plan["sample_size"]
        # Forming again finds nothing new: every due meter is in an open lot.
        status, out, _ = cli("lots", "form", "--db", db_url, "--as-of", FORM_ON, "--json")
        assert status == 1 and json.loads(out)["lots"] == []
        assert json.loads(out)["not_eligible"]["in_open_lot"] == sum(len(m) for m in expected.values())

        # ---- draw every lot with a seed ------------------------------------------------------------------------
        draws = {lid: planning.draw_lot(reg, lid, seed=1000 + lid, user="planner") for lid in lots}
        big = max(lots, key=lambda lid: lots[lid]["size"])
        first = draws[big]
        assert first["sample_size"] < first["lot_size"] and first["acceptance_number"] >= 1
        status, _, err = cli("lots", "draw", big, "--db", db_url, "--seed", 1000 + big)
        assert status == 2 and "already drawn" in err and "--force" in err
        status, out, _ = cli("lots", "draw", big, "--db", db_url, "--seed", 1000 + big, "--force", "--json")
        again = json.loads(out)
        assert (ids_of(again["sample"]), ids_of(again["spares"])) == (ids_of(first["sample"]), ids_of(first["spares"]))
        status, out, _ = cli("lots", "draw", big, "--db", db_url, "--seed", 2000 + big, "--force", "--json")
        other = json.loads(out)
        assert set(ids_of(other["sample"])) != set(ids_of(first["sample"]))
        cli("lots", "draw", big, "--db", db_url, "--seed", 1000 + big, "--force")
        redraws = [e for e in reg.events(entity="lots") if e["action"] == "redraw" and e["entity_id"] == big]
        assert len(redraws) == 3 and redraws[0]["before"]["seed"] == str(2000 + big)
        # What is stored suffices to redraw by the documented algorithm.
        shown = planning.show_lot(reg, big)
        assert shown["draw"]["reproduced"] and shown["seed"] == 1000 + big
        n_spares = len(first["spares"])
        sample, spares = documented_draw(ids_of(shown["members"]), first["sample_size"], n_spares, shown["seed"])
        assert [int(x) for x in sample] == ids_of(first["sample"])
        assert [int(x) for x in spares] == ids_of(first["spares"])

        # ---- results -------------------------------------------------------------------------------------------
        label = {m: (r["manufacturer"], r["serial"]) for r in rows for m in [mid_of[r["serial"]]]}

        def single(mid, err_pct):
            return planning.ResultEntry(*label[mid], error_pct=err_pct)

        fail_lot = big
        ac = first["acceptance_number"]
        others = sorted((lid for lid in lots if lid != big and draws[lid]["spares"]),
                        key=lambda lid: -lots[lid]["size"])
        pass_with_defect = next(lid for lid in others if draws[lid]["acceptance_number"] >= 1)
        inaccessible_lot = next(lid for lid in others if lid != pass_with_defect)
        lab_lot = next(lid for lid in others if lid not in (pass_with_defect, inaccessible_lot)
                       and lots[lid]["size"] > draws[lid]["sample_size"] + len(draws[lid]["spares"]))
        for lid, d in draws.items():
            sample = ids_of(d["sample"])
            if lid == lab_lot:
                continue
            if lid == fail_lot:
                entries = [single(m, 15.0 if i <= ac else 0.5) for i, m in enumerate(sample)]
            elif lid == pass_with_defect:
                entries = [single(m, -15.0 if i == 0 else 0.5) for i, m in enumerate(sample)]
            elif lid == inaccessible_lot:
                entries = ([planning.ResultEntry(*label[sample[0]], inaccessible=True)]
                           + [single(m, 0.5) for m in sample[1:]] + [single(d["spares"][0]["meter_id"], 0.7)])
            else:
                entries = [single(m, 0.5) for m in sample]
            planning.record_results(reg, lid, entries, tested_on=dt.date(2025, 5, 1), user="planner")
        # A test lab's CSV: calibration points for one meter, single figures for the others.
        d = draws[lab_lot]
        lab = io.StringIO()
        w = csv.writer(lab)
        w.writerow(["manufacturer", "serial", "error_pct", "q_m3h", "dtheta_k", "interval", "tested_on"])
        m0 = ids_of(d["sample"])[0]
        qp = float(next(r["qp_m3h"] for r in rows if r["serial"] == label[m0][1]))  # qp/qi = 100, Δθ 3...100 K
        for e, q, dth, iv in ((1.1, 0.95 * qp, 3.3, "C1"), (2.0, 0.105 * qp, 15.0, "C2"),
                              (3.5, 0.0105 * qp, 97.0, "C3")):
            w.writerow([*label[m0], e, q, dth, iv, "2025-05-02"])
        for m in ids_of(d["sample"])[1:]:
            w.writerow([*label[m], 0.9, "", "", "", "2025-05-02"])
        results_csv = tmp_path / "lab.csv"
        results_csv.write_text(lab.getvalue(), encoding="utf-8")
        drawn = set(ids_of(d["sample"]) + ids_of(d["spares"]))
        stranger = next(m for m in ids_of(lots[lab_lot]["members"]) if m not in drawn)
        bad_csv = tmp_path / "bad.csv"
        bad_csv.write_text(lab.getvalue() + f"{label[stranger][0]},{label[stranger][1]},0.2,,,,2025-05-02\n",
                           encoding="utf-8")
        line = lab.getvalue().count("\n") + 1
        status, _, err = cli("lots", "record", lab_lot, "--db", db_url, "--file", bad_csv)
        assert status == 2 and f"line {line}:" in err and "not drawn" in err
        assert planning.show_lot(reg, lab_lot)["results"] == 0  # all or nothing
        status, out, err = cli("lots", "record", lab_lot, "--db", db_url, "--file", results_csv, "--json")
        assert status == 0, err
        recorded = json.loads(out)["recorded"]
        assert recorded[0]["basis"] == "calibration_points" and recorded[0]["coverage"] == "complete"
        assert not any(r["defective"] for r in recorded)
        cal = reg.calibration_results(m0)
        assert len(cal) == 1 and cal[0]["lot_id"] == lab_lot and len(cal[0]["points"]) == 3
        assert cal[0]["in_service_verdict"] == "pass"

        # ---- verdicts ----------------------------------------------------------------------------------------
        verdicts = {}
        for lid in lots:
            if lid == fail_lot:
                status, out, err = cli("lots", "verdict", lid, "--db", db_url, "--date", DECIDED_ON, "--json")
                assert status == 0, err
                verdicts[lid] = json.loads(out)
            else:
                verdicts[lid] = planning.decide_lot(reg, lid, decided_on=DECIDED_ON, user="planner")
        assert all(v["stored"] for v in verdicts.values())
        vf = verdicts[fail_lot]
        assert vf["verdict"] == "fail" and vf["defectives"] == ac + 1
        assert set(ids_of(vf["replacement_list"])) == set(ids_of(lots[fail_lot]["members"]))
        assert verdicts[pass_with_defect]["verdict"] == "pass" and verdicts[pass_with_defect]["defectives"] == 1
        # The lot passes but its defective meter is not kept (MMS 1.3.5): it is on the replacement list.
        defect_mid = ids_of(draws[pass_with_defect]["sample"])[0]
        assert ids_of(verdicts[pass_with_defect]["replacement_list"]) == [defect_mid]
        assert [m["action"] for m in verdicts[pass_with_defect]["members"] if m["meter_id"] == defect_mid] == \
            ["replace_defective"]
        vi = verdicts[inaccessible_lot]
        assert vi["verdict"] == "pass" and vi["tested"] == vi["sample_size"]
        assert draws[inaccessible_lot]["spares"][0]["meter_id"] in ids_of(vi["counted"])
        passed = [lid for lid, v in verdicts.items() if v["verdict"] == "pass"]
        assert len(passed) == len(lots) - 1
        status, _, err = cli("lots", "verdict", fail_lot, "--db", db_url, "--date", DECIDED_ON)
        assert status == 2 and "already has a verdict" in err

        # ---- the schedule takes the verdicts into account -------------------------------------------------
        status, out, _ = cli("schedule", "--db", db_url, "--as-of", SCHEDULE_ON, "--horizon-months", HORIZON,
                             "--no-sampling", "--json")
        after_plain = {m["meter_id"]: m for m in json.loads(out)["meters"]}
        status, out, _ = cli("schedule", "--db", db_url, "--as-of", SCHEDULE_ON, "--horizon-months", HORIZON,
                             "--json")
        sched = json.loads(out)
        after = {m["meter_id"]: m for m in sched["meters"]}
        row = after[defect_mid]
        # Decided on the schedule's date: due that day (never in service).
        assert (row["state"], row["reason"], row["due_date"]) == (
            "recalibrate_or_replace_due", "defective_in_passed_lot", DECIDED_ON.isoformat())
        assert row["flags"] == ["defective_in_passed_lot"]
        for lid in passed:
            for mid in ids_of(lots[lid]["members"]):
                if mid == defect_mid:
                    continue
                s = start[mid]
                assert (before[mid]["reason"], before[mid]["due_date"]) == (
                    "recalibrate_or_replace_10y", anniversary(s, 10).isoformat())
                if mid in battery:
                    # Kept beyond 10 years: new batteries 1 year before their end of life (MMS 1.3.6), at 11 years.
                    due = ("battery_end_of_life_minus_1y", anniversary(battery[mid], -1).isoformat())
                    assert (after_plain[mid]["reason"], after_plain[mid]["due_date"]) == due
                    assert (after[mid]["reason"], after[mid]["due_date"]) == due
                    continue
                assert (after_plain[mid]["reason"], after_plain[mid]["due_date"]) == (
                    "recalibrate_or_replace_14y", anniversary(s, 14).isoformat())
                assert (after[mid]["reason"], after[mid]["due_date"]) == ("sampling_13y", anniversary(s, 13).isoformat())
                assert after[mid]["lot_id"] == lid and after[mid]["lot_verdict"] == "pass_9y"
        for mid in ids_of(lots[fail_lot]["members"]):
            row = after[mid]
            assert row["state"] in ("recalibrate_or_replace_due", "overdue")
            assert (row["reason"], row["due_date"]) == ("recalibrate_or_replace_10y",
                                                        anniversary(start[mid], 10).isoformat())
            assert row["lot_verdict"] == "fail_9y"
        for rid, back in repaired.items():  # never sampled; their 10 years count from the re-installation
            assert not after[rid]["reason"].startswith("sampling") and after[rid]["clock_start"] == back.isoformat()
            if rid not in battery:
                assert (after[rid]["reason"], after[rid]["due_date"]) == ("recalibrate_or_replace_10y",
                                                                          anniversary(back, 10).isoformat())
        assert any(rid not in battery for rid in repaired)
        for u in unknown:
            assert (after[u]["state"], after[u]["reason"]) == ("overdue", "install_date_unknown")
        # Restricted (MMS 2.2.5): still scheduled, shown by id only, never pooled in a lot.
        assert restricted <= set(after)
        for mid in restricted:
            assert "restricted" in after[mid]["flags"] and after[mid]["serial"] is None
            assert after[mid]["manufacturer"] is None and after[mid]["model"] is None
        # Counts: every meter once; months, overdue and in-service add up to the total; sites to the states.
        totals = sched["totals"]
        assert sched["total"] == len(after) == in_service == sum(totals.values())
        month_sum = sum(sum(c.values()) for c in sched["by_month"].values())
        assert month_sum + totals["overdue"] + totals["in_service"] == in_service
        assert month_sum > 0 and totals["overdue"] > 0 and totals["in_service"] > 0
        for state, n in totals.items():
            assert sum(c[state] for c in sched["by_site"].values()) == n
        for month, counts in sched["by_month"].items():
            due = [m for m in after.values() if m["due_date"] and m["due_date"][:7] == month
                   and m["state"] not in ("overdue", "in_service")]
            assert sum(counts.values()) == len(due)
        # The same list as CSV, with the reason for each meter.
        out_csv = tmp_path / "schedule.csv"
        status, _, _ = cli("schedule", "--db", db_url, "--as-of", SCHEDULE_ON, "--horizon-months", HORIZON,
                           "--csv", out_csv)
        assert status == 0
        with out_csv.open(newline="", encoding="utf-8-sig") as f:
            csv_rows = list(csv.DictReader(f))
        assert {int(r["meter_id"]) for r in csv_rows} == set(after)
        assert all(r["reason"] for r in csv_rows)
        fail_rows = [r for r in csv_rows if r["lot_verdict"] == "fail_9y"]
        assert {int(r["meter_id"]) for r in fail_rows} == set(ids_of(lots[fail_lot]["members"]))
    finally:
        reg.close()
