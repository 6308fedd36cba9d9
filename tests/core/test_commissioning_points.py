"""Commissioning completeness: Annex A data items, VWAFT at SS2, approach temperature, the finest energy
register and how long to observe for a conclusive energy-increment check.

Numbers are worked out by hand in the comments; k comes from Kamstrup's published conventional true
energy (see test_commissioning.py).
"""
import datetime as dt

import pytest

from app.core import commissioning as cm

T0 = dt.datetime(2026, 3, 15, 10, 0)
# 0.1 m3 at 70/50 °C, flow sensor in the return (cold) pipe: 2295.86 Wh (Kamstrup 5512-1335, §14.4)
KAM_70_50_OUTLET_KWH = 2.29586


def values(**kw) -> cm.ReadoutValues:
    base = dict(read_at=T0, energy_kwh=100.0, volume_m3=10.0, flow_m3h=1.2, t_flow_c=70.0, t_return_c=50.0,
                power_kw=27.6, status=0)
    base.update(kw)
    return cm.ReadoutValues(**base)


# --------------------------------------------------------------------------- Annex A data items

def test_ss1_needs_seven_data_items_and_five_minute_reads():
    r = cm.check_data_items("SS1", values(), read_interval_min=5, poll_interval_s=5.0, completeness_status="pass")
    assert r.status == "pass" and set(r.values["required"]) == {"energy", "power", "flow", "t_flow", "t_return",
                                                                "volume", "error_codes"}
    assert "every 5 min" in r.message and "table A.3" in r.message
    r = cm.check_data_items("ss1", values(power_kw=None), read_interval_min=5)
    assert r.status == "fail" and r.values["missing"] == ["power"] and "instantaneous power" in r.message
    r = cm.check_data_items("SS1", values(status=None, error_flags=None))       # no status byte, no error flags
    assert r.status == "fail" and r.values["missing"] == ["error_codes"]
    r = cm.check_data_items("SS1", values(status=None, error_flags=0))          # an error-flags register will do
    assert r.status == "pass"
    # polled every 10 minutes: the 5-minute reads were not shown
    r = cm.check_data_items("SS1", values(), read_interval_min=5, poll_interval_s=600.0, completeness_status="pass")
    assert r.status == "warn" and r.values["frequency_shown"] is False


def test_points_without_a_heat_meter_or_unknown_ones():
    assert cm.check_data_items("SS4", values(energy_kwh=None)).status == "pass"        # a water meter: volume
    assert cm.check_data_items("SS4", values(volume_m3=None)).status == "fail"
    assert cm.check_data_items("SS5", values()).status == "warn"                       # a pressure point
    assert cm.check_data_items(None, values()).status == "warn"
    assert cm.check_data_items("CC1", None).status == "warn"


# --------------------------------------------------------------------------- SS-KPI-09A, SS-KPI-12

@pytest.mark.parametrize("vwaft, status", [(72.5, "pass"), (67.0, "pass"), (73.1, "fail"), (66.8, "fail")])
def test_vwaft_within_three_kelvin_of_the_design_flow_temperature_at_ss2(vwaft, status):
    r = cm.check_vwaft_setpoint("SS2", vwaft, 70.0)
    assert r.status == status and r.values["difference_k"] == pytest.approx(vwaft - 70.0)


def test_vwaft_setpoint_applies_at_ss2_only_and_needs_the_design_value():
    assert cm.check_vwaft_setpoint("SS1", 70.0, 70.0) is None
    assert cm.check_vwaft_setpoint("SS2", 70.0, None).status == "warn"
    assert cm.check_vwaft_setpoint("SS2", None, 70.0).status == "warn"


@pytest.mark.parametrize("ss1, ss2, approach, status", [
    (45.0, 42.0, 3.0, "pass"),       # primary return 3 K above the secondary return
    (47.0, 42.0, 5.0, "pass"),       # the threshold itself
    (49.0, 42.0, 7.0, "fail"),
    (40.0, 42.0, -2.0, "warn"),      # primary return colder: sensors or points swapped
])
def test_approach_temperature(ss1, ss2, approach, status):
    r = cm.check_approach(ss1, ss2, other="SS1 record 4", hours_apart=0.5)
    assert r.status == status and r.values["approach_k"] == pytest.approx(approach)
    assert "indicative" not in r.message
    assert "indicative" in cm.check_approach(ss1, ss2, hours_apart=30).message
    assert cm.check_approach(None, 42.0).status == "warn"


# --------------------------------------------------------------------------- registers and observation time

def rec(quantity, value, unit, raw="", **kw):
    return {"quantity": quantity, "value": value, "unit": unit, "storage": 0, "tariff": 0, "subunit": 0,
            "function": "instantaneous", "raw": raw, **kw}


def test_the_finest_energy_register_is_read():
    # EN 13757-3: VIF 0x06 = 10^(6-3) Wh = 1 kWh steps; VIF 0x03 = 10^0 Wh = 0.001 kWh steps
    tel = {"records": [rec("energy", 15234000, "Wh", "04060000"), rec("energy", 15234567, "Wh", "04030000"),
                       rec("volume", 412.7, "m3", "04130000"), rec("volume", 412.71, "m3", "04150000")]}
    v = cm.readout_values([tel], T0)
    assert v.energy_kwh == pytest.approx(15234.567) and v.energy_step_kwh == pytest.approx(0.001)
    # VIF 0x13 = 10^-3 m3, 0x15 = 10^-1 m3: the litre register is the finer one
    assert v.volume_m3 == pytest.approx(412.7) and v.volume_step_m3 == pytest.approx(0.001)
    assert v.energy_registers == 2 and "0.001 kWh" in v.energy_register


def test_optical_registers_have_the_step_of_their_digits():
    # EN 62056-21: 0028.839 GJ has 0.001 GJ = 1 MJ steps = 1/3.6 kWh; KMP 412.70 m3: 0.01 m3
    uh50 = {"records": [rec("energy", 28839000000, "J", register="6.8", text="6.8(0028.839*GJ)")]}
    kmp = {"records": [rec("volume", 412.7, "m3", register="KMP 68 (V1 volume)", text="68: 412.70 [unit 0x28]"),
                       rec("energy", 15234000, "Wh", register="KMP 60 (E1 heat energy)", text="60: 15234 [unit 0x02]")]}
    assert cm.readout_values([uh50], T0).energy_step_kwh == pytest.approx(1 / 3.6)
    v = cm.readout_values([kmp], T0)
    assert (v.volume_step_m3, v.energy_step_kwh, v.energy_kwh) == (pytest.approx(0.01), pytest.approx(1.0), 15234.0)


def test_how_long_to_observe_from_resolution_and_power():
    # 1 kWh at 30 kW plus 0.01 m3 at 1.2 m3/h: 1/30 + 0.01/1.2 = 0.0416667 h; x 100 / 0.6 % = 6.9444 h = 25000 s
    t = cm.conclusive_after_s(energy_step_kwh=1.0, volume_step_m3=0.01, power_kw=30.0, flow_m3h=1.2, mpe_pct=0.6)
    assert t == pytest.approx(25000.0)
    assert cm.human_duration(t) == "6 h 57 min"
    assert cm.conclusive_after_s(energy_step_kwh=1.0, volume_step_m3=None, power_kw=0.0, flow_m3h=1.2,
                                 mpe_pct=0.6) is None                      # no power: never conclusive
    # the check says it before the second readout
    r = cm.check_energy_increment(None, None, t_flow_c=None, t_return_c=None, position=None, calculator_mpe_pct=0.6,
                                  energy_step_kwh=1.0, volume_step_m3=0.01, power_kw=30.0, flow_m3h=1.2)
    assert r.status == "warn" and "observe at least 6 h 57 min" in r.message


def test_an_inconclusive_increment_says_how_long_in_all():
    # dV = 0.04 m3 at 70/50 °C, return pipe: expected = 0.4 x 2.29586 = 0.918344 kWh; dE = 1 kWh (one step)
    # resolution = 100 (1/0.918344 + 0.01/0.04) = 133.892 %; Ec 0.65 %; ten minutes so far:
    # conclusive after 600 s x 133.892 / 0.65 = 123592 s (34 h 20 min)
    r = cm.check_energy_increment((100.0, 101.0), (10.0, 10.04), t_flow_c=70.0, t_return_c=50.0, position="return",
                                  calculator_mpe_pct=0.65, energy_step_kwh=1.0, volume_step_m3=0.01, duration_s=600.0)
    assert r.status == "warn"
    assert r.values["conclusive_after_s"] == pytest.approx(123592, rel=2e-4)
    assert "observe at least 34 h 20 min in all (so far 10 min)" in r.message
    # with the power and flow now it comes from the steps: 1 kWh at 5.5 kW + 0.01 m3 at 0.24 m3/h
    # = 0.181818 + 0.041667 = 0.223485 h; x 100 / 0.65 % = 34.382 h = 123775 s
    r = cm.check_energy_increment((100.0, 101.0), (10.0, 10.04), t_flow_c=70.0, t_return_c=50.0, position="return",
                                  calculator_mpe_pct=0.65, energy_step_kwh=1.0, volume_step_m3=0.01, duration_s=0.0,
                                  power_kw=5.5, flow_m3h=0.24)
    assert r.values["conclusive_after_s"] == pytest.approx(123775, rel=1e-4)
    assert "observe at least 34 h 23 min in all for a conclusive result" in r.message
