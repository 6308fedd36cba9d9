"""Connectivity surveys in the register (SQLite and PostgreSQL): saved whole with the site, read back
byte for byte, matched to register meters, logged, and tamper-evident."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from app.storage.errors import NotFound, ValidationError

from tests.helpers.trust import recorded

T0 = dt.datetime(2026, 3, 2, 9, 0, 0, 250000, tzinfo=dt.timezone.utc)


def _tg(t_s, man, ident, rssi, raw):
    return {"received_at": T0 + dt.timedelta(seconds=t_s), "raw": raw, "crc": "none", "rssi_dbm": rssi,
            "rssi_raw": None, "mode": "t1", "manufacturer": man, "identification": ident, "version": 27,
            "medium": "heat_outlet", "security": "ell_ctr", "status": "decrypted"}


def _doc():
    return {"site": "Block A", "name": "March survey", "technician": "ann", "notes": "",
            "settings": {"dongle": "im871a", "mode": "t1", "sensitivity_dbm": -105.0, "margin_db": 10.0,
                         "min_ratio": 0.8, "min_expected": 5.0},
            "locations": [
                {"name": "Stairwell", "floor": "0", "flat": "", "riser": "R1", "note": "by the door",
                 "started_at": T0, "ended_at": T0 + dt.timedelta(seconds=300),
                 "telegrams": [_tg(16 * i, "KAM", "71234567", -80.5 - i, bytes([0x1E, 0x44, i]) + bytes(8))
                               for i in range(5)]},
                {"name": "Flat 3B", "floor": "3", "flat": "3B", "riser": "", "note": "",
                 "started_at": T0 + dt.timedelta(seconds=400), "ended_at": T0 + dt.timedelta(seconds=700),
                 "telegrams": [_tg(400 + 30 * i, "DME", "41000001", -97.0, bytes([0x2E, 0x44, i]) + bytes(8))
                               for i in range(3)]},
            ]}


def test_save_and_read_back(reg):
    meter = reg.create_meter({"site": "Block A", "manufacturer": "Kamstrup", "model": "Multical 403",
                              "serial": "71234567", "mbus_manufacturer": "KAM", "secondary_address": "71234567"},
                             user="setup")
    sid = reg.save_survey(_doc(), user="ann", results={"KAM 71234567": "reliable"})
    back = reg.survey(sid)
    assert back["site"] == "Block A" and back["name"] == "March survey" and back["digest_ok"]
    assert back["settings"] == _doc()["settings"] and back["results"] == {"KAM 71234567": "reliable"}
    assert back["started_at"] == T0.replace(tzinfo=None) and back["created_by"] == recorded(reg, "ann")
    locs = back["locations"]
    assert [x["name"] for x in locs] == ["Stairwell", "Flat 3B"] and locs[0]["riser"] == "R1"
    sent = _doc()["locations"]
    for got, want in zip(locs, sent):
        assert [t["raw"] for t in got["telegrams"]] == [t["raw"] for t in want["telegrams"]]
        assert [t["rssi_dbm"] for t in got["telegrams"]] == [t["rssi_dbm"] for t in want["telegrams"]]
        assert [t["received_at"] for t in got["telegrams"]] == \
            [t["received_at"].replace(tzinfo=None) for t in want["telegrams"]]
    # matched to the register's meter by FLAG code and secondary address (the Diehl meter is not in it)
    assert {t["meter_id"] for t in locs[0]["telegrams"]} == {meter.id}
    assert {t["meter_id"] for t in locs[1]["telegrams"]} == {None}
    listed = reg.list_surveys(site="Block A")
    assert [(s["id"], s["locations"], s["telegrams"]) for s in listed] == [(sid, 2, 8)]
    assert reg.list_surveys(site="Elsewhere") == []
    ev = [e for e in reg.events() if e["entity"] == "radio_surveys"]
    assert len(ev) == 1 and ev[0]["after"]["telegrams"] == 8 and ev[0]["after"]["matched_meters"] == 1
    assert "raw" not in str(ev[0]["after"])


def test_a_changed_telegram_no_longer_matches_the_digest(reg):
    from app.storage.register import RST

    sid = reg.save_survey(_doc(), user="ann")
    assert reg.survey(sid)["digest_ok"]
    with reg.engine.begin() as conn:            # someone edits an RSSI behind the register's back
        conn.execute(update(RST).where(RST.c.seq == 0).values(rssi_dbm=-60.0))
    assert not reg.survey(sid)["digest_ok"]


def test_bad_surveys_are_refused_in_one_line(reg):
    doc = _doc()
    with pytest.raises(ValidationError, match="the site"):
        reg.save_survey(dict(doc, site="  "))
    with pytest.raises(ValidationError, match="at least one location"):
        reg.save_survey(dict(doc, locations=[]))
    with pytest.raises(ValidationError, match="location 1 of the survey has no name"):
        reg.save_survey(dict(doc, locations=[dict(doc["locations"][0], name="")]))
    with pytest.raises(NotFound):
        reg.survey(999)
    assert reg.list_surveys() == []
