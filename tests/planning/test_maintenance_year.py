"""A whole maintenance year through the CLI, on SQLite and PostgreSQL: import, schedule, lots formed and
drawn, results typed and from a lab CSV, verdicts, the job list out and back (recalibrations, replacements,
battery changes, no access), the evidence pack, and next year's schedule."""
from __future__ import annotations

import csv
import datetime as dt
import json

from app.core.schedule import anniversary
from tests.helpers.files import csv_dicts, csv_rows
from tests.helpers.trust import as_user

N_PER_SITE = 60


def _register_csv(path):
    spell = [("Kamstrup", "MULTICAL 403"), ("KAMSTRUP", "Multical403"), ("Kamstrup A/S", "MC403")]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["site", "building", "location", "manufacturer", "model", "serial", "install_date", "mid_class",
                    "qp_m3h", "qp_qi_ratio", "dtheta_min_k", "dtheta_max_k", "battery_expiry"])
        for s, site in enumerate(("North", "South")):
            for i in range(N_PER_SITE):
                make, model = spell[i % 3]
                day = dt.date(2016, 3, 1) + dt.timedelta(days=i)
                w.writerow([site, f"Block {i % 4}", f"Flat {i}", make, model, f"{s + 1}{i:04d}", day.isoformat(),
                            2, 1.5, 100, 3, 100, dt.date(2027, 3, 1).isoformat() if i % 10 == 0 else ""])
        w.writerow(["North", "Block 9", "Plant room", "Kamstrup", "MULTICAL 403", "19999", "", 2, 1.5, 100, 3, 100, ""])


def test_a_whole_year(db_url, cli, tmp_path):
    reg_csv = tmp_path / "register.csv"
    _register_csv(reg_csv)
    run = lambda *a: cli(*a, "--db", db_url)  # noqa: E731
    status, _, err = run("meters", "import", reg_csv, *as_user(db_url, "office"))
    assert status == 0, err

    # ---- January: the schedule, then the 9-year lots -----------------------------------------------------
    status, out, err = run("schedule", "--as-of", "2025-01-01", "--json")
    assert status == 0, err
    s = json.loads(out)
    assert s["total"] == 2 * N_PER_SITE + 1 and s["flag_totals"] == {"install_date_unknown": 1}
    status, out, err = run("lots", "form", "--as-of", "2025-01-01", *as_user(db_url, "planner"), "--json")
    assert status == 0, err
    formed = json.loads(out)
    # One lot: both sites, three spellings, installed 2016 (the undated meter listed apart).
    [lot] = formed["lots"]
    assert lot["size"] == 2 * N_PER_SITE and len(lot["merged"]["manufacturer"]) == 3
    assert [a["reason"] for a in formed["apart"]] == ["install_date_unknown"]
    # 120 meters: code F (91-150), normal level II, AQL 4.0: n = 20, Ac 2.
    assert (lot["plan"]["sample_size"], lot["plan"]["acceptance_number"]) == (20, 2)
    lot_id = lot["id"]
    status, out, err = run("lots", "draw", lot_id, "--seed", "20250115", *as_user(db_url, "planner"), "--json")
    assert status == 0, err
    draw = json.loads(out)
    sample = draw["sample"]
    status, out, err = run("lots", "send", lot_id, "--on", "2025-02-01", "--json")
    assert status == 0 and json.loads(out)["sent"] == 20
    status, out, _ = run("schedule", "--as-of", "2025-02-02", "--json")
    at_lab = {m["meter_id"] for m in json.loads(out)["meters"] if "at_lab" in m["flags"]}
    assert at_lab == {m["meter_id"] for m in sample}

    # ---- March: results, typed and from the lab's CSV; one meter defective ---------------------------------
    bad = sample[0]
    status, _, err = run("lots", "record", lot_id, "--meter", bad["manufacturer"], bad["serial"], "--error-pct",
                         "9.5", "--tested-on", "2025-03-01", *as_user(db_url, "planner"))
    assert status == 0, err
    lab = tmp_path / "lab.csv"
    lab.write_text("manufacturer;serial;error_pct;tested_on\n"
                   + "".join(f"{m['manufacturer']};{m['serial']};0,8;2025-03-03\n" for m in sample[1:]),
                   encoding="cp1252")
    status, _, err = run("lots", "record", lot_id, "--file", lab, *as_user(db_url, "planner"))
    assert status == 0, err
    status, out, err = run("lots", "verdict", lot_id, "--date", "2025-03-10", *as_user(db_url, "planner"), "--json")
    assert status == 0, err
    v = json.loads(out)
    assert v["verdict"] == "pass" and v["defectives"] == 1
    assert [m["meter_id"] for m in v["replacement_list"]] == [bad["meter_id"]]

    # ---- June: the job list, filled in by the contractor, read back --------------------------------------------
    jobs_csv = tmp_path / "jobs.csv"
    status, out, err = run("jobs", "export", "--as-of", "2025-06-01", "--horizon-months", "12", "--csv", jobs_csv,
                           "--json")
    assert status == 0, err
    jobs = csv_dicts(jobs_csv)
    by_id = {int(j["meter_id"]): j for j in jobs}
    assert by_id[bad["meter_id"]]["job"] == "replace" and "defective" in by_id[bad["meter_id"]]["flags"]
    battery_ids = [i for i, j in by_id.items() if j["job"] == "battery"]
    undated = [i for i, j in by_id.items() if "install date unknown" in j["flags"]]   # in words, for people
    assert not any("_" in j["flags"] for j in jobs)
    assert len(undated) == 1 and battery_ids
    done = {bad["meter_id"]: {"result": "replaced", "new_serial": "NEW-1", "done_on": "2025-06-10"},
            undated[0]: {"result": "recalibrated", "verdict": "fail", "done_on": "2025-06-11", "lab": "Lab B"},
            battery_ids[0]: {"result": "battery_changed", "battery_expiry": "2037-06-01", "done_on": "2025-06-12"}}
    if len(battery_ids) > 1:
        done[battery_ids[1]] = {"result": "no_access", "done_on": "2025-06-12", "notes": "tenant away"}
    rows = csv_rows(jobs_csv)
    header = rows[0]
    for r in rows[1:]:
        for k, val in done.get(int(r[header.index("meter_id")]), {}).items():
            r[header.index(k)] = val
    with open(jobs_csv, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)
    status, out, err = run("jobs", "import", jobs_csv, *as_user(db_url, "contractor"), "--json")
    assert status == 0, err
    res = json.loads(out)
    assert res["results"] == len(done) and res["counts"]["replaced"] == 1
    status, _, err = run("jobs", "import", jobs_csv, *as_user(db_url, "contractor"))  # twice: refused, nothing changes
    assert status == 2 and "line" in err

    # The undated meter failed its recalibration: replaced in July, by the command.
    status, out, _ = run("meters", "show", "KAM", "19999", "--json")
    assert json.loads(out)["status"] == "in_service"
    status, _, err = run("meters", "replace", "KAM", "19999", "--on", "2025-07-01", "--new-serial", "NEW-2")
    assert status == 0, err

    # ---- the evidence pack of the estate ---------------------------------------------------------------------
    status, out, err = run("report", "evidence", "--estate", "--as-of", "2025-07-15", "--csv", tmp_path / "e28.csv",
                           "--json")
    assert status == 0, err
    counts = json.loads(out)["counts"]
    e28 = {r["serial"]: r for r in csv_dicts(tmp_path / "e28.csv")}
    assert counts["meters"] == 2 * N_PER_SITE + 3 and counts["failed_recalibration"] == 1
    assert e28["19999"]["evidence"].startswith("recalibration FAILED 2025-06-11") and e28["19999"]["status"] == "removed"
    assert e28["19999"]["replaced_by"].startswith("Kamstrup NEW-2")
    assert "found defective" in e28[bad["serial"]]["evidence"]
    assert e28[sample[1]["serial"]]["lot_verdict"] == "pass"

    # ---- next year's schedule -------------------------------------------------------------------------------
    status, out, err = run("schedule", "--as-of", "2026-01-01", "--json")
    assert status == 0, err
    nxt = {m["meter_id"]: m for m in json.loads(out)["meters"]}
    assert bad["meter_id"] not in nxt and not any("failed_recalibration" in m["flags"] for m in nxt.values())
    new1 = next(m for m in nxt.values() if m["serial"] == "NEW-1")
    assert new1["clock_start"] == "2025-06-10" and new1["deadlines"][-1] == {"kind": "replace", "date": "2035-06-10"}
    kept = nxt[sample[1]["meter_id"]]
    start = dt.date.fromisoformat(kept["clock_start"])
    assert kept["lot_verdict"] == "pass_9y" and kept["deadlines"][-2:] == [
        {"kind": "sampling_13y", "date": anniversary(start, 13).isoformat()},
        {"kind": "replace", "date": anniversary(start, 14).isoformat()}]
    changed = nxt[battery_ids[0]]
    assert all(d["kind"] != "battery" for d in changed["deadlines"])  # the new battery outlives the meter's 14 years
    assert not any("at_lab" in m["flags"] for m in nxt.values())
