"""Bad input to the bus commands: one line on stderr, the contract's exit status, no traceback, no hang."""
from __future__ import annotations

import fcntl
import json
import os
import socket

import pytest

from tests.helpers.cli import run_cli


def one_line_error(p) -> str:
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert "Traceback" not in p.stderr
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("heatmeter")
    return lines[0]


def test_nonexistent_port(tmp_path):
    p = run_cli("scan", "--port", str(tmp_path / "ttyUSB9"), "--mode", "primary", "--json")
    assert p.returncode == 2
    assert "not found" in one_line_error(p)
    assert p.stdout == ""


def test_bad_url_scheme():
    p = run_cli("read", "--port", "nosuch://x", "--address", "5")
    assert p.returncode == 2
    one_line_error(p)


def test_busy_port(simulator):
    sim = simulator(tcp=False)
    fd = os.open(sim.pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)     # what another program holding the port does
        p = run_cli("read", "--port", sim.pty, "--address", "1", "--json")
    finally:
        os.close(fd)
    assert p.returncode == 2
    assert "busy" in one_line_error(p)


def test_refused_gateway():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                   # nothing listens there now
    p = run_cli("scan", "--port", f"socket://127.0.0.1:{port}", "--json")
    assert p.returncode == 2
    assert "refused" in one_line_error(p)


def test_meter_that_never_answers(simulator, tmp_path):
    state_file = tmp_path / "state.json"
    sim = simulator("--state-file", str(state_file), tcp=False)
    p = run_cli("read", "--port", sim.pty, "--address", "77", "--timeout-ms", "200", "--retries", "1", "--json")
    assert p.returncode == 1
    assert "no answer" in one_line_error(p)
    assert p.stdout == ""
    # it gave up after the one retry it was allowed: the request and its repetition reached the bus,
    # then one SND_NKE at each other baud rate (is the meter at another rate?)
    from drivers.session import BAUD_SEARCH_ORDER

    assert json.loads(state_file.read_text())["requests"] == 1 + 1 + len(set(BAUD_SEARCH_ORDER) - {2400})
    assert "other baud rates" in one_line_error(p)


@pytest.mark.parametrize("args", [
    ["scan", "--port", "/dev/null", "--from", "300"],
    ["scan", "--port", "/dev/null", "--from", "9", "--to", "3"],
    ["read", "--port", "/dev/null"],
    ["read", "--port", "/dev/null", "--secondary", "12x45678"],
    ["set-baud", "--port", "/dev/null", "--address", "1", "--new-baud", "1234"],
    ["read", "--port", "/dev/null", "--address", "1", "--baud", "12345"],
    ["simulate", "--meters", "3"],
])
def test_bad_arguments(args):
    p = run_cli(*args)
    assert p.returncode == 2
    one_line_error(p)
