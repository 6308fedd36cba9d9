"""Sizing (MMS 1.1.7) and battery life (MMS 1.1.8, 1.3.6)."""
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from app.core.battery import read_interval_for_monitoring_point
from app.core.calcjson import run
from app.core.errors import InputError
from app.core.water import heat_coefficient_kj_m3k

CAT = [
    {"qp_m3h": 0.6, "ratio": 100, "dn": 15, "dp_at_qp_bar": 0.02},
    {"qp_m3h": 1.5, "ratio": 100, "dn": 15, "dp_at_qp_bar": 0.09},
    {"qp_m3h": 1.5, "ratio": 250, "dn": 20, "dp_at_qp_bar": 0.07},
    {"qp_m3h": 2.5, "ratio": 100, "dn": 20, "dp_at_qp_bar": 0.09},
    {"qp_m3h": 6, "ratio": 100, "dn": 25, "dp_at_qp_bar": 0.2},
]


def size(**kw):
    base = {"application": "heating", "design_power_kw": 40, "flow_temp_c": 70, "return_temp_c": 40,
            "min_power_kw": 2, "meter_position": "return", "catalogue": CAT}
    base.update(kw)
    return run("sizing", base)


def test_flow_uses_iapws_k():
    r = size()
    k = heat_coefficient_kj_m3k(70, 40, "return")
    assert r["q_max_m3h"] == pytest.approx(40 * 3600 / (k * 30))
    assert r["q_min_m3h"] == pytest.approx(2 * 3600 / (k * 30))
    assert r["turndown_needed"] == pytest.approx(20)
    # ~1.16 m³/h: 0.6 too small, 1.5/100 covers both flows.
    assert r["chosen"] == {"qp_m3h": 1.5, "ratio": 100, "qi_m3h": 0.015, "dn": 15}
    assert r["rejected_smaller"] == [{"qp_m3h": 0.6, "ratio": 100, "reasons": ["q_max_above_qp"], "families": []}]


def test_min_flow_and_pressure_loss_and_reducer():
    # q_min ≈ 0.0116 m³/h < qi of 1.5/100 (0.015): the 1:250 meter is chosen.
    r = size(min_power_kw=0.4, pipe_dn=32, max_dp_bar=0.06)
    assert r["chosen"]["ratio"] == 250 and r["chosen"]["dn"] == 20
    assert r["dp_at_q_max_bar"] == pytest.approx(0.07 * (r["q_max_m3h"] / 1.5) ** 2)
    assert r["needs_reducer"] is True
    assert r["rejected_smaller"][1]["reasons"] == ["q_min_below_qi"]


def test_nothing_fits():
    r = size(design_power_kw=400)
    assert r["chosen"] is None and r["reasons"] == ["q_max_above_largest_qp"] and r["fallback_qp_m3h"] is None
    r = size(min_power_kw=0.05)
    assert r["chosen"] is None and r["reasons"] == ["no_meter_covers_q_min_and_q_max"]
    assert r["fallback_qp_m3h"] == 1.5


def test_cooling_and_flow_position():
    r = size(application="cooling", flow_temp_c=6, return_temp_c=12, meter_position="flow", design_power_kw=10, min_power_kw=1)
    k = heat_coefficient_kj_m3k(12, 6, "return")  # volume measured in the cold (flow) pipe
    assert r["q_max_m3h"] == pytest.approx(10 * 3600 / (k * 6))


def test_builtin_catalogue_has_no_moving_parts_by_default():
    base = {"application": "heating", "design_power_kw": 10, "flow_temp_c": 70, "return_temp_c": 40,
            "min_power_kw": 1, "meter_position": "return"}
    r = run("sizing", base)
    assert r["catalogue_source"] == "builtin" and r["chosen"] is not None
    assert "mechanical" not in r["chosen_family"]["family"].lower()


@pytest.mark.parametrize("kw,key", [
    ({"catalogue": []}, "catalogue"), ({"design_power_kw": -5}, "design_power_kw"),
    ({"return_temp_c": 80}, "return_temp_c"), ({"meter_position": "middle"}, "meter_position"),
    ({"catalogue": [{"qp_m3h": 1.5, "ratio": 5, "dn": 15}]}, "catalogue[0].ratio"),
])
def test_bad_sizing_input(kw, key):
    with pytest.raises(InputError) as exc:
        size(**kw)
    assert exc.value.key == key


@settings(max_examples=40, deadline=None)
@given(p=st.floats(min_value=1, max_value=300), turndown=st.floats(min_value=1, max_value=400))
def test_sizing_picks_the_smallest_qp_covering_both_flows(p, turndown):
    r = size(design_power_kw=p, min_power_kw=p / turndown)
    qmax, qmin = r["q_max_m3h"], r["q_min_m3h"]
    covering = sorted((e["qp_m3h"], e["ratio"]) for e in CAT if qmax <= e["qp_m3h"] and qmin >= e["qp_m3h"] / e["ratio"])
    if covering:
        assert (r["chosen"]["qp_m3h"], r["chosen"]["ratio"]) == covering[0]
    else:
        assert r["chosen"] is None


# ------------------------------------------------------------------ battery

def bat(**kw):
    base = {"capacity_mah": 19000, "standby_current_ua": 10, "mbus_charge_per_readout_mas": 3,
            "read_interval_min": 30, "derating_factor": 1.0, "self_discharge_pct_per_year": 0}
    base.update(kw)
    return run("battery", base)


def test_battery_hand_computed():
    # 30-min reads: 17532 readouts/year × 3 mAs = 52596 mAs/yr = 1.6667 µA; total 11.6667 µA.
    r = bat()
    assert r["readouts_per_year"] == pytest.approx(17532)
    assert r["average_current_ua"] == pytest.approx(10 + 52596 / (8766 * 3600) * 1000)
    life = 19000 / (r["average_current_ua"] / 1000 * 8766)
    assert r["expected_life_years"] == pytest.approx(life)
    assert r["pass"] is True


def test_battery_derating_self_discharge_and_dates():
    r = bat(derating_factor=0.8, self_discharge_pct_per_year=1.0, battery_date="2020-01-01", capacity_mah=1200)
    life = 1200 * 0.8 / (r["average_current_ua"] / 1000 * 8766 + 12)
    assert r["expected_life_years"] == pytest.approx(life)
    assert r["pass"] is False  # about 8.4 years
    assert date.fromisoformat(r["battery_replacement_date"]) < date.fromisoformat(r["expected_failure_date"])
    gap = date.fromisoformat(r["expected_failure_date"]) - date.fromisoformat(r["battery_replacement_date"])
    assert abs(gap.days - 365) <= 1


def test_monitoring_point_read_interval_from_annex_a():
    assert read_interval_for_monitoring_point("SS1") == ("SS1", 5)
    assert read_interval_for_monitoring_point("cc1-flat-12") == ("CC1", 30)
    r = bat(read_interval_min=None, monitoring_point="EC2")
    assert r["read_interval_min"] == 5 and r["read_interval_basis"] == "mms_annex_a:EC2"
    r = bat(read_interval_min=60, monitoring_point="DD1")
    assert r["meets_read_frequency"] is False
    with pytest.raises(InputError) as exc:
        bat(monitoring_point="XX9", read_interval_min=None)
    assert exc.value.key == "monitoring_point"


def test_more_frequent_reads_shorten_life():
    assert bat(read_interval_min=5)["expected_life_years"] < bat(read_interval_min=30)["expected_life_years"]


@pytest.mark.parametrize("ratio,text", [(7.44, "1:7.4"), (7.46, "1:7.5"), (20.0, "1:20"), (19.98, "1:20"),
                                        (25.37, "1:25.4"), (99.97, "1:100"), (250.4, "1:250")])
def test_turndown_as_people_write_it(ratio, text):
    from app.core.sizing import turndown_text

    assert turndown_text(ratio) == text


def test_rejected_ranges_once_with_their_families():
    from app.core.sizing import CatalogueEntry, select_meter

    cat = [CatalogueEntry(0.6, 100, 15, 0.02, "Kamstrup", "MULTICAL 302"),
           CatalogueEntry(0.6, 100, 20, 0.02, "Kamstrup", "MULTICAL 302"),    # same range, other pipe size
           CatalogueEntry(0.6, 100, 15, 0.03, "Diehl Metering", "SHARKY 775"),
           CatalogueEntry(1.5, 100, 15, 0.09, "Kamstrup", "MULTICAL 302")]
    r = select_meter(1.0, 0.1, cat).as_dict(max_dp_given=False, pipe_dn_given=False)
    assert r["rejected_smaller"] == [{"qp_m3h": 0.6, "ratio": 100, "reasons": ["q_max_above_qp"],
                                      "families": ["Kamstrup MULTICAL 302", "Diehl Metering SHARKY 775"]}]
    assert r["chosen"]["qp_m3h"] == 1.5
