"""MPE (EN 1434-1 / MID) and calibration verdicts, with hand-computed points."""
import pytest
from hypothesis import given, settings, strategies as st

from app.core.calcjson import run
from app.core.errors import InputError


def mpe(**kw):
    base = {"class": 2, "qp_m3h": 1.5, "ratio": 100, "q_m3h": 1.5, "dtheta_k": 30, "dtheta_min_k": 3, "dtheta_max_k": 70}
    base.update(kw)
    return run("mpe", base)


def test_class2_at_qp_and_large_dtheta():
    # Ef = 2 + 0.02·1.5/1.5 = 2.02; Et = 0.5 + 3·3/30 = 0.8; Ec = 0.5 + 3/30 = 0.6
    r = mpe()
    assert r["ef"] == pytest.approx(2.02)
    assert r["et"] == pytest.approx(0.8)
    assert r["ec"] == pytest.approx(0.6)
    assert r["e_total"] == pytest.approx(3.42)
    assert r["in_service_total"] == pytest.approx(6.84)
    assert r["in_rated_range"] is True and r["violations"] == []
    assert "note_dtheta_min_not_mid" not in r


def test_class2_cap_reached_exactly_is_not_capped():
    # q = qp/150: 2 + 0.02·150 = 5.0 = cap: equal, not above.
    r = mpe(q_m3h=0.01)
    assert r["ef"] == pytest.approx(5.0) and r["ef_capped"] is False


def test_class2_cap_applied_below_qi():
    # q = qi/2 = 0.0075: raw 2 + 0.02·200 = 6.0 → capped at 5.
    r = mpe(q_m3h=0.0075)
    assert r["ef_uncapped"] == pytest.approx(6.0)
    assert r["ef"] == 5.0 and r["ef_capped"] is True
    assert r["violations"] == ["q_below_qi"] and r["in_rated_range"] is False


def test_class1_cap_and_class3_cap():
    # class 1: 1 + 0.01·qp/q, cap 3.5: at qp/300 → 4.0 → 3.5
    r = mpe(**{"class": 1, "q_m3h": 0.005})
    assert r["ef_uncapped"] == pytest.approx(4.0) and r["ef"] == 3.5 and r["ef_capped"]
    # class 3: 3 + 0.05·qp/q, cap 5: at qp/50 → 5.5 → 5; at qp/40 → 5.0 not capped
    r = mpe(**{"class": 3, "q_m3h": 0.03})
    assert r["ef_uncapped"] == pytest.approx(5.5) and r["ef"] == 5.0
    r = mpe(**{"class": 3, "q_m3h": 0.0375})
    assert r["ef"] == pytest.approx(5.0) and r["ef_capped"] is False


def test_at_dtheta_min_temperature_pair_and_calculator():
    # Δθ = Δθmin: Et = 3.5, Ec = 1.5
    r = mpe(dtheta_k=3)
    assert r["et"] == pytest.approx(3.5) and r["ec"] == pytest.approx(1.5)


def test_out_of_range_flags_but_computes():
    r = mpe(dtheta_k=2, q_m3h=4.0, qs_m3h=3.0)
    assert r["violations"] == ["q_above_qs", "dtheta_below_dtheta_min"]
    assert r["et"] == pytest.approx(0.5 + 4.5)
    r = mpe(dtheta_k=80)
    assert r["violations"] == ["dtheta_above_dtheta_max"]


def test_qi_instead_of_ratio_and_non_mid_dtheta_min():
    r = mpe(ratio=None, qi_m3h=0.015, dtheta_min_k=4, dtheta_k=4)
    assert r["note_dtheta_min_not_mid"] is True
    assert r["ef"] == pytest.approx(2.02)


@pytest.mark.parametrize("change,key", [
    ({"q_m3h": -1}, "q_m3h"), ({"dtheta_min_k": 0}, "dtheta_min_k"), ({"ratio": 5}, "ratio"),
    ({"class": 4}, "class"), ({"qp_m3h": None}, "qp_m3h"), ({"dtheta_k": None}, "dtheta_k"),
])
def test_bad_mpe_input_names_the_key(change, key):
    with pytest.raises(InputError) as exc:
        mpe(**change)
    assert exc.value.key == key


flows = st.floats(min_value=0.001, max_value=100, allow_nan=False)
dthetas = st.floats(min_value=0.5, max_value=150, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(cls=st.sampled_from([1, 2, 3]), q1=flows, q2=flows, dt=dthetas)
def test_mpe_never_increases_with_flow(cls, q1, q2, dt):
    lo, hi = sorted((q1, q2))
    a = mpe(**{"class": cls, "q_m3h": lo, "dtheta_k": dt})
    b = mpe(**{"class": cls, "q_m3h": hi, "dtheta_k": dt})
    assert b["e_total"] <= a["e_total"] + 1e-12


@settings(max_examples=60, deadline=None)
@given(d1=dthetas, d2=dthetas, q=flows)
def test_mpe_never_increases_with_dtheta(d1, d2, q):
    lo, hi = sorted((d1, d2))
    a = mpe(q_m3h=q, dtheta_k=lo)
    b = mpe(q_m3h=q, dtheta_k=hi)
    assert b["e_total"] <= a["e_total"] + 1e-12
    assert b["et"] <= a["et"] + 1e-12 and b["ec"] <= a["ec"] + 1e-12


# ------------------------------------------------------------------ calibration

def calib(sub, points, **kw):
    base = {"subassembly": sub, "class": 2, "qp_m3h": 1.5, "ratio": 100, "dtheta_min_k": 3, "dtheta_max_k": 70, "points": points}
    base.update(kw)
    return run("calibration", base)


def test_flow_sensor_points_and_intervals():
    r = calib("flow_sensor", [
        {"error_pct": 3.9, "q_m3h": 0.016, "interval": "I1"},   # MPE 2 + 0.02·1.5/0.016 = 3.875 → fails initial
        {"error_pct": -2.1, "q_m3h": 0.16, "interval": "I2"},   # 2.1875
        {"error_pct": 2.0, "q_m3h": 1.5, "interval": "I3"},     # 2.02
    ])
    p = r["points"]
    assert p[0]["mpe_initial_pct"] == pytest.approx(3.875)
    assert p[0]["mpe_in_service_pct"] == pytest.approx(7.75)
    assert p[0]["pass_initial"] is False and p[0]["pass_in_service"] is True
    assert p[1]["pass_initial"] is True and p[2]["pass_initial"] is True
    assert all(x["in_interval"] for x in p)
    assert r["initial_verdict"] == "fail" and r["in_service_verdict"] == "pass"
    assert r["coverage"] == "complete" and r["missing_intervals"] == []


def test_equality_passes_and_interval_outside_is_flagged():
    # q = qp: MPE 2.02; error exactly 2.02 passes.
    r = calib("flow_sensor", [{"error_pct": -2.02, "q_m3h": 1.5, "interval": "I2"}])
    assert r["points"][0]["pass_initial"] is True
    assert r["points"][0]["in_interval"] is False
    assert r["coverage"] == "incomplete" and r["missing_intervals"] == ["I1", "I2"]


def test_guard_band():
    # MPE 2.02 at qp; U = 0.5 > 2.02/5 → acceptance 1.52; in service stays 4.04.
    r = calib("flow_sensor", [{"error_pct": 1.6, "q_m3h": 1.5}], apply_guard_band=True, test_uncertainty_pct=0.5)
    p = r["points"][0]
    assert p["acceptance_initial_pct"] == pytest.approx(1.52)
    assert p["acceptance_in_service_pct"] == pytest.approx(4.04)
    assert p["pass_initial"] is False and p["pass_in_service"] is True
    # U = 0.4 ≤ 2.02/5 = 0.404: no guard band.
    r = calib("flow_sensor", [{"error_pct": 1.6, "q_m3h": 1.5}], apply_guard_band=True, test_uncertainty_pct=0.4)
    assert r["points"][0]["acceptance_initial_pct"] == pytest.approx(2.02)


def test_complete_meter_intervals_and_mpe():
    r = calib("complete_meter", [
        {"error_pct": 1.0, "q_m3h": 1.4, "dtheta_k": 3.5, "interval": "C1"},
        {"error_pct": 1.0, "q_m3h": 0.16, "dtheta_k": 15, "interval": "C2"},
        {"error_pct": 1.0, "q_m3h": 0.0155, "dtheta_k": 68, "interval": "C3"},
    ])
    assert all(p["in_interval"] for p in r["points"])
    # C1: Ef = 2 + 0.02·1.5/1.4, Et = 0.5 + 9/3.5, Ec = 0.5 + 3/3.5
    exp = 2 + 0.03 / 1.4 + 0.5 + 9 / 3.5 + 0.5 + 3 / 3.5
    assert r["points"][0]["mpe_initial_pct"] == pytest.approx(exp)
    assert r["coverage"] == "complete"


def test_calculator_needs_dtheta_and_interval_names():
    r = calib("calculator", [{"error_pct": 0.6, "dtheta_k": 10, "interval": "D2"}])
    assert r["points"][0]["mpe_initial_pct"] == pytest.approx(0.8)
    assert r["missing_intervals"] == ["D1", "D3"]
    with pytest.raises(InputError) as exc:
        calib("calculator", [{"error_pct": 0.6, "dtheta_k": 10, "interval": "I1"}])
    assert exc.value.key == "points[0].interval"


def test_flow_point_without_q_names_the_key():
    with pytest.raises(InputError) as exc:
        calib("flow_sensor", [{"error_pct": 0.5, "q_m3h": 1.0}, {"error_pct": 0.5}])
    assert exc.value.key == "points[1].q_m3h"
