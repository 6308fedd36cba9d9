"""The ``heatmeter`` command against simulated meters on a pseudo-terminal: EN 62056-21 and KMP reads,
``read --history``, ``set-clock`` (a meter that refuses, one whose clock does not move, a make that counts
reconfigurations), writes kept in the register.

Expected values come from the simulated meters' configuration (registers frozen: time scale 0) and from
the standards (EN 13757-3 storage numbers: the month starts; EN 62056-21 modes), not from our own output.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.helpers.cli import run_cli

UH50 = {"identification": "66153690", "manufacturer": "LUG", "version": 2, "medium": 4, "layout": "landis",
        "primary_address": 2, "energy_kwh": 91353.0, "volume_m3": 3329.67,
        "optical": {"protocol": "iec62056-21"}}
MULTICAL = {"identification": "71234567", "manufacturer": "KAM", "version": 8, "medium": 4, "layout": "kamstrup",
            "primary_address": 1, "telegrams": 2, "energy_kwh": 15234.0, "volume_m3": 412.7, "flow_m3h": 1.2,
            "theta_flow_c": 72.0, "dtheta_k": 24.0, "history_months": 6, "optical": {"protocol": "kmp"}}
SONTEX = {"identification": "30500001", "manufacturer": "SON", "version": 13, "medium": 12, "primary_address": 5,
          "layout": "sontex", "energy_kwh": 3003.0, "volume_m3": 80.0}
# a Kamstrup whose version byte names no model: it may be a MULTICAL 403 (25 reconfigurations)
KAM_UNKNOWN = {"identification": "12345678", "manufacturer": "KAM", "version": 0x1B, "medium": 4,
               "primary_address": 7, "layout": "kamstrup", "energy_kwh": 4321.0, "volume_m3": 99.0}


def register_with(tmp_path, **fields) -> str:
    """A register (SQLite file) holding one meter; its URL."""
    from app.storage.register import open_register

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    with open_register(url) as reg:
        reg.create_meter({"site": "North", **fields}, user="ann")
    return url


def doc_of(p) -> dict:
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def values(doc: dict) -> dict:
    """(quantity, function, storage) -> value of the plain registers (tariff 0, subunit 0, no modifiers)."""
    out: dict = {}
    for r in doc["records"]:
        if r["tariff"] == 0 and r["subunit"] == 0 and not r.get("modifiers") and r["value"] is not None:
            out.setdefault((r["quantity"], r["function"], r["storage"]), r["value"])
    return out


# --- optical protocols ---------------------------------------------------------------------

@pytest.mark.parametrize("mode, offered, baud", [("A", 300, 300), ("B", 2400, 2400), ("C", 9600, 9600)])
def test_read_a_uh50_through_its_optical_port(sim, mode, offered, baud):
    _, path = sim({"meters": [dict(UH50, optical={"protocol": "iec62056-21", "mode": mode, "baud": offered})]},
                  optical="auto", time_scale=0)
    doc = doc_of(run_cli("read", "--port", path, "--protocol", "iec62056-21", "--json"))
    assert (doc["protocol"], doc["mode"], doc["baud"]) == ("iec62056-21", mode, baud)
    assert doc["secondary_address"] == "66153690" and doc["telegrams"][0]["manufacturer"] == "LUG"
    got = values(doc)
    # 91353 kWh x 3.6 MJ/kWh = 328.8708 GJ, printed with three decimals by the meter: 328.870 GJ
    assert got[("energy", "instantaneous", 0)] == 328_870_000_000
    assert got[("volume", "instantaneous", 0)] == 3329.67
    raw = {r["register"]: r for r in doc["records"]}
    assert raw["6.8"]["text"] == "6.8(0328.870*GJ)"              # the data set as the meter sent it


def test_read_auto_picks_the_optical_protocol_of_the_make(sim):
    _, path = sim({"meters": [MULTICAL]}, optical="auto", time_scale=0)
    doc = doc_of(run_cli("read", "--port", path, "--expect", "71234567.KAM", "--json"))
    assert doc["protocol"] == "kmp" and doc["baud"] == 1200
    got = values(doc)
    assert got[("energy", "instantaneous", 0)] == 15_234_000       # E1 15234 kWh
    assert got[("volume", "instantaneous", 0)] == 412.7            # V1
    assert got[("flow_temperature", "instantaneous", 0)] == 72.0   # T1
    assert got[("return_temperature", "instantaneous", 0)] == 48.0  # T2 = T1 - 24 K
    # another meter named: the identity check refuses it (status 1), nothing printed on stdout
    p = run_cli("read", "--port", path, "--protocol", "kmp", "--expect", "71234568.KAM", "--json")
    assert p.returncode == 1 and p.stdout == ""
    errors = [line for line in p.stderr.splitlines() if not line.startswith("read: ")]   # progress lines aside
    assert errors == ["heatmeter: another meter answered (71234567.KAM, not 71234568.KAM.FF.FF)"]


def test_read_refuses_options_that_do_not_name_a_protocol(sim):
    _, path = sim({"meters": [MULTICAL]}, optical="auto", time_scale=0)
    for argv, words in ((["--expect", "30500001.SON"], "give --address N or --secondary ID"),
                        (["--protocol", "kmp", "--address", "1"], "--address goes with M-Bus"),
                        (["--protocol", "mbus"], "M-Bus needs --address")):
        p = run_cli("read", "--port", path, *argv)
        assert p.returncode == 2 and words in p.stderr and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


# --- history -------------------------------------------------------------------------------

def month_start(today: dt.date, back: int) -> str:
    y, m = today.year, today.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1).isoformat()


def test_read_history_puts_every_stored_value_with_its_month(sim):
    _, path = sim({"meters": [MULTICAL]}, time_scale=0)
    today = dt.date.today()
    doc = doc_of(run_cli("read", "--port", path, "--address", "1", "--history", "--json"))
    [sel] = doc["selections"]
    assert (sel["type"], sel["subcode"], sel["acknowledged"]) == ("enhanced_billing", 0x30, True)
    h = doc["history"]
    # storage 1 is the start of the current month, storage k the k-1 months before (6 months kept)
    assert {k: v for k, v in h["dates"].items() if k != "0"} == {str(k): month_start(today, k - 1)
                                                                 for k in range(1, 7)}
    assert h["dates"]["0"][:10] == today.isoformat()
    energy = next(s for s in h["series"] if s["quantity"] == "energy" and not s.get("modifiers")
                  and s["function"] == "instantaneous" and s["tariff"] == 0)
    pts = energy["points"]
    assert [p["storage"] for p in pts] == list(range(7))
    assert pts[0]["value"] == 15_234_000                           # the register now
    stored = [p["value"] for p in pts]
    assert all(a >= b for a, b in zip(stored, stored[1:]))        # never more in an older month
    assert all(p["date"] == h["dates"][str(p["storage"])] for p in pts)
    assert h["notes"] == []


def test_read_history_through_the_optical_port_has_the_yearly_values(sim):
    _, path = sim({"meters": [UH50]}, optical="auto", time_scale=0)
    doc = doc_of(run_cli("read", "--port", path, "--protocol", "iec62056-21", "--history", "--json"))
    h = doc["history"]
    assert h["dates"]["1"] == f"{dt.date.today().year}-01-01"        # 6.36(01-01&00:00): the yearly set day
    assert doc["selections"] == []
    energy = next(s for s in h["series"] if s["quantity"] == "energy")
    assert [p["storage"] for p in energy["points"]] == [0, 1]
    assert energy["points"][0]["value"] == 328_870_000_000


# --- set-clock -----------------------------------------------------------------------------

def test_set_clock_of_a_meter_an_hour_behind_is_confirmed_and_kept_in_the_register(sim, tmp_path):
    server, path = sim({"meters": [dict(SONTEX, clock_offset_s=-3600)]})
    db = register_with(tmp_path, manufacturer="Sontex", model="Supercal 531", serial="30500001",
                       secondary_address="30500001", mbus_manufacturer="SON")
    doc = doc_of(run_cli("set-clock", "--port", path, "--address", "5", "--json", "--save", "--db", db,
                         "--user", "tech"))
    assert (doc["ok"], doc["outcome"], doc["acknowledged"]) == (True, "confirmed", True)
    assert abs(doc["offset_before_s"] + 3600) <= 60 and abs(doc["offset_after_s"]) <= 90
    [written] = server.bus.meters[0].clock_writes
    assert written == doc["target"]
    sent = [bytes.fromhex(f["hex"]) for f in doc["frames"] if f["direction"] == "tx"]
    snd = [f for f in sent if f[:1] == b"\x68" and f[6] == 0x51]
    assert len(snd) == 1 and snd[0][7:9] == b"\x04\x6d"            # DIF 0x04, VIF 0x6D: one write, no repeat
    assert doc["register"]["status"] == "saved"
    hist = doc_of(run_cli("meters", "history", "Sontex", "30500001", "--db", db, "--json"))
    ev = [e for e in hist if e["action"] == "write_clock"]
    assert len(ev) == 1 and ev[0]["user"] == "tech" and ev[0]["after"]["ok"] is True
    assert ev[0]["after"]["frames"] == len(doc["frames"])


def test_set_clock_of_a_meter_that_refuses(sim):
    server, path = sim({"meters": [dict(SONTEX, faults={"clock": "refuse"})]})
    p = run_cli("set-clock", "--port", path, "--address", "5", "--to", "2030-06-01T12:00", "--json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert (doc["ok"], doc["outcome"], doc["acknowledged"]) == (False, "refused", False)
    assert server.bus.meters[0].clock_writes == []
    assert p.stderr.startswith("heatmeter: clock of meter 30500001 not confirmed: the meter did not accept")


def test_set_clock_of_a_meter_whose_clock_does_not_move(sim):
    _, path = sim({"meters": [dict(SONTEX, faults={"clock": "stuck"})]})
    p = run_cli("set-clock", "--port", path, "--address", "5", "--to", "2030-06-01T12:00")
    assert p.returncode == 1 and p.stdout == ""
    assert "acknowledged, but the meter's clock still reads" in p.stderr and p.stderr.count("\n") == 1


def test_set_clock_needs_yes_for_a_make_that_counts_reconfigurations(sim):
    server, path = sim({"meters": [KAM_UNKNOWN]})
    p = run_cli("set-clock", "--port", path, "--address", "7")
    assert p.returncode == 2 and server.bus.meters[0].clock_writes == []
    assert "MULTICAL 403" in p.stderr and "25" in p.stderr and "add --yes" in p.stderr
    doc = doc_of(run_cli("set-clock", "--port", path, "--address", "7", "--yes", "--to", "2031-02-03T04:05",
                         "--json"))
    assert doc["outcome"] == "confirmed" and doc["after"] == "2031-02-03T04:05:00"
    assert doc["reconfiguration"]["limit"] == 25 and doc["reconfiguration"]["sure"] is False
    # a model that surely counts: the warning says so
    p = run_cli("set-clock", "--port", path, "--address", "7", "--model", "MULTICAL 403")
    assert p.returncode == 2 and "MULTICAL 403 counts every reconfiguration" in p.stderr


def test_set_clock_bad_input_is_one_line(sim):
    _, path = sim({"meters": [SONTEX]})
    for argv, words in ((["--to", "tomorrow"], "is not 'now' or an ISO date-time"),
                        (["--to", "2099-01-01T00:00"], "2000-2080"),
                        (["--tolerance-s", "-5"], "tolerance")):
        p = run_cli("set-clock", "--port", path, "--address", "5", *argv)
        assert p.returncode == 2 and words in p.stderr and p.stderr.count("\n") == 1


def test_set_address_shows_before_and_after_and_moves_the_register_record(sim, tmp_path):
    _, path = sim({"meters": [SONTEX]})
    db = register_with(tmp_path, manufacturer="Sontex", model="531", serial="30500001",
                       secondary_address="30500001", mbus_manufacturer="SON", primary_address=5)
    p = run_cli("set-address", "--port", path, "--address", "5", "--new-address", "17", "--save", "--db", db)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("meter 30500001: primary address 5 -> 17 (confirmed")
    shown = doc_of(run_cli("meters", "show", "Sontex", "30500001", "--db", db, "--json"))
    assert shown["primary_address"] == 17 and shown["meter_writes"] == 1
    # a meter the register does not know: the write is done, but not kept: status 1, said in one line
    p = run_cli("set-address", "--port", path, "--address", "17", "--new-address", "18", "--save", "--db",
                f"sqlite:///{tmp_path / 'empty.db'}")
    assert p.returncode == 1 and "is not in the register" in p.stderr
