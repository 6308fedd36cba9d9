"""Pieces of the planning round that need no register: battery dates, limits at equality, eligibility."""
from __future__ import annotations

from datetime import date

import pytest

from app.core.lots import MeterInfo
from app.core.metrology import CalibrationPoint, MeterSpec, evaluate_calibration
from app.core.schedule import LotOutcome, compute_schedule
from app.storage.planning import MeterLots, clock_start, eligibility


def test_recorded_battery_end_of_life_gives_the_battery_date():
    ms = [MeterInfo(id="a", install_date=date(2016, 5, 1), battery_expiry=date(2027, 3, 15)),
          MeterInfo(id="leap", install_date=date(2016, 5, 1), battery_expiry=date(2028, 2, 29)),
          MeterInfo(id="late", install_date=date(2016, 5, 1), battery_expiry=date(2031, 6, 1))]
    rows = {r.meter_id: r for r in compute_schedule(ms, date(2025, 6, 1), 36, plan_sampling=False).rows}
    # Kept to 14 years after a passed lot, the battery comes first: 1 year before its end of life (MMS 1.3.6).
    passed = {m.id: LotOutcome(9, True) for m in ms}
    kept = {r.meter_id: r for r in compute_schedule(ms, date(2025, 6, 1), 36, lot_outcomes=passed,
                                                    plan_sampling=False).rows}
    assert (kept["a"].state, kept["a"].due_date, kept["a"].reason) == (
        "battery_due", date(2026, 3, 15), "battery_end_of_life_minus_1y")
    assert kept["leap"].due_date == date(2027, 2, 28)
    # A battery outliving the recalibration date is no event.
    assert (kept["late"].reason, kept["late"].due_date) == ("recalibrate_or_replace_14y", date(2030, 5, 1))
    # Without the pass the 10-year date (2026-05-01) comes before a battery date after it.
    assert rows["late"].reason == "recalibrate_or_replace_10y"
    with pytest.raises(AttributeError):
        ms[0].install_date = None  # planning records are immutable


def test_an_error_on_twice_the_mpe_passes():
    spec = MeterSpec(accuracy_class=2, qp_m3h=1.5, ratio=100, dtheta_min_k=3, dtheta_max_k=100)
    # 2 × (2.02 + 0.59 + 0.53) = 6.28 exactly, 6.279999999999999 in binary floating point.
    on = evaluate_calibration("complete_meter", spec, [CalibrationPoint(6.28, 1.5, 100.0)])
    beyond = evaluate_calibration("complete_meter", spec, [CalibrationPoint(-6.2801, 1.5, 100.0)])
    assert on.in_service_verdict == "pass" and beyond.in_service_verdict == "fail"


def test_eligibility_for_each_round():
    m = MeterInfo(id="1", install_date=date(2016, 6, 1))
    as_of, end = date(2025, 3, 1), date(2026, 3, 1)
    assert eligibility(m, None, 9, as_of, end) is None
    assert eligibility(m, None, 9, date(2024, 1, 1), date(2025, 1, 1)) == "not_due_yet"
    assert eligibility(m, None, 9, date(2026, 6, 1), date(2027, 6, 1)) == "past_deadline"
    assert eligibility(m, None, 9, date(2000, 1, 1), date(2000, 1, 1), all_meters=True) is None
    assert eligibility(m, MeterLots(open_rounds={9}), 9, as_of, end) == "in_open_lot"
    assert eligibility(m, MeterLots(outcome=LotOutcome(9, False)), 9, as_of, end) == "lot_failed_replacement_list"
    assert eligibility(m, MeterLots(outcome=LotOutcome(9, True)), 9, as_of, end) == "sampled_this_cycle"
    assert eligibility(m, None, 13, date(2029, 3, 1), date(2030, 3, 1)) == "no_passed_9y_lot"
    assert eligibility(m, MeterLots(outcome=LotOutcome(9, True)), 13, date(2029, 3, 1), date(2030, 3, 1)) is None
    assert eligibility(m, MeterLots(outcome=LotOutcome(9, True)), 13, date(2030, 7, 1), date(2031, 7, 1)) == "past_deadline"
    # Year-only dates count from 1 January; a recalibration restarts the clock.
    assert clock_start(MeterInfo(id="2", install_date=date(2016, 7, 1), install_year_only=True)) == date(2016, 1, 1)
    assert clock_start(MeterInfo(id="3", install_date=date(2016, 7, 1), cycle_start_date=date(2023, 2, 2))) == date(2023, 2, 2)
