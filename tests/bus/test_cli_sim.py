"""The real bus commands against ``heatmeter simulate`` over a pseudo-terminal and over TCP.

Expected sets and values come from the simulator's configuration and from the
state it reports (``--state-file``: the records it encoded in each answer),
never from our own earlier output.
"""
from __future__ import annotations

import json

import pytest

from tests.helpers.buses import ADVERSARIAL, MIXED, PREFIXES, identities
from tests.helpers.cli import run_cli, state

FAST = ["--baud", "38400", "--timeout-ms", "70"]   # the test buses run at 38400 baud
# reads of meters that answer: a timeout only runs out when the simulator is slow (a loaded machine), and an
# answer later than the timeout comes back as a repeated telegram; a longer one costs nothing otherwise
READ = ["--baud", "38400", "--timeout-ms", "400"]


def found_set(doc: dict) -> set[tuple]:
    return {(m["secondary_address"], m["manufacturer"], m["version"], m["medium_code"]) for m in doc["meters"]}


def assert_records_match_sent(doc: dict, meter_state: dict) -> None:
    """Each decoded telegram's records equal what the simulator encoded in that answer."""
    sent = {s["access_number"]: s for s in meter_state["sent"]}
    assert doc["telegrams"], doc
    n = 0
    for tg in doc["telegrams"]:
        enc = sent[tg["access_number"]]["records"]
        assert len(tg["records"]) == len(enc)
        for got, exp in zip(tg["records"], enc):
            assert got["quantity"] == exp["quantity"]
            assert (got["storage"], got["tariff"]) == (exp["storage"], exp["tariff"])
            if isinstance(exp["value"], (int, float)):
                assert got["value"] == pytest.approx(exp["value"], rel=1e-9, abs=1e-9)
            else:
                assert got["value"] == exp["value"]
            n += 1
    assert len(doc["records"]) == n


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_primary_scan_finds_the_addressed_meters(simulator, transport):
    sim = simulator(config=MIXED)
    port = sim.pty if transport == "pty" else sim.tcp_url
    p = run_cli("scan", "--port", port, "--mode", "primary", "--from", "0", "--to", "12", *FAST, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    expected = {(m["identification"], m["manufacturer"], m["version"], m["medium"]) for m in MIXED["meters"]
                if 1 <= m["primary_address"] <= 12 and not m.get("wakeup")}
    assert found_set(doc) == expected
    assert doc["garbled_addresses"] == [0]          # three secondary-only meters share address 0
    assert doc["requests"] >= 13 and doc["mode"] == "primary"
    addrs = [m["primary_address"] for m in doc["meters"]]
    assert sorted(m["secondary_address"] for m in doc["meters"]) == [m["secondary_address"] for m in doc["meters"]]
    assert 6 not in addrs                            # the sleepy optical meter stays silent without wake-up


@pytest.mark.parametrize("transport,bus", [("pty", PREFIXES), ("tcp", ADVERSARIAL)])
def test_secondary_search_finds_every_slave(simulator, transport, bus):
    sim = simulator(config=bus)
    port = sim.pty if transport == "pty" else sim.tcp_url
    p = run_cli("scan", "--port", port, "--mode", "secondary", *FAST, "--json", timeout=120)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert found_set(doc) == identities(bus)
    keys = [(m["secondary_address"], m["manufacturer"]) for m in doc["meters"]]
    assert keys == sorted(keys)


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_read_multi_telegram_with_faults_and_values(simulator, tmp_path, transport):
    st = tmp_path / "state.json"
    sim = simulator("--lose", "0.3", "--corrupt", "0.3", "--seed", "2", "--state-file", str(st), config=MIXED)
    port = sim.pty if transport == "pty" else sim.tcp_url
    p = run_cli("read", "--port", port, "--address", "4", *FAST, "--retries", "8", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert len(doc["telegrams"]) == 3
    assert [t["more_records_follow"] for t in doc["telegrams"]] == [True, True, False]
    meter = state(st)[("62100015", "SEN")]
    assert meter["stats"]["lost"] > 0 and meter["stats"]["corrupted"] > 0   # the faults did happen
    assert_records_match_sent(doc, meter)
    energy = [r for r in doc["records"] if r["quantity"] == "energy" and r["storage"] == 0]
    assert energy and energy[0]["value"] == pytest.approx(round(meter["energy_wh"] / 1000) * 1000, abs=1000)


def test_read_by_secondary_over_tcp(simulator, tmp_path):
    st = tmp_path / "state.json"
    sim = simulator("--state-file", str(st), config=MIXED, pty=False)
    p = run_cli("read", "--port", sim.tcp_url, "--secondary", "12345679", *READ, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["secondary_address"] == "12345679" and len(doc["telegrams"]) == 2
    assert_records_match_sent(doc, state(st)[("12345679", "SVM")])
    # same id on two manufacturers: the full secondary address tells them apart
    p = run_cli("read", "--port", sim.tcp_url, "--secondary", "12345678.GWF.35.07", *READ, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert {t["manufacturer"] for t in doc["telegrams"]} == {"GWF"}
    assert_records_match_sent(doc, state(st)[("12345678", "GWF")])
    # the bare id selects both: a collision, reported as such, with the way out (the full address)
    p = run_cli("read", "--port", sim.tcp_url, "--secondary", "12345678", *READ, "--retries", "1")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "share the id 12345678" in p.stderr and "ID.MAN.VV.MM" in p.stderr


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_wakeup_profile(simulator, tmp_path, transport):
    st = tmp_path / "state.json"
    sim = simulator("--state-file", str(st), config=MIXED)
    port = sim.pty if transport == "pty" else sim.tcp_url
    p = run_cli("read", "--port", port, "--address", "6", *FAST, "--retries", "0")
    assert p.returncode == 1 and "--wakeup" in p.stderr
    how = ["--wakeup"] if transport == "pty" else ["--profile", "engelmann"]   # generic head / family profile
    p = run_cli("read", "--port", port, "--address", "6", *FAST, *how, "--wakeup-ms", "300", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["secondary_address"] == "44556677"
    assert_records_match_sent(doc, state(st)[("44556677", "EFE")])


def test_echoing_converter(simulator, tmp_path):
    st = tmp_path / "state.json"
    sim = simulator("--echo", "--state-file", str(st), config=MIXED, tcp=False)
    p = run_cli("read", "--port", sim.pty, "--address", "1", *FAST, "--json")
    assert p.returncode == 0, p.stderr
    assert_records_match_sent(json.loads(p.stdout), state(st)[("71234567", "KAM")])


def test_set_address_and_baud(simulator, tmp_path):
    st = tmp_path / "state.json"
    sim = simulator("--state-file", str(st), config=MIXED)
    p = run_cli("set-address", "--port", sim.pty, "--secondary", "12345679", "--new-address", "42", *FAST, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ok"] is True
    assert state(st)[("12345679", "SVM")]["primary_address"] == 42
    p = run_cli("read", "--port", sim.pty, "--address", "42", *FAST, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["secondary_address"] == "12345679"
    # baud: over the pty the port follows, and the read at 9600 confirms it
    p = run_cli("set-baud", "--port", sim.pty, "--address", "42", "--new-baud", "9600", *FAST, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ok"] is True
    assert state(st)[("12345679", "SVM")]["baud"] == 9600
    p = run_cli("read", "--port", sim.pty, "--address", "42", *FAST[2:], "--baud", "9600", "--json")
    assert p.returncode == 0, p.stderr
    # a transparent TCP gateway cannot follow: acknowledged, not confirmed, exit 1, ok false
    p = run_cli("set-baud", "--port", sim.tcp_url, "--address", "1", "--new-baud", "300", *FAST, "--json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["ok"] is False and doc["acknowledged"] is True and doc["confirmed"] is False
    assert "not confirmed" in p.stderr


def test_set_address_refuses_an_address_in_use(simulator, tmp_path):
    """Moving a meter onto an address another meter answers at writes nothing, names the meter there
    and says how to tell meters apart that share an address (the full secondary address)."""
    st = tmp_path / "state.json"
    sim = simulator("--state-file", str(st), config=MIXED)
    p = run_cli("set-address", "--port", sim.pty, "--secondary", "12345679", "--new-address", "1", *FAST)
    assert p.returncode == 1, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert "71234567.KAM.08.04" in p.stderr and "nothing was written" in p.stderr
    assert "ID.MAN.VV.MM" in p.stderr
    meters = state(st)
    assert meters[("12345679", "SVM")]["primary_address"] == 0        # not moved
    assert meters[("71234567", "KAM")]["primary_address"] == 1
    # address 0 is shared by three meters: "several answer at once", nothing written either
    p = run_cli("set-address", "--port", sim.pty, "--address", "2", "--new-address", "0", *FAST)
    assert p.returncode == 1 and "several meters answer there" in p.stderr
    assert state(st)[("62100013", "LUG")]["primary_address"] == 2
    # the same address again: nothing to write (bad input, status 2)
    p = run_cli("set-address", "--port", sim.pty, "--address", "2", "--new-address", "2", *FAST)
    assert p.returncode == 2 and "already at primary address 2" in p.stderr
    # by full secondary address onto the address it already has: confirmed, nothing written
    p = run_cli("set-address", "--port", sim.pty, "--secondary", "62100013.LUG.02.04", "--new-address", "2",
                *FAST, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["ok"] is True and doc["acknowledged"] is False and "nothing written" in doc["detail"]


MOVED = {"baud": 38400, "meters": [
    {"identification": "71234567", "manufacturer": "KAM", "version": 8, "medium": 4, "primary_address": 1,
     "layout": "kamstrup"},
    {"identification": "12345679", "manufacturer": "SVM", "version": 9, "medium": 4, "primary_address": 2,
     "layout": "elster", "baud": 9600},
]}


def test_read_of_a_meter_at_another_baud_names_the_rate(simulator):
    """A meter moved to 9600 Bd read at 38400: the lead is the baud rate, not the optical wake-up."""
    sim = simulator(config=MOVED)
    p = run_cli("read", "--port", sim.pty, "--address", "2", *FAST, "--retries", "0")
    assert p.returncode == 1, p.stderr
    assert "answers at 9600 Bd" in p.stderr and "--baud 9600" in p.stderr and "--wakeup" not in p.stderr
    assert p.stderr.count("\n") == 1
    # nobody at address 3, at any rate: the other rates were tried, the hint says so
    p = run_cli("read", "--port", sim.pty, "--address", "3", *FAST, "--retries", "0")
    assert p.returncode == 1 and "other baud rates either" in p.stderr


def test_scan_at_the_wrong_baud_tries_the_others(simulator):
    """Scanning a 38400 Bd bus at 9600: nothing answers there, the line test finds 38400 and the scan runs
    again at that rate, saying so."""
    sim = simulator(config=MIXED)
    p = run_cli("scan", "--port", sim.pty, "--from", "1", "--to", "5", "--baud", "9600", "--timeout-ms", "70",
                "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["baud"] == 38400
    assert found_set(doc) == {(m["identification"], m["manufacturer"], m["version"], m["medium"])
                              for m in MIXED["meters"] if 1 <= m["primary_address"] <= 5}
    assert "nothing answered at 9600 Bd" in p.stderr and "scanning at 38400 Bd" in p.stderr
    # told not to: it says only that nothing answered
    p = run_cli("scan", "--port", sim.pty, "--from", "1", "--to", "2", "--baud", "9600", "--timeout-ms", "70",
                "--no-baud-search")
    assert p.returncode == 1 and "no meter answered" in p.stderr


def test_unplugged_mid_scan_prints_the_meters_found_so_far(simulator):
    """The port goes away during a scan: the meters found before are printed (stdout), the error is one
    line, exit 2."""
    import select
    import subprocess

    from tests.helpers.cli import heatmeter_argv

    sim = simulator(config=MIXED, tcp=False)
    proc = subprocess.Popen(heatmeter_argv() + ["scan", "--port", sim.pty, "--from", "1", "--to", "250", *FAST,
                                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        while seen.count("found ") < 2:              # two meters found: pull the plug
            r, _, _ = select.select([proc.stderr], [], [], 30)
            assert r, "the scan found nothing in time"
            seen += proc.stderr.readline()
        sim.stop()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, err
    doc = json.loads(out)
    assert doc["partial"] is True and len(doc["meters"]) >= 2
    ids = {m["secondary_address"] for m in doc["meters"]}
    assert {"71234567", "62100013"} <= ids
    last = err.strip().splitlines()[-1]
    assert last.startswith("heatmeter: ") and "listed on stdout" in last and "Traceback" not in err


def test_read_human_output_names_registers_and_scales_units(simulator, tmp_path):
    """Human output: the telegram number, "Heat energy" / "Cooling energy" (MMS 1.1.13), kWh, hours."""
    st = tmp_path / "state.json"
    sim = simulator("--state-file", str(st), config=MIXED)
    p = run_cli("read", "--port", sim.pty, "--address", "1", *FAST)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("meter 71234567 at address 1: Kamstrup (KAM)")
    assert lines[1].split()[:4] == ["tel", "register", "value", "unit"]
    heat = [ln for ln in lines if " Heat energy " in ln]
    current = heat[0].split()                         # telegram 1, current value (no storage number)
    assert current[0] == "1" and current[-1] == "kWh"
    kwh = float("".join(current[3:-1]))
    assert kwh == pytest.approx(state(st)[("71234567", "KAM")]["energy_wh"] / 1000, abs=1.0)
    on_time = next(ln for ln in lines if " On time " in ln).split()
    assert on_time[-1] == "h" and " Wh" not in p.stdout and "degC" not in p.stdout
    p = run_cli("read", "--port", sim.pty, "--address", "4", *FAST)   # three telegrams: each record says which
    assert {ln.split()[0] for ln in p.stdout.splitlines()[2:]} == {"1", "2", "3"}
    p = run_cli("read", "--port", sim.pty, "--address", "7", *FAST)   # a cooling meter (medium 0x0A)
    assert p.returncode == 0, p.stderr
    assert " Cooling energy " in p.stdout and " Heat energy " not in p.stdout
    p = run_cli("read", "--port", sim.pty, "--address", "8", *FAST)   # heat / cooling (medium 0x0D)
    assert " Cooling energy " in p.stdout and " Heat energy " in p.stdout and "accumulation" not in p.stdout
