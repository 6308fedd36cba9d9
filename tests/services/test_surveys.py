"""The survey service: judged, saved with the site, read back judged the same (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

from app.core.radio.reception import Reception
from app.core.radio.survey import Location, Survey, SurveySettings, assess
from app.services.surveys import load_survey, save_survey

from tests.helpers.trust import recorded

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def _rec(meter, t_s, rssi):
    man, ident = meter.split()
    return Reception(T0 + dt.timedelta(seconds=t_s), bytes([0x1E, 0x44]) + bytes(9), "none", rssi, None, "c1",
                     meter, man, ident, 27, "heat_outlet", "ell_ctr", "decrypted")


def test_saved_survey_reads_back_with_the_same_verdicts(reg):
    loc1 = Location("Plant room", floor="0", started_at=T0, ended_at=T0 + dt.timedelta(seconds=160),
                    receptions=[_rec("KAM 71234567", 16 * i + 1, -70.0 - i) for i in range(10)])
    loc2 = Location("Landing", floor="4", started_at=T0 + dt.timedelta(seconds=200),
                    ended_at=T0 + dt.timedelta(seconds=360),
                    receptions=[_rec("KAM 71234567", 200 + 32 * i + 1, -99.0) for i in range(5)])
    survey = Survey("Block A", "March", "ann", settings=SurveySettings("amb8465", "c1", -100.0),
                    locations=[loc1, loc2])
    sid = save_survey(reg, survey, user="ann")
    back = load_survey(reg, sid)
    assert back.digest_ok and back.id == sid and back.created_by == recorded(reg, "ann")
    assert back.result.meters == assess(survey).meters
    m = back.result.meters[0]
    # plant room: 10 of 10, median -74.5 dBm = 25.5 dB above -100; landing: 5 of 10 expected, 1 dB margin
    assert [a.verdict for a in m.at] == ["reliable", "marginal"] and m.best.location == 0
    assert m.best.margin_db == 25.5
    stored = reg.survey(sid)["results"]
    assert stored["meters"]["KAM 71234567"] == {"verdict": "reliable", "best_location": "Plant room",
                                                "margin_db": 25.5, "ratio": 1.0}
    assert stored["settings"]["sensitivity_dbm"] == -100.0


def test_a_radio_meter_of_the_site_never_heard_is_reported_not_heard_and_stays_so_when_read_back(reg):
    from app.services.surveys import radio_meters_of_site

    for serial in ("71234567", "71234568", "71234569"):
        reg.create_meter({"manufacturer": "Kamstrup", "model": "MULTICAL 21", "serial": serial,
                          "site": "Block A"}, user="t")
    reg.create_meter({"manufacturer": "Kamstrup", "model": "MULTICAL 21", "serial": "71234570",
                      "site": "Block B"}, user="t")
    # keys held: two meters of Block A (one with its FLAG code, one bare), one of Block B; 71234569 has none
    expected = radio_meters_of_site(reg, "Block A", ["KAM 71234567", "71234568", "KAM 71234570"])
    assert expected == ("KAM 71234567", "KAM 71234568")
    loc = Location("Plant room", started_at=T0, ended_at=T0 + dt.timedelta(seconds=160),
                   receptions=[_rec("KAM 71234567", 16 * i + 1, -70.0) for i in range(10)])
    survey = Survey("Block A", "March", "ann", settings=SurveySettings("amb8465", "c1", -100.0), locations=[loc])
    result = assess(survey, expected)
    verdicts = {m.meter: m.verdict for m in result.meters}
    assert verdicts == {"KAM 71234567": "reliable", "KAM 71234568": "not heard"}
    sid = save_survey(reg, survey, user="ann", result=result)
    back = load_survey(reg, sid)
    assert {m.meter: m.verdict for m in back.result.meters} == verdicts
    assert radio_meters_of_site(reg, "Block A", []) == ()
