"""A master nobody here wrote: pyMeterBus's serial master reads our simulator through the pty.

pyMeterBus sends its own SND_NKE and REQ_UD2 and decodes the answer with its
own decoder; ``heatmeter read`` must report the same records. Registers are
frozen (``--time-scale 0``) so both reads see the same values.
"""
from __future__ import annotations

import json
import math

import pytest

from tests.helpers.buses import MIXED
from tests.helpers.cli import run_cli

meterbus = pytest.importorskip("meterbus")
serial = pytest.importorskip("serial")


def _same(ours: dict, theirs) -> bool:
    v = theirs.value
    if ours["storage"] != theirs.interpreted["storage_number"]:
        return False
    if isinstance(ours["value"], str):
        if ours["quantity"] in ("date", "datetime"):
            return ours["value"].startswith(str(v))          # pyMeterBus drops the seconds of type F
        return int(ours["value"]) == int(v)                   # BCD identifiers: digits vs number
    return math.isclose(float(v), ours["value"], rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("address", [1, 2, 5])
def test_pymeterbus_reads_the_same_records(simulator, address):
    sim = simulator("--time-scale", "0", config=MIXED, tcp=False)
    with serial.Serial(sim.pty, 38400, 8, "N", 1, timeout=0.5) as ser:   # a pty has no parity
        meterbus.send_ping_frame(ser, address)
        assert meterbus.recv_frame(ser, 1) == b"\xE5"
        meterbus.send_request_frame(ser, address)
        theirs = meterbus.load(meterbus.recv_frame(ser, meterbus.FRAME_DATA_LENGTH))
    p = run_cli("read", "--port", sim.pty, "--address", address, "--baud", "38400", "--timeout-ms", "100", "--json")
    assert p.returncode == 0, p.stderr
    ours = json.loads(p.stdout)["records"]
    assert len(ours) == len(theirs.records) > 5
    for o, t in zip(ours, theirs.records):
        assert _same(o, t), (o, t.interpreted)
