"""``heatmeter read --save``: the readout is stored byte for byte against its meter in the register."""
from __future__ import annotations

import json

from drivers.mbus import decode

from tests.helpers.buses import MIXED
from tests.helpers.cli import run_cli, state


# One meter is read, never a silent address: a generous response timeout costs nothing and keeps
# the test independent of how busy the machine is.
FAST = ["--baud", "38400", "--timeout-ms", "500"]


def _register(url):
    from app.storage.register import open_register

    return open_register(url)


def test_save_without_match_prints_proposal_and_fails_then_create_saves(simulator, tmp_path):
    st = tmp_path / "state.json"
    sim = simulator("--state-file", str(st), config=MIXED, tcp=False)
    url = f"sqlite:///{tmp_path / 'reg.db'}"

    p = run_cli("read", "--port", sim.pty, "--address", "1", *FAST, "--save", "--db", url)
    assert p.returncode == 1
    err = p.stderr.strip().splitlines()[-1]
    assert err.startswith("heatmeter: meter KAM 71234567 is not in the register") and "--create" in err
    assert "--create would add it as" in p.stdout and "serial=71234567" in p.stdout
    reg = _register(url)
    assert reg.count_meters() == 0                          # nothing stored without --create
    reg.close()

    p = run_cli("read", "--port", sim.pty, "--address", "1", *FAST, "--save", "--create", "--db", url,
                "--user", "tech1", "--site", "Riser 3", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    saved = doc["register"]
    assert saved["status"] == "saved" and saved["created"] is True

    meter_state = state(st)[("71234567", "KAM")]
    reg = _register(url)
    try:
        m = reg.find_meter("KAM", "71234567")
        assert (m.mbus_manufacturer, m.secondary_address, m.primary_address, m.site) == ("KAM", "71234567", 1,
                                                                                         "Riser 3")
        (ro,) = reg.readouts(m.id)
        assert ro["read_by"] == "tech1"
        # the raw frames are what the meter sent: they decode to the telegrams of the document, and their
        # access numbers are those of the simulator's last answers
        assert [decode(f).to_json() for f in ro["frames"]] == doc["telegrams"] == ro["decoded"]
        sent = {s["access_number"] for s in meter_state["sent"]}
        assert {decode(f).access_number for f in ro["frames"]} <= sent
        cfg = next(c for c in MIXED["meters"] if (c["identification"], c["manufacturer"]) == ("71234567", "KAM"))
        assert len(ro["frames"]) == len(doc["telegrams"]) == cfg.get("telegrams", 1)
    finally:
        reg.close()

    # a second read is matched by FLAG code + identification: no new meter, a second readout
    p = run_cli("read", "--port", sim.pty, "--address", "1", *FAST, "--save", "--db", url)
    assert p.returncode == 0, p.stderr
    assert "saved to the register: readout 2 of Kamstrup 71234567" in p.stdout
    reg = _register(url)
    try:
        assert reg.count_meters() == 1 and len(reg.readouts(reg.find_meter("KAM", "71234567").id)) == 2
    finally:
        reg.close()

    p = run_cli("read", "--port", sim.pty, "--address", "1", *FAST, "--create")
    assert p.returncode == 2 and p.stderr.strip() == "heatmeter: --create and --site go with --save"
