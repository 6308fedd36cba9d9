"""Lots (formation, draw, verdict) and the schedule."""
import random
from datetime import date

import pytest

from app.core.errors import InputError
from app.core.lots import (DEFAULT_LOT_KEY, MeterInfo, draw_sample, form_lots, inaccessible, lot_verdict,
                           result_from_calibration, result_from_single_error)
from app.core.metrology import CalibrationPoint, MeterSpec
from app.core.sampling import sampling_plan
from app.core.schedule import LotOutcome, anniversary, compute_schedule


def meters(n, year=2015, **kw):
    return [MeterInfo(id=f"M{i:05d}", manufacturer="Kamstrup", model="MULTICAL 403", qp_m3h=1.5,
                      install_date=date(year, 3, 1), **kw) for i in range(n)]


def test_formation_by_default_key_and_apart():
    ms = meters(10) + meters(3, year=2016)[:3]
    ms = [m for m in ms]
    ms += [MeterInfo(id="X1", manufacturer="Kamstrup", model="MULTICAL 403", qp_m3h=1.5, install_date=None),
           MeterInfo(id="X2", manufacturer="Kamstrup", model="MULTICAL 403", qp_m3h=1.5,
                     install_date=date(2015, 5, 1), reinstalled_after_repair=True),
           MeterInfo(id="X3", manufacturer=None, model="MULTICAL 403", qp_m3h=1.5, install_date=date(2015, 5, 1)),
           MeterInfo(id="Y1", manufacturer="Kamstrup", model="MULTICAL 403", qp_m3h=2.5, install_date=date(2015, 5, 1))]
    f = form_lots(ms)
    assert f.key_fields == DEFAULT_LOT_KEY
    sizes = {lot.lot_id: lot.size for lot in f.lots}
    # M00000..M00002 appear in both years' lists with the same ids: ids are what they are, 2016 has 3.
    assert sizes["Kamstrup|MULTICAL 403|1.5|2015"] == 10
    assert sizes["Kamstrup|MULTICAL 403|1.5|2016"] == 3
    assert sizes["Kamstrup|MULTICAL 403|2.5|2015"] == 1
    assert dict(f.apart) == {"X1": "install_date_unknown", "X2": "reinstalled_after_repair", "X3": "manufacturer_unknown"}
    # Configurable key: without the install year, 2015 and 2016 pool.
    f2 = form_lots(ms, key=("manufacturer", "model", "qp_m3h"))
    assert {lot.lot_id: lot.size for lot in f2.lots}["Kamstrup|MULTICAL 403|1.5"] == 13
    with pytest.raises(InputError):
        form_lots(ms, key=("colour",))


def test_draw_is_reproducible_and_order_free():
    ids = [m.id for m in meters(1200)]
    a = draw_sample(ids, 80, seed=20250601)
    b = draw_sample(list(reversed(ids)), 80, seed=20250601)
    assert a.sample == b.sample and a.spares == b.spares
    assert len(a.sample) == 80 and len(set(a.sample + a.spares)) == 80 + len(a.spares)
    assert len(a.spares) == 20
    assert draw_sample(ids, 80, seed=1).sample != a.sample


def test_draw_algorithm_is_the_documented_one():
    # Re-implemented from docs/metrology.md, "Reproducible draw".
    ids = [f"m{i}" for i in range(50)]
    pool = sorted(ids)
    rng = random.Random(7)
    for i in range(13):
        j = i + int(rng.random() * (50 - i))
        pool[i], pool[j] = pool[j], pool[i]
    d = draw_sample(ids, 8, seed=7, spares=5)
    assert d.sample == tuple(pool[:8]) and d.spares == tuple(pool[8:13])


def test_verdict_pass_fail_incomplete_with_spares():
    ids = [m.id for m in meters(1200)]
    plan = sampling_plan(1200)  # n = 80, Ac 7, Re 8
    d = draw_sample(ids, plan.sample_size, seed=3)
    ok = [result_from_single_error(m, 1.0, 3.5) for m in d.sample]
    v = lot_verdict(plan, d, ok, 9)
    assert v.verdict == "pass" and v.retain_until_years == 14 and v.replacement_list == ()
    # 7 defectives (|error| > 2 × MPE) pass, 8 fail; error exactly 2 × MPE is not defective.
    bad = [result_from_single_error(m, 7.5 if k < 7 else 7.0, 3.5) for k, m in enumerate(d.sample)]
    assert lot_verdict(plan, d, bad, 9).verdict == "pass"
    bad = [result_from_single_error(m, -7.5 if k < 8 else 0.5, 3.5) for k, m in enumerate(d.sample)]
    v = lot_verdict(plan, d, bad, 13)
    assert v.verdict == "fail" and v.replace_by_years == 14 and len(v.replacement_list) == 1200
    # Inaccessible sample meters replaced by spares, in draw order.
    res = [inaccessible(d.sample[0])] + ok[1:] + [result_from_single_error(d.spares[0], 0.1, 3.5)]
    v = lot_verdict(plan, d, res, 9)
    assert v.verdict == "pass" and v.tested == 80 and d.spares[0] in v.counted
    assert lot_verdict(plan, d, ok[:40], 9).verdict == "incomplete"
    with pytest.raises(InputError):
        lot_verdict(plan, d, [result_from_single_error("nope", 0, 3.5)], 9)


def test_result_from_calibration_points():
    spec = MeterSpec(accuracy_class=2, qp_m3h=1.5, ratio=100, dtheta_min_k=3, dtheta_max_k=70)
    pts = [CalibrationPoint(error_pct=3.0, q_m3h=1.5, dtheta_k=30)]  # in service limit 2 × 3.42 = 6.84
    assert result_from_calibration("m", "complete_meter", spec, pts).defective is False
    pts = [CalibrationPoint(error_pct=7.0, q_m3h=1.5, dtheta_k=30)]
    assert result_from_calibration("m", "complete_meter", spec, pts).defective is True


def test_anniversary_of_29_february():
    assert anniversary(date(2016, 2, 29), 9) == date(2025, 2, 28)
    assert anniversary(date(2016, 2, 29), 8) == date(2024, 2, 29)


def test_schedule_states():
    as_of = date(2025, 6, 1)
    ms = [
        MeterInfo(id="new", install_date=date(2020, 1, 1), site="A"),
        MeterInfo(id="nine", install_date=date(2016, 9, 15), site="A"),          # 9 y on 2025-09-15
        MeterInfo(id="late", install_date=date(2014, 1, 1), site="B"),            # 10 y passed
        MeterInfo(id="kept", install_date=date(2012, 3, 1), site="B"),            # passed at 9 → sampling 13 y 2025-03-01 past
        MeterInfo(id="kept13", install_date=date(2008, 3, 1), site="B"),          # passed at 13 → 18 y 2026-03-01
        MeterInfo(id="failed", install_date=date(2015, 12, 1), site="B"),         # failed at 9 → 10 y 2025-12-01
        MeterInfo(id="bat", install_date=date(2020, 1, 1), battery_powered=True, battery_life_years=6.6, site="A"),
        MeterInfo(id="year", install_date=date(2016, 7, 1), install_year_only=True, site="A"),
        MeterInfo(id="unknown", install_date=None, site="A"),
        MeterInfo(id="repaired", install_date=date(2016, 1, 1), reinstalled_after_repair=True,
                  cycle_start_date=date(2019, 1, 1), site="A"),
    ]
    outcomes = {"kept": LotOutcome(9, True), "kept13": LotOutcome(13, True), "failed": LotOutcome(9, False)}
    s = compute_schedule(ms, as_of, 12, outcomes)
    rows = {r.meter_id: r for r in s.rows}
    assert (rows["new"].state, rows["new"].due_date) == ("in_service", date(2029, 1, 1))
    assert (rows["nine"].state, rows["nine"].due_date, rows["nine"].reason) == ("sampling_due", date(2025, 9, 15), "sampling_9y")
    assert (rows["late"].state, rows["late"].reason) == ("overdue", "recalibrate_or_replace_10y")
    assert (rows["kept"].state, rows["kept"].reason) == ("overdue", "sampling_13y")
    assert (rows["kept13"].state, rows["kept13"].due_date) == ("recalibrate_or_replace_due", date(2026, 3, 1))
    assert (rows["failed"].state, rows["failed"].due_date) == ("recalibrate_or_replace_due", date(2025, 12, 1))
    assert rows["bat"].state == "battery_due" and rows["bat"].reason == "battery_end_of_life_minus_1y"
    assert rows["year"].due_date == date(2025, 1, 1) and rows["year"].state == "overdue"  # counted from 1 January
    assert (rows["unknown"].state, rows["unknown"].reason) == ("overdue", "install_date_unknown")
    assert (rows["repaired"].state, rows["repaired"].due_date) == ("in_service", date(2029, 1, 1))
    assert sum(s.totals.values()) == len(ms)
    assert s.by_site["A"]["battery_due"] == 1 and s.by_site["B"]["overdue"] == 2
    assert s.by_month["2025-09"] == {"sampling_due": 1}
    # Site filter and no sampling plan.
    assert {r.meter_id for r in compute_schedule(ms, as_of, 12, outcomes, site="B").rows} == {"late", "kept", "kept13", "failed"}
    s2 = compute_schedule(ms, as_of, 12, outcomes, plan_sampling=False)
    assert {r.meter_id: r.state for r in s2.rows}["nine"] == "in_service"


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(n_members=st.integers(min_value=1, max_value=300), seed=st.integers(min_value=0, max_value=2**32),
       data=st.data())
def test_same_seed_and_members_give_the_same_meters(n_members, seed, data):
    ids = [f"id{i}" for i in range(n_members)]
    n = data.draw(st.integers(min_value=1, max_value=n_members))
    shuffled = data.draw(st.permutations(ids))
    a, b = draw_sample(ids, n, seed), draw_sample(shuffled, n, seed)
    assert a == b
    assert set(a.sample) <= set(ids) and len(set(a.sample + a.spares)) == len(a.sample) + len(a.spares)
