"""``heatmeter read`` and the app's bus service behave the same, because both run the one bus session.

Both talk to the same simulated bus over a pseudo-terminal: (a) a battery meter
behind an optical head that needs a wake-up, read through a generic head - both
use the meter family's profile; (b) a wrong meter answering - a meter replaced at
its primary address, and a water meter whose firmware answers a selection meant
for another make's meter with the same number - both refuse the readout with
the same words. Identities below are those of the bus configuration.
"""
from __future__ import annotations

import json

import pytest

from drivers.simulator import MeterConfig, SimBus, SimServer

BAUD = 38400
CONFIGS = [
    MeterConfig("44556677", "EFE", 0x04, 0x04, primary_address=6, layout="engelmann", baud=BAUD,
                wakeup={"byte": 0x55, "min_ms": 250, "awake_s": 30}),
    MeterConfig("71234567", "KAM", 0x08, 0x04, primary_address=1, layout="kamstrup", baud=BAUD),
    MeterConfig("12345678", "GWF", 0x35, 0x07, primary_address=0, layout="water", baud=BAUD,
                faults={"select_id_only": True}),
    # a make whose optical port wakes on NUL characters only (registered by the nul_make fixture)
    MeterConfig("00000005", "QQN", 0x01, 0x04, primary_address=5, layout="generic", baud=BAUD,
                wakeup={"byte": 0x00, "min_ms": 250, "awake_s": 30}),
]
LINE = ["--baud", str(BAUD), "--timeout-ms", "100", "--retries", "1"]


@pytest.fixture
def server(tmp_path):
    server = SimServer(SimBus.from_configs(CONFIGS, seed=2), baud=BAUD, line_scale=0.0)
    try:
        server.open_pty(str(tmp_path / "mbus"))
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pty(server):
    return server.pty_path


@pytest.fixture
def ctx(qapp):
    from app.ui.context import AppContext
    from app.ui.settings import Settings

    c = AppContext(Settings())
    yield c
    c.bus.disconnect()
    c.tasks.shutdown(5.0)


def cli_read(capsys, *args: str) -> tuple[int, dict | None, str]:
    """``heatmeter read`` in this process: (exit status, JSON document or None, stderr)."""
    from app.cli.main import main

    status = main(["read", *args, *LINE, "--json"])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if out.strip() else None), err


def gui_connect(ctx, qtbot, port: str, profile: str, preamble_ms: int | None = None):
    from app.ui.bus import ConnectionSpec

    bus = ctx.bus
    bus.connect(ConnectionSpec(port, BAUD, profile=profile, timeout_ms=100, retries=1, preamble_ms=preamble_ms),
                test=False)
    qtbot.waitUntil(lambda: bus.connected, timeout=10000)
    return bus


def gui_run(qtbot, start) -> tuple[object, list[str]]:
    """Start a bus task with ``start(on_finished=, on_failed=)`` and wait for its end: (result, failures)."""
    got, failed, ended = [], [], []
    task = start(on_finished=got.append, on_failed=failed.append)
    task.ended.connect(ended.append)
    qtbot.waitUntil(lambda: bool(ended), timeout=20000)
    return (got[0] if got else None), failed


def test_a_meter_needing_a_wake_up_is_read_with_its_family_profile_by_both(pty, ctx, qtbot, capsys):
    status, doc, err = cli_read(capsys, "--port", pty, "--secondary", "44556677.EFE.04.04", "--wakeup",
                                "--wakeup-ms", "300")
    assert status == 0, err
    assert doc["secondary_address"] == "44556677" and doc["profile"] == "engelmann"
    status, doc_by_address, err = cli_read(capsys, "--port", pty, "--address", "6", "--wakeup", "--wakeup-ms", "300")
    assert status == 0 and doc_by_address["profile"] == "engelmann"      # family known after the first answer

    from app.ui.bus import KnownMeter

    bus = gui_connect(ctx, qtbot, pty, "optical-55", preamble_ms=300)
    efe = bus.add_meter(KnownMeter("44556677", "EFE", 0x04, 0x04, "", primary_address=6))
    ro, failed = gui_run(qtbot, lambda **cb: bus.read_meter(efe, **cb))
    assert not failed and ro.profile == doc["profile"] and ro.meter_key == "44556677.EFE.04.04"
    ro, failed = gui_run(qtbot, lambda **cb: bus.read_address(address=6, **cb))
    assert not failed and ro.profile == doc_by_address["profile"]


@pytest.fixture
def nul_make():
    from drivers.makes import Make, register, unregister
    from drivers.wakeup import WakeupProfile

    register(Make("nulheat", "Nul Heat", ("QQN",),
                  wakeup=WakeupProfile("nulheat-ir", 0x00, 900, "E", 50, True, 20.0, label="Optical head, Nul Heat")))
    yield
    unregister("nulheat")


def test_both_choose_the_family_profile_before_the_first_answer_when_the_make_is_known(server, ctx, qtbot, capsys,
                                                                                         nul_make):
    from app.ui.bus import KnownMeter

    pty = server.pty_path
    bus = gui_connect(ctx, qtbot, pty, "optical-55", preamble_ms=300)
    # make unknown until it answers: the generic head's 0x55 preamble does not wake this meter
    ro, failed = gui_run(qtbot, lambda **cb: bus.read_address(address=5, **cb))
    assert ro is None and failed[0].startswith("No answer")
    # the make is known: its family's NUL preamble (of the asked length) wakes it
    meter = bus.add_meter(KnownMeter("00000005", "QQN", 0x01, 0x04, "", primary_address=5))
    ro, failed = gui_run(qtbot, lambda **cb: bus.read_meter(meter, **cb))
    assert not failed and ro.profile == "nulheat-ir" and ro.meter_key == "00000005.QQN.01.04"
    bus.disconnect()
    qtbot.waitUntil(ctx.tasks.is_idle, timeout=10000)      # the port is closed: the CLI may open it
    server.bus.sleep()

    status, doc, err = cli_read(capsys, "--port", pty, "--address", "5", "--wakeup", "--wakeup-ms", "300")
    assert status == 1 and "no answer" in err
    status, doc, err = cli_read(capsys, "--port", pty, "--secondary", "00000005.QQN.01.04", "--wakeup",
                                "--wakeup-ms", "300")
    assert status == 0, err
    assert doc["profile"] == ro.profile and doc["secondary_address"] == "00000005"


def test_without_a_wake_up_both_say_the_meter_did_not_answer(pty, ctx, qtbot, capsys):
    status, doc, err = cli_read(capsys, "--port", pty, "--address", "6")
    assert status == 1 and doc is None and "no answer" in err and "--wakeup" in err
    bus = gui_connect(ctx, qtbot, pty, "none")
    ro, failed = gui_run(qtbot, lambda **cb: bus.read_address(address=6, **cb))
    assert ro is None and failed[0].startswith("No answer") and "optical head profile" in failed[0]


@pytest.mark.parametrize("cli_args,known", [
    # the meter at address 1 was replaced: 99999999 is expected there, 71234567 answers
    (["--address", "1", "--expect", "99999999.KAM.08.04"], ("99999999", "KAM", 0x08, 0x04, 1)),
    # a selection of 12345678.KAM.1B.04 is answered by the GWF meter that compares only the number
    (["--secondary", "12345678.KAM.1B.04"], ("12345678", "KAM", 0x1B, 0x04, None)),
])
def test_a_wrong_meter_answering_is_refused_by_both_with_the_same_words(pty, ctx, qtbot, capsys, cli_args, known):
    answering = "71234567.KAM.08.04" if known[4] == 1 else "12345678.GWF.35.07"
    expected = f"{known[0]}.{known[1]}.{known[2]:02X}.{known[3]:02X}"
    words = f"another meter answered ({answering}, not {expected})"

    status, doc, err = cli_read(capsys, "--port", pty, *cli_args)
    assert status == 1 and doc is None
    assert err.strip().splitlines()[-1] == f"heatmeter: {words}"      # after the progress lines

    from app.ui.bus import KnownMeter

    bus = gui_connect(ctx, qtbot, pty, "none")
    meter = bus.add_meter(KnownMeter(*known[:4], "", primary_address=known[4]))
    ro, failed = gui_run(qtbot, lambda **cb: bus.read_meter(meter, **cb))
    assert ro is None and failed == [words[:1].upper() + words[1:] + "."]
    assert bus.meter(expected).last_readout is None                    # nothing kept from the wrong meter
