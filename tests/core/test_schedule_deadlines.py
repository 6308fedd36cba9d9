"""The schedule's deadlines and flags, the half-open horizon, and lots on normalised keys (maintenance-cycle spec).

Expected dates are worked out by hand from MMS 1.3.3-1.3.6 in the comments.
"""
from datetime import date

import pytest

from app.core.errors import InputError
from app.core.lot_keys import AliasRow, ModelAliases, check_alias, make_key, normalise, shipped_aliases
from app.core.lots import MeterInfo, form_lots
from app.core.sampling import sampling_plan
from app.core.schedule import LotOutcome, compute_schedule

AS_OF = date(2025, 6, 1)


def row(m, **kw):
    [r] = compute_schedule([m], kw.pop("as_of", AS_OF), kw.pop("horizon", 12), **kw).rows
    return r


def kinds(r):
    return [(k, d.isoformat()) for k, d in r.deadlines]


def test_every_deadline_each_once_sorted():
    # Installed 2017-05-12: 9 years 2026-05-12, 10 years 2027-05-12; battery end 2027-11-01 → change 2026-11-01,
    # before the 10-year deadline of a meter that may be kept beyond 10 years (sampling planned).
    m = MeterInfo(id="1", install_date=date(2017, 5, 12), battery_expiry=date(2027, 11, 1))
    r = row(m)
    assert kinds(r) == [("sampling_9y", "2026-05-12"), ("battery", "2026-11-01"), ("replace", "2027-05-12")]
    # Horizon end 2026-06-01: the sampling date is inside, so the state is sampling_due.
    assert (r.state, r.due_date, r.reason, r.flags) == ("sampling_due", date(2026, 5, 12), "sampling_9y", ())


def test_horizon_is_half_open():
    # 9 years exactly on the horizon end (2026-06-01): outside the horizon.
    on_end = MeterInfo(id="e", install_date=date(2017, 6, 1))
    day_before = MeterInfo(id="b", install_date=date(2017, 5, 31))
    s = compute_schedule([on_end, day_before], AS_OF, 12)
    by = {r.meter_id: r for r in s.rows}
    assert by["e"].state == "in_service" and by["e"].due_date == date(2026, 6, 1)
    assert by["b"].state == "sampling_due"
    assert s.by_month == {"2026-05": {"sampling_due": 1}}
    assert s.deadlines_by_month == {"2026-05": {"sampling_9y": 1}}
    # A deadline on the as-of date itself is due, not overdue.
    assert row(MeterInfo(id="t", install_date=date(2016, 6, 1))).state == "sampling_due"


def test_no_battery_change_for_a_meter_replaced_at_10_years():
    # Installed 2016-08-01, replaced at 10 years (2026-08-01) without sampling; battery end 2027-05-01 → the
    # change would be 2026-05-01, 3 months before the replacement: MMS 1.3.6 only asks it of meters kept
    # beyond 10 years.
    m = MeterInfo(id="1", install_date=date(2016, 8, 1), battery_expiry=date(2027, 5, 1))
    assert kinds(row(m, plan_sampling=False)) == [("replace", "2026-08-01")]
    # With sampling planned it may be kept: battery change before the 10-year date.
    assert kinds(row(m)) == [("sampling_9y", "2025-08-01"), ("battery", "2026-05-01"), ("replace", "2026-08-01")]
    # Kept to 14 years by a passed lot, even without planned sampling.
    kept = row(m, plan_sampling=False, lot_outcomes={"1": LotOutcome(9, True)})
    assert kinds(kept) == [("battery", "2026-05-01"), ("replace", "2030-08-01")]


def test_overdue_sampling_and_passed_deadlines():
    # Installed 2016-03-01: 9 y 2025-03-01 passed, 10 y 2026-03-01 ahead: sampling overdue, both listed.
    r = row(MeterInfo(id="1", install_date=date(2016, 3, 1)))
    assert kinds(r) == [("sampling_9y", "2025-03-01"), ("replace", "2026-03-01")]
    assert (r.state, r.reason) == ("overdue", "sampling_9y")
    # Installed 2014-03-01: 10 y passed: sampling can no longer save it and is not listed.
    r = row(MeterInfo(id="2", install_date=date(2014, 3, 1)))
    assert kinds(r) == [("replace", "2024-03-01")] and (r.state, r.reason) == ("overdue", "recalibrate_or_replace_10y")
    # Passed at 9 years: 13-year sampling 2029-03-01, 14 years 2030-03-01.
    r = row(MeterInfo(id="3", install_date=date(2016, 3, 1)), lot_outcomes={"3": LotOutcome(9, True)})
    assert kinds(r) == [("sampling_13y", "2029-03-01"), ("replace", "2030-03-01")] and r.state == "in_service"


def test_failed_recalibration_is_due_at_once_and_never_in_service():
    base = dict(id="1", install_date=date(2019, 4, 1))
    r = row(MeterInfo(**base, failed_recalibration_on=date(2025, 3, 10)))
    assert (r.state, r.due_date, r.reason) == ("overdue", date(2025, 3, 10), "failed_recalibration")
    assert kinds(r) == [("replace", "2025-03-10")] and r.flags == ("failed_recalibration",)
    # Failed on the as-of date: due, not in service, even with a zero horizon.
    r = row(MeterInfo(**base, failed_recalibration_on=AS_OF), horizon=0)
    assert (r.state, r.reason) == ("recalibrate_or_replace_due", "failed_recalibration")


def test_defective_meter_of_a_passed_lot_goes_to_the_replacement_list():
    m = MeterInfo(id="d", install_date=date(2016, 3, 1), defective_on=date(2025, 5, 20))
    r = row(m, lot_outcomes={"d": LotOutcome(9, True)})
    assert (r.state, r.reason, r.flags) == ("overdue", "defective_in_passed_lot", ("defective_in_passed_lot",))
    assert kinds(r) == [("replace", "2025-05-20")]


def test_flags_class_undated_restricted_at_lab():
    rows = {r.meter_id: r for r in compute_schedule([
        MeterInfo(id="c3", install_date=date(2020, 1, 1), accuracy_class=3),
        MeterInfo(id="c2", install_date=date(2020, 1, 1), accuracy_class=2),
        MeterInfo(id="u", install_date=None),
        MeterInfo(id="r", install_date=date(2020, 1, 1), restricted=True, at_lab=True),
    ], AS_OF, 12).rows}
    assert rows["c3"].flags == ("class_below_2",) and rows["c2"].flags == ()
    assert (rows["u"].state, rows["u"].reason, rows["u"].deadlines, rows["u"].flags) == \
        ("overdue", "install_date_unknown", (), ("install_date_unknown",))
    assert rows["r"].flags == ("restricted", "at_lab") and rows["r"].state == "in_service"


def test_deadline_counts_per_month_and_kind():
    ms = [MeterInfo(id="a", install_date=date(2016, 9, 1), battery_expiry=date(2026, 10, 5)),   # 9y 2025-09-01,
          MeterInfo(id="b", install_date=date(2015, 9, 20))]                                      # 10y 2025-09-20
    s = compute_schedule(ms, AS_OF, 12)
    # a: sampling 2025-09-01, battery 2025-10-05, replace 2026-09-01 (outside); b: replace 2025-09-20 (its
    # sampling date 2024-09-20 has passed: overdue).
    assert s.deadlines_by_month == {"2025-09": {"sampling_9y": 1, "replace": 1}, "2025-10": {"battery": 1}}
    assert s.overdue_by_kind == {"replace": 0, "sampling_9y": 1, "sampling_13y": 0, "battery": 0}


def test_normalisation_and_alias_table():
    assert normalise("MULTICAL® 403") == normalise("Multical-403") == "multical403"
    assert make_key("Kamstrup A/S", None) == make_key("KAMSTRUP", None) == "kamstrup"
    assert make_key("Diehl Metering GmbH", None) == "diehlmetering"
    assert make_key("whatever", "kam") == "KAM"
    a = shipped_aliases()
    assert a.canonical("KAM", "MC403") == ("multical403", "MULTICAL 403")
    assert a.canonical("KAM", "Multical 403") == ("multical403", None)
    assert a.canonical("LUG", "MC403")[0] == "mc403"  # a Kamstrup alias does not rename other makes
    user = a.with_rows([AliasRow("KAM", "M403", "MC403", "register")])  # an alias of an alias
    assert user.canonical("KAM", "m 403") == ("multical403", "MULTICAL 403")
    with pytest.raises(InputError):
        check_alias("KAM", "Multical 403", "MULTICAL-403")


def test_spellings_pool_into_one_lot():
    spellings = [("Kamstrup", "MULTICAL 403"), ("KAMSTRUP", "Multical403"), ("Kamstrup A/S", "MC403")]
    which = [0] * 500 + [1] * 300 + [2] * 123   # the commonest spelling names the lot
    ms = [MeterInfo(id=f"m{i:04d}", manufacturer=spellings[w][0], model=spellings[w][1], qp_m3h=1.5,
                    install_date=date(2016, 4, 1), mbus_manufacturer="KAM") for i, w in enumerate(which)]
    f = form_lots(ms, aliases=shipped_aliases())
    [lot] = f.lots
    assert lot.size == 923 and lot.lot_id == "Kamstrup|MULTICAL 403|1.5|2016"
    assert lot.merged == {"manufacturer": ["Kamstrup", "KAMSTRUP", "Kamstrup A/S"],
                          "model": ["MULTICAL 403", "Multical403", "MC403"]}
    assert dict(lot.norm_key)["manufacturer"] == "KAM" and dict(lot.norm_key)["model"] == "multical403"
    # One lot of 923 (code J: n 80, Ac 7) instead of lots of 500, 300 and 123 (codes H, H, F: n 50 + 50 + 20).
    assert sampling_plan(923).sample_size == 80 and sampling_plan(923).acceptance_number == 7
    assert sum(sampling_plan(n).sample_size for n in (500, 300, 123)) == 120
    # Without FLAG codes the make still pools by name; without the alias table MC403 stays apart.
    ms2 = [m._replace(mbus_manufacturer=None) for m in ms]
    lots = form_lots(ms2, aliases=ModelAliases()).lots
    assert sorted(lot.size for lot in lots) == [123, 800]
