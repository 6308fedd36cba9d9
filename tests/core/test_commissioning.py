"""Commissioning core: checklist rules, plausibility checks and observation KPIs.

Every expected number is worked out by hand in the comments, or comes from a
published table (Kamstrup's conventional true energy, see test_water_k.py).
"""
import datetime as dt
from pathlib import Path

import pytest

from app.core import commissioning as cm
from app.core.errors import InputError

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mbus-corpus"

# Kamstrup A/S, MULTICAL 302 Technische Beschreibung 5512-1335_F1_DE_12.2016, §14.4:
# conventional true energy for 0.1 m³ at t1 = 70 °C, t2 = 50 °C (EN 1434-1, 16 bar):
# 2272.03 Wh with the flow sensor in the inlet (hot pipe), 2295.86 Wh in the outlet (cold pipe).
KAM_70_50_INLET_KWH = 2.27203
KAM_70_50_OUTLET_KWH = 2.29586


# --------------------------------------------------------------------------- checklist

def all_yes() -> dict:
    """Every item answered yes, with the note the items that ask for one on yes need."""
    answers = {i.key: "yes" for i in cm.CHECKLIST}
    answers.update({i.key: {"answer": "yes", "note": "as found"} for i in cm.CHECKLIST if i.note_on_yes})
    return answers


def test_checklist_items_are_unique_cite_a_clause_and_cover_the_issue():
    keys = [i.key for i in cm.CHECKLIST]
    assert len(keys) == len(set(keys))
    assert all(i.clause and i.text.endswith(".") for i in cm.CHECKLIST)
    for needed in ("sensors_in_marked_pipes", "flow_direction", "straight_lengths", "seals", "display_readable",
                   "mid_marking", "accuracy_class", "no_moving_parts", "no_pulse_output"):
        assert needed in keys
    assert "1.1.11" in cm.CHECKLIST_BY_KEY["no_moving_parts"].clause
    assert "1.1.10" in cm.CHECKLIST_BY_KEY["no_pulse_output"].clause
    assert "1.2.5" in cm.CHECKLIST_BY_KEY["display_readable"].clause
    # the clauses the first record missed: environmental class, minimum static pressure, air and particulates
    assert "1.1.4" in cm.CHECKLIST_BY_KEY["environmental_class"].clause
    assert "1.1.12" in cm.CHECKLIST_BY_KEY["static_pressure"].clause
    assert "1.2.1" in cm.CHECKLIST_BY_KEY["air_and_particulates"].clause
    # they ask for what was found (the classes, the pressures, the straight lengths) on yes
    assert all(cm.CHECKLIST_BY_KEY[k].note_on_yes for k in ("environmental_class", "static_pressure",
                                                             "straight_lengths", "mid_marking"))


def test_missing_required_answers_are_listed_in_order():
    problems = cm.checklist_problems({})
    required = [i.key for i in cm.CHECKLIST if i.required]
    assert [p.key for p in problems] == required
    assert all(p.field == "answer" for p in problems)
    assert "competent_installer" not in [p.key for p in problems]  # optional item


def test_notes_needed_for_no_unusual_na_and_the_mid_year():
    answers = all_yes()
    assert cm.checklist_problems(answers) == []
    answers["seals"] = {"answer": "no", "note": " "}
    answers["accessible"] = "na"
    answers["heat_cooling_registers"] = "na"         # n.a. is normal there: no note needed
    answers["mid_marking"] = "yes"                    # the year is missing
    got = {(p.key, p.field) for p in cm.checklist_problems(answers)}
    assert got == {("seals", "note"), ("accessible", "note"), ("mid_marking", "note")}


def test_bad_answer_is_a_problem():
    answers = all_yes()
    answers["flow_direction"] = "maybe"
    (p,) = cm.checklist_problems(answers)
    assert p.key == "flow_direction" and p.field == "answer" and "maybe" in p.message


def test_nonconformities_and_verdict():
    answers = {i.key: "yes" for i in cm.CHECKLIST}
    ok = cm.CheckResult("x", "x", cm.PASS, "")
    warn = cm.CheckResult("y", "y", cm.WARN, "")
    assert cm.overall_verdict(answers, [ok]) == "conforms"
    assert cm.overall_verdict(answers, [ok, warn.to_dict()]) == "conforms_with_remarks"
    answers["straight_lengths"] = {"answer": "no", "note": "3 DN upstream only"}
    assert cm.nonconformities(answers) == ["straight_lengths"]
    assert cm.overall_verdict(answers, [ok]) == "does_not_conform"


# --------------------------------------------------------------------------- temperatures, Δθ, flow

@pytest.mark.parametrize("tf,tr,kind,status", [
    (70.0, 45.0, "heat", "pass"),
    (45.0, 70.0, "heat", "fail"),      # sensors swapped
    (60.0, 60.0, "heat", "fail"),
    (7.0, 12.0, "cooling", "pass"),    # cooling: the return is the warm pipe
    (12.0, 7.0, "cooling", "fail"),
    (12.0, 7.0, "heat_cooling", "pass"),
    (None, 40.0, "heat", "warn"),
])
def test_temperature_order(tf, tr, kind, status):
    r = cm.check_temperature_order(tf, tr, kind)
    assert r.status == status
    if tf is not None:
        assert f"{tf:.2f}" in r.message and f"{tr:.2f}" in r.message


def test_swapped_sensors_are_named():
    assert "swapped" in cm.check_temperature_order(45.0, 70.0).message


@pytest.mark.parametrize("dtheta,status", [(25.0, "pass"), (3.0, "pass"), (100.0, "pass"), (2.5, "warn"),
                                           (120.0, "fail"), (-25.0, "pass")])
def test_dtheta_range(dtheta, status):
    r = cm.check_dtheta_range(dtheta, 3.0, 100.0)
    assert r.status == status
    assert f"{abs(dtheta):.2f} K" in r.message


def test_dtheta_range_unknown_limits_warn():
    assert cm.check_dtheta_range(20.0, 3.0, None).status == "warn"
    assert "Δθmax" in cm.check_dtheta_range(20.0, 3.0, None).message
    assert cm.check_dtheta_range(None, 3.0, 100.0).status == "warn"


@pytest.mark.parametrize("q,status", [
    (1.2, "pass"),
    (0.015, "pass"),     # qi = qp/ratio = 1.5/100 = 0.015 m³/h: equal is inside
    (0.01, "warn"),      # below qi: low load
    (2.0, "warn"),       # between qp 1.5 and qs 3.0
    (3.0, "warn"),
    (3.5, "fail"),       # above qs
    (0.0, "warn"),       # no flow now
])
def test_flow_range(q, status):
    assert cm.check_flow_range(q, 0.015, 1.5, 3.0).status == status


def test_flow_range_message_has_the_numbers():
    r = cm.check_flow_range(3.5, 0.015, 1.5, 3.0)
    assert "3.500" in r.message and "3.000" in r.message


# --------------------------------------------------------------------------- energy increment, k

def test_k_against_kamstrup_table_both_positions():
    # k = E / (V·Δθ): 2.29586 kWh / (0.1 m³ × 20 K) = 1.147930 kWh/(m³·K) in the outlet.
    k_out = cm.heat_coefficient_kwh_m3k(70, 50, "return")
    k_in = cm.heat_coefficient_kwh_m3k(70, 50, "flow")
    assert k_out == pytest.approx(KAM_70_50_OUTLET_KWH / 2.0, abs=3e-6)
    assert k_in == pytest.approx(KAM_70_50_INLET_KWH / 2.0, abs=3e-6)


def test_k_for_a_cooling_meter_uses_the_cold_flow_pipe():
    # Cooling: flow 50 °C (cold), return 70 °C. A flow sensor in the flow pipe measures
    # the volume at the cold temperature: Kamstrup's "outlet" column.
    assert cm.heat_coefficient_kwh_m3k(50, 70, "flow", "cooling") == pytest.approx(KAM_70_50_OUTLET_KWH / 2, abs=3e-6)
    assert cm.heat_coefficient_kwh_m3k(50, 70, "return", "cooling") == pytest.approx(KAM_70_50_INLET_KWH / 2,
                                                                                    abs=3e-6)


def test_energy_increment_passes_on_the_published_true_energy():
    # Ec at Δθ = 20 K, Δθmin = 3 K: 0.5 + 3/20 = 0.65 %.
    r = cm.check_energy_increment((1000.0, 1000.0 + KAM_70_50_OUTLET_KWH), (50.0, 50.1), t_flow_c=70.0,
                                  t_return_c=50.0, position="return", calculator_mpe_pct=0.65)
    assert r.status == "pass", r.message
    assert abs(r.values["deviation_pct"]) < 0.001
    assert r.values["tolerance_pct"] == pytest.approx(0.65)
    assert r.values["expected_kwh"] == pytest.approx(KAM_70_50_OUTLET_KWH, abs=1e-5)


def test_energy_increment_fails_and_names_the_other_position():
    # The meter counted as if its flow sensor sat in the inlet: (2272.03 − 2295.86) / 2295.86 = −1.0380 %.
    r = cm.check_energy_increment((1000.0, 1000.0 + KAM_70_50_INLET_KWH), (50.0, 50.1), t_flow_c=70.0,
                                  t_return_c=50.0, position="return", calculator_mpe_pct=0.65)
    assert r.status == "fail"
    assert r.values["deviation_pct"] == pytest.approx(-1.0380, abs=0.0005)
    assert abs(r.values["deviation_if_other_position_pct"]) < 0.001
    assert "flow pipe" in r.message and "-1.04 %" in r.message


def test_energy_increment_with_coarse_registers_is_inconclusive():
    # 1 kWh and 0.01 m³ steps over 0.1 m³: 100·(1/2.29586 + 0.01/0.1) = 43.557 + 10 = 53.557 %;
    # tolerance 0.65 + 53.557 = 54.207 %; reading 2 kWh: (2 − 2.29586)/2.29586 = −12.887 %.
    r = cm.check_energy_increment((1000.0, 1002.0), (50.0, 50.1), t_flow_c=70.0, t_return_c=50.0,
                                  position="return", calculator_mpe_pct=0.65, energy_step_kwh=1.0,
                                  volume_step_m3=0.01)
    assert r.status == "warn" and "inconclusive" in r.message
    assert r.values["resolution_pct"] == pytest.approx(53.557, abs=0.001)
    assert r.values["deviation_pct"] == pytest.approx(-12.887, abs=0.001)


def test_energy_increment_spread_of_dtheta_widens_the_tolerance():
    # Δθ between 18 and 22 K: half range 2 K of 20 K = 10 %.
    r = cm.check_energy_increment((0.0, 2.5), (0.0, 0.1), t_flow_c=70.0, t_return_c=50.0, position="return",
                                  calculator_mpe_pct=0.65, dtheta_spread_k=2.0)
    # (2.5 − 2.29586)/2.29586 = +8.892 %, inside 10.65 %
    assert r.status == "pass"
    assert r.values["tolerance_pct"] == pytest.approx(10.65)


@pytest.mark.parametrize("e,v,status", [((10.0, 9.0), (1.0, 1.1), "fail"),   # energy went backwards
                                         ((10.0, 10.0), (1.0, 1.0), "warn"),   # no volume passed
                                         (None, (1.0, 1.1), "warn")])
def test_energy_increment_edge_cases(e, v, status):
    r = cm.check_energy_increment(e, v, t_flow_c=70.0, t_return_c=50.0, position="return", calculator_mpe_pct=0.65)
    assert r.status == status


def test_energy_increment_without_mpe_or_position_is_not_judged():
    r = cm.check_energy_increment((0.0, 2.3), (0.0, 0.1), t_flow_c=70.0, t_return_c=50.0, position="return")
    assert r.status == "warn" and "no MPE" in r.message
    r = cm.check_energy_increment((0.0, 2.3), (0.0, 0.1), t_flow_c=70.0, t_return_c=50.0, position=None,
                                  calculator_mpe_pct=0.65)
    assert r.status == "warn" and "position" in r.message


@pytest.mark.parametrize("raw,step", [
    ("0406E7910000", 1.0),          # VIF 0x06: 10^3 Wh = 1 kWh
    ("0403E7910000", 0.001),        # VIF 0x03: 1 Wh
    ("04142CDB0000", 0.01),         # VIF 0x14: 10^-2 m³
    ("0C1312345678", 0.001),        # VIF 0x13: 1 l
    ("84400600000000", 1.0),        # DIF with a DIFE, then VIF 0x06
    ("040E01000000", 1e6 / 3.6e6),  # VIF 0x0E: 1 MJ = 0.27778 kWh
    ("04FB0D01000000", None),       # extension table: not an energy/volume register
    ("", None),
])
def test_register_step_from_vif(raw, step):
    got = cm.register_step(raw)
    assert got == (None if step is None else pytest.approx(step))


# --------------------------------------------------------------------------- clock, status

LAPTOP = dt.datetime(2026, 3, 1, 10, 0, 0)


@pytest.mark.parametrize("meter,status", [
    ("2026-03-01T10:02:00", "pass"),     # 2 min
    ("2026-03-01T09:55:00", "pass"),     # 5 min exactly
    ("2026-03-01T10:07:00", "warn"),     # 7 min
    ("2026-03-01T11:01:00", "warn"),     # 61 min: summer time?
    ("2026-03-01T12:00:00", "fail"),     # 2 h
    ("2026-01-01T00:00:00", "fail"),
    (None, "warn"),
])
def test_clock(meter, status):
    r = cm.check_clock(meter, LAPTOP)
    assert r.status == status
    if meter == "2026-03-01T11:01:00":
        assert "summer time" in r.message and r.values["difference_s"] == 3660


@pytest.mark.parametrize("status,flags,expected", [
    (0x00, None, "pass"),
    (0x04, None, "fail"),      # power low
    (0x10, None, "fail"),      # temporary error
    (0x20, None, "warn"),      # manufacturer specific only
    (0x00, 3, "fail"),         # error flags record
    (None, None, "warn"),
])
def test_status(status, flags, expected):
    words = ["power_low"] if status == 0x04 else []
    r = cm.check_status(status, words, flags)
    assert r.status == expected
    if status == 0x04:
        assert "power low" in r.message


# --------------------------------------------------------------------------- MPE, readouts, all checks

def test_mpe_at_the_operating_point():
    # class 2, qp 1.5, qi 0.015 (ratio 100), Δθmin 3 K at q = 0.15 m³/h, Δθ = 20 K:
    # Ef = 2 + 0.02·1.5/0.15 = 2.2; Et = 0.5 + 3·3/20 = 0.95; Ec = 0.5 + 3/20 = 0.65; E = 3.8 %.
    rating = cm.MeterRating(mid_class=2, qp_m3h=1.5, qi_m3h=0.015, qs_m3h=3.0, dtheta_min_k=3, dtheta_max_k=100)
    m = cm.operating_point_mpe(rating, 0.15, 20.0)
    assert (m.ef, m.et, m.ec, m.e_total) == pytest.approx((2.2, 0.95, 0.65, 3.8))
    assert cm.operating_point_mpe(rating, 0.0, 20.0) is None
    assert cm.operating_point_mpe(cm.MeterRating(), 0.15, 20.0) is None


def test_readout_values_from_a_real_telegram():
    from drivers.mbus.decoder import decode, parse_hex

    tel = decode(parse_hex((CORPUS / "kamstrup_multical_601.hex").read_text())).to_json()
    v = cm.readout_values([tel], dt.datetime(2026, 3, 1, 10, 0))
    assert v.energy_kwh == pytest.approx(37351.0)   # 0406 E7910000
    assert v.volume_m3 == pytest.approx(561.08)     # 0414 2CDB0000
    assert v.energy_step_kwh == pytest.approx(1.0)
    assert v.volume_step_m3 == pytest.approx(0.01)
    assert v.status == tel["status"]


def _rv(t, e, v, q=1.2, tf=70.0, tr=50.0, **kw):
    return cm.ReadoutValues(read_at=t, energy_kwh=e, volume_m3=v, flow_m3h=q, t_flow_c=tf, t_return_c=tr,
                            meter_time=t.isoformat(), status=0, **kw)


def test_plausibility_runs_every_check_and_uses_both_readouts():
    rating = cm.MeterRating(kind="heat", mid_class=2, qp_m3h=1.5, qi_m3h=0.015, qs_m3h=3.0, dtheta_min_k=3,
                            dtheta_max_k=100, flow_sensor_position="return")
    a = _rv(LAPTOP, 1000.0, 50.0)
    b = _rv(LAPTOP + dt.timedelta(minutes=5), 1000.0 + KAM_70_50_OUTLET_KWH, 50.1)
    res = cm.plausibility(rating, b, first=a, laptop_time=LAPTOP + dt.timedelta(minutes=5))
    assert [r.key for r in res] == ["temperature_order", "dtheta_range", "flow_range", "energy_increment",
                                    "clock", "status"]
    assert all(r.status == "pass" for r in res), [r.message for r in res]
    inc = res[3]
    # Ec at q 1.2, Δθ 20: 0.65 %
    assert inc.values["calculator_mpe_pct"] == pytest.approx(0.65)
    only_one = cm.plausibility(rating, a, laptop_time=LAPTOP)
    assert only_one[3].status == "warn" and "two readouts" in only_one[3].message


def test_plausibility_weights_temperatures_by_flow():
    # samples (q, θf, θr, seconds): (1, 80, 60, 5) and (3, 70, 50, 5): flow-weighted θf = (80 + 210)/4 = 72.5,
    # θr = (60 + 150)/4 = 52.5; Δθ 20 both: spread 0.
    rating = cm.MeterRating(mid_class=2, qp_m3h=1.5, qi_m3h=0.015, dtheta_min_k=3, flow_sensor_position="return")
    a = _rv(LAPTOP, 0.0, 0.0)
    b = _rv(LAPTOP, 2.3, 0.1)
    res = cm.plausibility(rating, b, first=a, samples=[(1.0, 80.0, 60.0, 5.0), (3.0, 70.0, 50.0, 5.0)])
    inc = res[3]
    assert inc.values["t_flow_c"] == pytest.approx(72.5)
    assert inc.values["t_return_c"] == pytest.approx(52.5)
    assert inc.values["spread_pct"] == 0.0


# --------------------------------------------------------------------------- observation window

@pytest.mark.parametrize("duration,interval,n", [(600, 5, 120), (12, 5, 3), (10, 5, 2), (0, 5, 0), (3, 5, 1)])
def test_expected_polls(duration, interval, n):
    assert cm.expected_polls(duration, interval) == n


def test_expected_polls_refuses_bad_interval():
    with pytest.raises(InputError):
        cm.expected_polls(60, 0)


def test_completeness_threshold_is_95_percent():
    c = cm.data_completeness(114, 120)     # 114/120 = 95.0 %
    assert c.pct == pytest.approx(95.0) and c.status == "pass"
    c = cm.data_completeness(113, 120)     # 94.17 %
    assert c.pct == pytest.approx(94.1667, abs=1e-4) and c.status == "fail"
    assert cm.data_completeness(5, 4).pct == 100.0
    assert cm.data_completeness(0, 0).pct is None


def test_vwaft_hand_computed():
    # (70·1 + 60·3) / (1 + 3) = 250 / 4 = 62.5
    assert cm.vwaft([70.0, 60.0], [1.0, 3.0]) == pytest.approx(62.5)
    assert cm.vwaft([70.0, None, 60.0], [1.0, 5.0, 3.0]) == pytest.approx(62.5)
    assert cm.vwaft([70.0], [0.0]) is None
    with pytest.raises(InputError):
        cm.vwaft([70.0], [])


def test_observation_kpis_hand_computed():
    # window 1000..1020 s, polls every 5 s: 4 expected (1000, 1005, 1010, 1015); 1010 missed.
    s = [cm.ObservationSample(1000, 1.0, 70.0, 50.0, energy_kwh=10.0, volume_m3=5.00),
         cm.ObservationSample(1005, 2.0, 60.0, 45.0, energy_kwh=10.0, volume_m3=5.00),
         cm.ObservationSample(1015, 1.0, 80.0, 55.0, energy_kwh=11.0, volume_m3=5.01),
         cm.ObservationSample(1020, 9.0, 99.0, 10.0)]          # at the end: outside [start, end)
    k = cm.observation_kpis(s, start_epoch_s=1000, end_epoch_s=1020, interval_s=5)
    assert k["completeness"] == {"received": 3, "expected": 4, "pct": 75.0, "status": "fail"}
    # VWAFT = (70·1 + 60·2 + 80·1)/4 = 270/4 = 67.5; return (50 + 90 + 55)/4 = 48.75
    assert k["vwaft_c"] == pytest.approx(67.5)
    assert k["vwart_c"] == pytest.approx(48.75)
    assert k["mean_flow_c"] == pytest.approx(70.0)
    # volume by samples: (1 + 2 + 1) m³/h × 5 s / 3600 = 0.0055556 m³
    assert k["volume_by_samples_m3"] == pytest.approx(4 * 5 / 3600)
    assert k["volume_by_register_m3"] == pytest.approx(0.01)
    assert k["energy_by_register_kwh"] == pytest.approx(1.0)


def test_check_result_round_trip():
    r = cm.check_flow_range(1.2, 0.015, 1.5, 3.0)
    assert cm.CheckResult.from_dict(r.to_dict()) == r
    assert cm.worst(["pass", "warn"]) == "warn" and cm.worst(["warn", "fail"]) == "fail" and cm.worst([]) == "pass"
