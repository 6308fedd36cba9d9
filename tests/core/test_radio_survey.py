"""The connectivity survey's verdicts (MMS 2.1.9) from hand-made receptions: RSSI margin above the
receiver's sensitivity, heard vs expected, the spread rule, best location, and the CSV."""
from __future__ import annotations

import datetime as dt

import pytest

from app.core.radio.heard import HeardTable, estimate_interval
from app.core.radio.reception import Reception
from app.core.radio.survey import Location, Survey, SurveySettings, assess, csv_rows, write_csv
from tests.helpers.files import csv_dicts

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def rec(meter: str, t_s: float, rssi: float | None, status: str = "plain") -> Reception:
    man, ident = meter.split()
    return Reception(T0 + dt.timedelta(seconds=t_s), b"\x0b\x44" + bytes(9), "none", rssi, None, "t1", meter, man,
                     ident, 1, "heat_outlet", 0, status)


def loc(name: str, start_s: float, length_s: float, recs) -> Location:
    return Location(name, floor="1", started_at=T0 + dt.timedelta(seconds=start_s),
                    ended_at=T0 + dt.timedelta(seconds=start_s + length_s), receptions=list(recs))


SETTINGS = SurveySettings(dongle="im871a", mode="t1", sensitivity_dbm=-105.0)


def test_interval_from_gaps_with_lost_telegrams():
    assert estimate_interval([30.0]) is None                         # two telegrams: not enough
    assert estimate_interval([30.0, 90.0, 120.0]) == pytest.approx(30.0)   # 2 and 3 telegrams lost
    assert estimate_interval([15.6, 16.4, 32.1, 15.9]) == pytest.approx(16.0, abs=0.1)


def test_verdicts_at_one_location():
    recs = []
    recs += [rec("AAA 00000001", 30 * i, -80.0) for i in range(10)]          # 10 of 10, margin 25 dB
    recs += [rec("BBB 00000002", 30 * i, -98.0) for i in range(10)]          # margin 7 dB < 10
    recs += [rec("CCC 00000003", t, -70.0) for t in (0, 30, 120, 240)]      # 4 of 10 expected
    recs += [rec("DDD 00000004", t, -70.0) for t in (0, 120, 240)]          # 120 s interval: 2.5 expected
    recs += [rec("EEE 00000005", 30 * i, -85.0 if i % 2 else -105.0) for i in range(10)]   # spread 10 dB
    survey = Survey("Block A", settings=SETTINGS, locations=[loc("Stairwell 1", 0, 300, recs)])
    by = {m.meter: m for m in assess(survey).meters}
    a = by["AAA 00000001"].at[0]
    assert a.verdict == "reliable" and a.margin_db == pytest.approx(25.0) and a.ratio == pytest.approx(1.0)
    assert a.expected == pytest.approx(10.0) and a.interval_s == pytest.approx(30.0)
    b = by["BBB 00000002"].at[0]
    assert b.verdict == "marginal" and b.margin_db == pytest.approx(7.0)
    assert "7.0 dB above the sensitivity, 10.0 dB needed" in b.reason
    c = by["CCC 00000003"].at[0]
    assert c.verdict == "marginal" and c.ratio == pytest.approx(0.4) and "heard 4 of 10.0 expected" in c.reason
    d = by["DDD 00000004"].at[0]
    assert d.verdict == "listen longer" and d.expected == pytest.approx(2.5)
    e = by["EEE 00000005"].at[0]
    # median -95 dBm: 10 dB above -105; the RSSI's standard deviation is 10 dB, so 1.28 x 10 = 12.8 dB needed
    assert e.rssi_sd_db == pytest.approx(10.0) and e.required_margin_db == pytest.approx(12.8)
    assert e.verdict == "marginal"


def test_best_location_and_not_heard():
    at0 = [rec("FFF 00000006", 30 * i, -93.0) for i in range(10)] + [rec("AAA 00000001", 30 * i, -75.0)
                                                                      for i in range(10)]
    at1 = [rec("FFF 00000006", 400 + 30 * i, -85.0) for i in range(10)]
    survey = Survey("Block A", settings=SETTINGS,
                    locations=[loc("Floor 1", 0, 300, at0), loc("Floor 2", 400, 300, at1)])
    res = assess(survey, expected_meters=["GGG 00000007"])
    by = {m.meter: m for m in res.meters}
    f = by["FFF 00000006"]
    assert [a.verdict for a in f.at] == ["reliable", "reliable"]
    assert f.best.location == 1 and f.best.margin_db == pytest.approx(20.0)       # 20 dB beats 12 dB
    a = by["AAA 00000001"]
    assert [x.verdict for x in a.at] == ["reliable", "not heard"] and a.best.location == 0
    g = by["GGG 00000007"]
    assert g.verdict == "not heard" and g.best is None and all(x.telegrams == 0 for x in g.at)
    assert res.counts() == {"reliable": 2, "marginal": 0, "listen longer": 0, "not heard": 1}
    assert res.location_counts(1) == {"reliable": 1, "marginal": 0, "listen longer": 0, "not heard": 2}


def test_uncalibrated_receiver_is_judged_by_telegrams_heard():
    survey = Survey("Block A", settings=SurveySettings(dongle="rtl-wmbus", sensitivity_dbm=None),
                    locations=[loc("Cellar", 0, 300, [rec("AAA 00000001", 30 * i, None) for i in range(9)])])
    a = assess(survey).meters[0].at[0]
    assert a.verdict == "reliable" and a.margin_db is None and a.ratio == pytest.approx(0.9)
    assert "telegrams heard only" in a.reason


def test_document_round_trip_keeps_what_is_judged():
    recs = [rec("AAA 00000001", 30 * i, -80.0 - i) for i in range(10)]
    survey = Survey("Block A", name="s1", technician="ann", settings=SETTINGS,
                    locations=[loc("Stairwell 1", 0, 300, recs)])
    again = Survey.from_document(survey.to_document())
    assert assess(again).meters == assess(survey).meters


def test_csv_one_row_per_meter_and_location(tmp_path):
    at0 = [rec("AAA 00000001", 30 * i, -80.0) for i in range(10)]
    at1 = [rec("BBB 00000002", 400 + 30 * i, -98.0) for i in range(10)]
    survey = Survey("=HYPERLINK(\"x\")", name="March", settings=SETTINGS,
                    locations=[loc("Floor 1", 0, 300, at0), loc("-Floor 2", 400, 300, at1)])
    path = tmp_path / "survey.csv"
    assert write_csv(str(path), assess(survey)) == 4
    rows = csv_dicts(path)
    assert len(rows) == 4 == len(csv_rows(assess(survey)))
    first = rows[0]
    assert first["meter"] == "AAA 00000001" and first["location"] == "Floor 1" and first["verdict"] == "reliable"
    assert first["rssi_median_dbm"] == "-80.0" and first["margin_db"] == "25.0" and first["best_location"] == "yes"
    assert first["heard_ratio"] == "1.0" and first["sensitivity_dbm"] == "-105.0"
    # text that a spreadsheet would run as a formula is defused; negative numbers stay numbers
    assert first["site"].startswith("'=") and rows[1]["location"] == "'-Floor 2"
    bbb_far = [r for r in rows if r["meter"] == "BBB 00000002" and r["location"] == "'-Floor 2"][0]
    assert bbb_far["verdict"] == "marginal" and bbb_far["overall_verdict"] == "marginal"


def test_heard_table_median_and_expected():
    t = HeardTable(make_name=lambda flag: {"KAM": "Kamstrup"}.get(flag))
    for i, r in enumerate((-90.0, -70.0, -80.0, -85.0)):
        t.add(rec("KAM 12345678", 16 * i, r))
    m = t.meters["KAM 12345678"]
    assert (m.count, m.rssi_now, m.rssi_min, m.rssi_max) == (4, -85.0, -90.0, -70.0)
    assert m.rssi_median == pytest.approx(-82.5) and m.make == "Kamstrup"
    assert m.interval_s == pytest.approx(16.0)
    t.tick(T0 + dt.timedelta(seconds=160))
    assert m.expected(t.started_at, t.now) == pytest.approx(10.0) and m.ratio(t.started_at, t.now) == 0.4
