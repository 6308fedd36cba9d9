"""The calc and sample-plan commands: JSON on stdout, one-line errors, exit 2."""
import json
import subprocess
import sys

import pytest


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "app", *args], input=stdin, capture_output=True, text=True)


def one_line_error(p, key):
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith("heatmeter: ") and key in p.stderr
    assert p.stdout == ""


def test_sample_plan_json_exact_object():
    p = run("sample-plan", "--lot-size", "1200", "--json")
    assert p.returncode == 0
    assert json.loads(p.stdout) == {"lot_size": 1200, "level": "II", "aql": 4.0, "inspection": "normal",
                                    "code_letter": "J", "plan_letter": "J", "sample_size": 80,
                                    "acceptance_number": 7, "rejection_number": 8, "sampling_fraction": 0.0667}


def test_sample_plan_oc_and_human():
    p = run("sample-plan", "--lot-size", "300", "--oc", "--oc-points", "5", "--json")
    out = json.loads(p.stdout)
    assert len(out["oc_curve"]) == 5 and {"p", "pa_binomial", "pa_hypergeometric"} <= set(out["oc_curve"][0])
    p = run("sample-plan", "--lot-size", "3")
    assert p.returncode == 0 and "inspect all 3" in p.stdout
    p = run("sample-plan", "--lot-size", "5")
    assert p.returncode == 0 and "sample 3 meters" in p.stdout and "plan B" in p.stdout


def test_sample_plan_bad_arguments():
    one_line_error(run("sample-plan", "--lot-size", "0", "--json"), "lot-size")
    one_line_error(run("sample-plan", "--lot-size", "100", "--aql", "3.0", "--json"), "aql")
    one_line_error(run("sample-plan", "--lot-size", "100", "--level", "IV", "--json"), "level")
    one_line_error(run("sample-plan", "--lot-size", "x", "--json"), "lot-size")


def test_calc_bad_inputs_name_the_key():
    flow_point = {"subassembly": "flow_sensor", "class": 2, "qp_m3h": 1.5, "ratio": 100, "points": [{"error_pct": 1.0}]}
    one_line_error(run("calc", "calibration", "--input", "-", "--json", stdin=json.dumps(flow_point)), "points[0].q_m3h")
    sizing = {"application": "heating", "design_power_kw": 10, "flow_temp_c": 70, "return_temp_c": 40,
              "min_power_kw": 1, "meter_position": "return", "catalogue": []}
    one_line_error(run("calc", "sizing", "--input", "-", "--json", stdin=json.dumps(sizing)), "catalogue")
    mpe = {"class": 2, "qp_m3h": 1.5, "ratio": 100, "q_m3h": -1, "dtheta_k": 10, "dtheta_min_k": 3}
    one_line_error(run("calc", "mpe", "--input", "-", "--json", stdin=json.dumps(mpe)), "q_m3h")
    mpe.update(q_m3h=1, dtheta_min_k=0)
    one_line_error(run("calc", "mpe", "--input", "-", "--json", stdin=json.dumps(mpe)), "dtheta_min_k")
    mpe.update(dtheta_min_k=3, ratio=8)
    one_line_error(run("calc", "mpe", "--input", "-", "--json", stdin=json.dumps(mpe)), "ratio")
    del mpe["class"]
    one_line_error(run("calc", "mpe", "--input", "-", "--json", stdin=json.dumps(mpe)), "class")
    one_line_error(run("calc", "mpe", "--input", "-", stdin="{not json"), "not valid JSON")
    one_line_error(run("calc", "battery", "--input", "/no/such/file.json"), "cannot open")


def test_calc_json_and_human_output(tmp_path):
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"hot_c": 70, "cold_c": 50, "position": "flow"}))
    p = run("calc", "heat-coefficient", "--input", str(f), "--json")
    assert p.returncode == 0 and set(json.loads(p.stdout)) == {"k_kj_m3k", "k_kwh_m3k", "energy_wh_per_0_1m3"}
    p = run("calc", "heat-coefficient", "--input", str(f))
    assert p.returncode == 0 and "kJ/(m³·K)" in p.stdout
    bat = {"capacity_mah": 19000, "standby_current_ua": 8, "mbus_charge_per_readout_mas": 2,
           "monitoring_point": "CC1", "install_date": "2024-05-01"}
    p = run("calc", "battery", "--input", "-", stdin=json.dumps(bat))
    assert p.returncode == 0 and "replace battery by" in p.stdout


def test_help_texts_render():
    for args in (("calc", "--help"), ("calc", "resolution", "--help"), ("sample-plan", "--help")):
        p = run(*args)
        assert p.returncode == 0 and "Traceback" not in p.stderr, args
    p = run("calc")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_sizing_human_names_families_once_and_rounds_turndown(tmp_path):
    import csv

    import resources

    # 40 kW design, 5.375 kW minimum, same temperatures: turndown = 40 / 5.375 = 7.4419 -> "1:7.4";
    # q max = 40 kW * 3600 / (k * 30 K) ~ 1.16 m³/h, above every qp 0.6 meter, which is rejected.
    f = tmp_path / "sizing.json"
    f.write_text(json.dumps({"application": "heating", "design_power_kw": 40, "flow_temp_c": 70, "return_temp_c": 40,
                             "min_power_kw": 5.375, "meter_position": "return"}))
    p = run("calc", "sizing", "-i", str(f))
    assert p.returncode == 0, p.stderr
    assert "turndown needed 1:7.4\n" in p.stdout.splitlines()[0] + "\n"
    rejected = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("rejected qp 0.6 ")]
    assert len(rejected) == 1                     # one line for the range, not one per catalogue row
    with open(resources.path("meter_catalogue.csv"), newline="", encoding="utf-8") as fh:
        families = {f"{r['manufacturer']} {r['family']}" for r in csv.DictReader(fh)
                    if float(r["qp_m3h"]) == 0.6 and not r["technology"].startswith("mechanical")}
    assert families and all(fam in rejected[0] for fam in families)
    out = json.loads(run("calc", "sizing", "-i", str(f), "--json").stdout)
    assert [(e["qp_m3h"], e["ratio"]) for e in out["rejected_smaller"]] == [(0.6, 100)]
    assert set(out["rejected_smaller"][0]["families"]) == families


def test_json_floats_carry_no_binary_noise():
    from app.core.numbers import tidy_floats

    assert 3.32 + 3.3200000000000003 != 6.64                     # what the arithmetic gives ...
    assert tidy_floats({"limit_pct": 3.32 + 3.3200000000000003}) == {"limit_pct": 6.64}   # ... and what is printed
    assert tidy_floats([0.1 * 3, 1 / 3, 12345.678901, 7, None]) == [0.3, 0.333333333333333, 12345.678901, 7, None]
    assert tidy_floats((500 / 1.04 ** 15,)) == [pytest.approx(500 / 1.04 ** 15, rel=1e-14)]   # no digit that means anything lost
