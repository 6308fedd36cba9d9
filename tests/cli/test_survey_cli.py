"""``heatmeter survey``: the saved connectivity surveys listed and read back from the command line, judged
again with their thresholds, their telegrams checked against the digest (exit 1 when altered)."""
from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3

import pytest

from app.cli.main import main
from app.core.radio.reception import Reception
from app.core.radio.survey import CSV_COLUMNS, Location, Survey, SurveySettings, assess
from app.services.surveys import save_survey
from app.storage.register import open_register

from tests.helpers.disk import FillingDisk

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def _rec(meter, t_s, rssi):
    man, ident = meter.split()
    return Reception(T0 + dt.timedelta(seconds=t_s), bytes([0x1E, 0x44]) + bytes(9), "none", rssi, None, "c1",
                     meter, man, ident, 27, "heat_outlet", "ell_ctr", "decrypted")


@pytest.fixture
def saved(tmp_path):
    """A register with one survey of Block A: KAM 71234567 heard well in the plant room (10 of 10 expected,
    median -74.5 dBm against -100), KAM 71234568 only at the landing (every 32 s: 5 of 5 expected, but only
    1 dB above the sensitivity, 10 dB asked for), KAM 71234569 expected (its key is held) and never heard."""
    db = tmp_path / "r.db"
    reg = open_register(f"sqlite:///{db}")
    loc1 = Location("Plant room", floor="0", started_at=T0, ended_at=T0 + dt.timedelta(seconds=160),
                    receptions=[_rec("KAM 71234567", 16 * i + 1, -70.0 - i) for i in range(10)])
    loc2 = Location("Landing", floor="4", riser="R2", started_at=T0 + dt.timedelta(seconds=200),
                    ended_at=T0 + dt.timedelta(seconds=360),
                    receptions=[_rec("KAM 71234568", 200 + 32 * i + 1, -99.0) for i in range(5)])
    survey = Survey("Block A", "March", "ann", settings=SurveySettings("amb8465", "c1", -100.0),
                    locations=[loc1, loc2])
    result = assess(survey, ("KAM 71234569",))
    sid = save_survey(reg, survey, user="ann", result=result)
    reg.close()
    return f"sqlite:///{db}", sid, result, db


def test_list_names_each_survey_with_its_site_locations_and_telegrams(saved, capsys):
    url, sid, _result, _db = saved
    assert main(["survey", "list", "--db", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["ID", "SITE", "SURVEY"]
    assert out[1].split()[:3] == [str(sid), "Block", "A"] and "March" in out[1] and "amb8465 C1" in out[1]
    assert main(["survey", "list", "--db", url, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["surveys"]
    assert (row["id"], row["site"], row["name"], row["locations"], row["telegrams"]) == (sid, "Block A", "March",
                                                                                        2, 15)
    assert row["started_at"] == "2026-03-02T09:00:00"
    assert main(["survey", "list", "--db", url, "--site", "Block B"]) == 0
    got = capsys.readouterr()
    assert got.out == "" and got.err == "heatmeter: no survey of site Block B saved\n"


def test_show_judges_again_with_the_saved_thresholds(saved, capsys):
    url, sid, result, _db = saved
    assert main(["survey", "show", str(sid), "--db", url, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["digest_ok"] is True and d["counts"] == result.counts()
    assert d["counts"] == {"reliable": 1, "marginal": 1, "listen longer": 0, "not heard": 1}
    verdicts = {m["meter"]: (m["verdict"], m["best_location"], m["margin_db"], m["heard_ratio"]) for m in d["meters"]}
    assert verdicts == {"KAM 71234567": ("reliable", "Plant room", 25.5, 1.0),
                        "KAM 71234568": ("marginal", "Landing", 1.0, 1.0),
                        "KAM 71234569": ("not heard", None, None, None)}
    assert [(x["name"], x["floor"], x["riser"], x["telegrams"], x["listened_s"]) for x in d["locations"]] == [
        ("Plant room", "0", None, 10, 160), ("Landing", "4", "R2", 5, 160)]
    assert d["settings"]["sensitivity_dbm"] == -100.0 and d["technician"] == "ann"
    assert main(["survey", "show", str(sid), "--db", url]) == 0
    text = capsys.readouterr().out
    assert "telegrams match their digest: yes" in text
    assert "verdicts: reliable 1, marginal 1, listen longer 0, not heard 1" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("KAM 71234567"))
    assert line.split()[2:6] == ["reliable", "Plant", "room", "+25.5"]


def test_show_writes_the_csv_of_every_meter_at_every_location(saved, tmp_path, capsys):
    url, sid, _result, _db = saved
    out = tmp_path / "survey.csv"
    assert main(["survey", "show", str(sid), "--db", url, "--csv", str(out)]) == 0
    assert "6 row(s) written" in capsys.readouterr().err
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3 * 2
    best = [(r["meter"], r["location"]) for r in rows if r["best_location"] == "yes"]
    assert sorted(best) == [("KAM 71234567", "Plant room"), ("KAM 71234568", "Landing")]


def test_an_altered_telegram_is_reported_and_exits_1(saved, capsys):
    url, sid, _result, db = saved
    with sqlite3.connect(db) as con:
        con.execute("UPDATE radio_survey_telegrams SET rssi_dbm = -60 WHERE rssi_dbm = -99")
    assert main(["survey", "show", str(sid), "--db", url]) == 1
    got = capsys.readouterr()
    assert "telegrams match their digest: NO (altered since saved)" in got.out
    assert got.err.count("\n") == 1 and "no longer match the digest" in got.err


@pytest.mark.parametrize("arg, status, message", [
    ("0", 2, "ID: a survey number"), ("x1", 2, "ID: a survey number"), ("99999999999999999999", 2, "ID: a survey"),
    ("42", 1, "no survey 42"),
])
def test_a_bad_or_unknown_survey_is_one_line(saved, capsys, arg, status, message):
    url, _sid, _result, _db = saved
    assert main(["survey", "show", arg, "--db", url]) == status
    got = capsys.readouterr()
    assert got.out == "" and got.err.count("\n") == 1 and message in got.err


def test_a_csv_that_cannot_be_written_is_one_line_and_the_earlier_file_stays(saved, tmp_path, capsys, monkeypatch):
    """The disk fills up half-way through the CSV: one line, exit 2, the earlier file as it was."""
    import os

    from app.storage import safe_export

    url, sid, _result, _db = saved
    real = os.fdopen
    monkeypatch.setattr(safe_export.os, "fdopen", lambda fd, *a, **k: FillingDisk(real(fd, *a, **k), 300))
    earlier = tmp_path / "survey.csv"
    earlier.write_text("earlier\n", encoding="utf-8")
    status = main(["survey", "show", str(sid), "--db", url, "--csv", str(earlier)])
    got = capsys.readouterr()
    assert status == 2 and got.err.count("\n") == 1 and "No space left on device" in got.err
    assert earlier.read_text(encoding="utf-8") == "earlier\n"
