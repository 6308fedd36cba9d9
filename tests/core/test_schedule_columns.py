"""The columnar schedule engine against the plain meter-by-meter loop it replaced (tests/helpers/schedule_reference.py).

The reference applies the rules one meter at a time; the engine groups meters by their combination of clock start,
sampling round, deadline year, battery and "at once" date. Both must give every row, count and flag alike on
generated registers with every odd case mixed in (year-only dates, unknown dates, repairs, recalibrations,
failed recalibrations, defective meters, lots passed and failed at 9 and 13 years, batteries, restricted meters,
29 February, several sites and none).
"""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.lots import MeterInfo
from app.core.schedule import LotOutcome, compute_schedule
from tests.helpers.schedule_reference import reference_schedule

DAY0 = date(2004, 1, 1)


@st.composite
def meters(draw):
    n = draw(st.integers(0, 40))
    out, outcomes = [], {}
    for i in range(n):
        def day(lo=0, hi=9000):
            return DAY0 + timedelta(days=draw(st.integers(lo, hi)))
        install = draw(st.one_of(st.none(), st.just(date(2016, 2, 29)), st.builds(day)))
        cycle = draw(st.one_of(st.none(), st.none(), st.builds(day)))
        battery = draw(st.one_of(st.none(), st.builds(day, st.just(3000), st.just(12000))))
        life = draw(st.one_of(st.none(), st.floats(1.5, 15)))
        failed = draw(st.one_of(st.none(), st.none(), st.none(), st.builds(day)))
        defective = draw(st.one_of(st.none(), st.none(), st.none(), st.builds(day)))
        mid = f"m{i}"
        out.append(MeterInfo(
            id=mid, install_date=install, install_year_only=draw(st.booleans()),
            reinstalled_after_repair=draw(st.booleans()), site=draw(st.sampled_from([None, "A", "B", "C"])),
            accuracy_class=draw(st.sampled_from([None, 1, 2, 3])), battery_powered=life is not None,
            battery_date=draw(st.one_of(st.none(), st.builds(day))), battery_life_years=life, cycle_start_date=cycle,
            battery_expiry=battery, restricted=draw(st.booleans()), failed_recalibration_on=failed,
            defective_on=defective, at_lab=draw(st.booleans())))
        o = draw(st.sampled_from([None, None, (9, True), (9, False), (13, True), (13, False)]))
        if o is not None:
            outcomes[mid] = LotOutcome(*o)
    return out, outcomes


def _same(a, b):
    assert list(a.rows) == list(b.rows)
    assert [a.rows[i] for i in range(len(a.rows))] == list(b.rows)      # indexed access gives the same rows
    for name in ("as_of", "horizon_end", "totals", "by_month", "by_site", "deadlines_by_month", "overdue_by_kind",
                 "flag_totals"):
        assert getattr(a, name) == getattr(b, name), name


@settings(max_examples=80, deadline=None)
@given(meters(), st.builds(lambda d: DAY0 + timedelta(days=d), st.integers(2000, 9000)),
       st.sampled_from([0, 1, 12, 36, 120]), st.booleans(), st.sampled_from([None, "A", "Z"]))
def test_engine_gives_what_the_meter_by_meter_loop_gives(ms, as_of, horizon, plan_sampling, site):
    meters_, outcomes = ms
    kw = dict(lot_outcomes=outcomes, plan_sampling=plan_sampling, site=site)
    _same(compute_schedule(meters_, as_of, horizon, **kw), reference_schedule(meters_, as_of, horizon, **kw))


def test_a_hundred_thousand_meters_share_a_few_combinations():
    # 100,000 meters installed over 13 years: the rows still come out one per meter, in order, with their own ids
    ms = [MeterInfo(id=str(i), install_date=DAY0 + timedelta(days=i % 4700), site=f"S{i % 7}",
                    battery_expiry=None if i % 3 else DAY0 + timedelta(days=4000 + i % 900)) for i in range(100_000)]
    s = compute_schedule(ms, date(2025, 6, 1), 12)
    assert len(s.rows) == 100_000
    assert [r.meter_id for r in s.rows[:3]] == ["0", "1", "2"] and s.rows[-1].meter_id == "99999"
    assert sum(s.totals.values()) == 100_000
    ref = reference_schedule(ms[:5000], date(2025, 6, 1), 12)
    assert list(s.rows[:5000]) == list(ref.rows)
