"""Scan algorithms, link-layer rules and the worker-facing hooks, on the in-process loopback.

The loopback runs the simulator on a virtual clock, so hundreds of requests
take milliseconds and many adversarial buses can be searched.
"""
from __future__ import annotations

import random
import threading

import pytest

from drivers import errors
from drivers.link import Link
from drivers.ops import read_meter
from drivers.scan import scan_primary, scan_secondary
from drivers.simulator import LoopbackTransport, MeterConfig, SimBus, SimServer, default_configs
from drivers.transport import SerialTransport

LAYOUTS = [("KAM", 4, "kamstrup"), ("LUG", 4, "landis"), ("ACW", 4, "itron"), ("GWF", 7, "water"),
           ("SON", 12, "sontex"), ("SEN", 4, "sensus"), ("EFE", 4, "engelmann"), ("SVM", 4, "elster")]


def adversarial_bus(seed: int) -> list[MeterConfig]:
    """Ids clustered on shared prefixes, same ids on other makes, a few primary addresses."""
    rng = random.Random(seed)
    stems = [f"{rng.randrange(10 ** 5):05d}" for _ in range(2)]
    out, used = [], set()
    for i in range(rng.randint(5, 14)):
        if out and rng.random() < 0.2:
            ident = rng.choice(out).identification          # same id, another make
        else:
            ident = rng.choice(stems) + f"{rng.randrange(1000):03d}"
            if rng.random() < 0.5:
                ident = ident[:7] + str(rng.randrange(10))   # 7-digit prefix shared with others
        man, med, lay = rng.choice(LAYOUTS)
        if (ident, man, med) in used:
            continue
        used.add((ident, man, med))
        out.append(MeterConfig(ident, man, rng.randrange(1, 60), med, primary_address=0, layout=lay))
    return out


def key(m) -> tuple:
    return (m.secondary_address, m.manufacturer, m.version, m.medium_code)


def cfg_key(c: MeterConfig) -> tuple:
    return (c.identification, c.manufacturer, c.version, c.medium)


@pytest.mark.parametrize("seed", range(12))
def test_secondary_search_misses_nobody(seed):
    cfgs = adversarial_bus(seed)
    link = Link(LoopbackTransport(SimBus.from_configs(cfgs, seed=seed)))
    res = scan_secondary(link)
    assert {key(m) for m in res.meters} == {cfg_key(c) for c in cfgs}
    assert res.requests == link.requests and not res.unresolved


def test_same_id_same_medium_split_on_version():
    cfgs = [MeterConfig("11112222", "KAM", 5, 4, layout="kamstrup"),
            MeterConfig("11112222", "LUG", 9, 4, layout="landis")]
    res = scan_secondary(Link(LoopbackTransport(SimBus.from_configs(cfgs))))
    assert {key(m) for m in res.meters} == {cfg_key(c) for c in cfgs}


def test_primary_scan_and_default_bus():
    cfgs = default_configs(12)
    link = Link(LoopbackTransport(SimBus.from_configs(cfgs)))
    res = scan_primary(link, first=0, last=250)
    expected = {cfg_key(c) for c in cfgs if c.primary_address > 0 and not c.wakeup}
    assert {key(m) for m in res.meters} == expected
    assert res.garbled == [0]                            # three slaves share primary address 0
    # one SND_NKE per address and one read per meter; at the shared address 0 (garbled E5) a REQ_UD2
    # and its two repeats, each garbled: no clean answer, so no proof of a single meter is tried
    assert res.requests == 251 + len(expected) + 3
    res2 = scan_secondary(link)
    assert {key(m) for m in res2.meters} == {cfg_key(c) for c in cfgs if not c.wakeup}


def test_progress_and_cancel_within_one_request():
    cfgs = default_configs(12)
    cancel = threading.Event()
    events = []
    link = Link(LoopbackTransport(SimBus.from_configs(cfgs)), cancel=cancel)

    def progress(ev):
        events.append(ev)
        if ev.found is not None and sum(e.found is not None for e in events) == 3:
            cancel.set()
            progress.at = link.requests

    with pytest.raises(errors.Cancelled) as exc:
        scan_secondary(link, progress=progress)
    assert link.requests == progress.at                  # not one request after Cancel
    assert len(exc.value.partial) == 3
    dones = [e.done for e in events]
    assert dones == sorted(dones) and all(e.total >= e.done for e in events)
    assert any(e.eta_s is not None for e in events)


def test_fcb_repeat_recovers_lost_telegram():
    cfg = MeterConfig("62100015", "SEN", 14, 4, primary_address=4, layout="sensus", telegrams=3,
                      faults={"lose": 0.5})
    bus = SimBus.from_configs([cfg], seed=5)
    res = read_meter(Link(LoopbackTransport(bus), retries=10), address=4)
    meter = bus.meters[0]
    assert meter.stats["lost"] > 0 and meter.stats["repeats"] > 0
    by_access = {s["access_number"]: s["telegram_index"] for s in meter.sent}
    assert [by_access[t.access_number] for t in res.telegrams] == [0, 1, 2]   # nothing skipped, nothing twice


def test_port_lost_mid_operation(tmp_path):
    server = SimServer(SimBus.from_configs(default_configs(3)), line_scale=0.0)
    path = server.open_pty(str(tmp_path / "bus"))
    server.start()
    tr = SerialTransport(path, 2400, timeout_s=0.2).open()
    try:
        link = Link(tr, retries=0)
        link.snd_nke(1)
        server.stop()                                     # the adapter is unplugged
        with pytest.raises(errors.PortLost) as lost:
            for _ in range(3):
                link.ping(1)
        # in words, never the raw "(5, 'Input/output error')" of termios
        assert "(5," not in str(lost.value) and "Errno" not in str(lost.value)
    finally:
        tr.close()


@pytest.mark.parametrize("exc,words", [
    (OSError(5, "Input/output error"), "the device stopped responding (input/output error: unplugged?)"),
    (Exception(5, "Input/output error"), "the device stopped responding (input/output error: unplugged?)"),
    (Exception("read failed: [Errno 5] Input/output error"), "the device stopped responding"),
    (OSError(104, "Connection reset by peer"), "the connection was reset by the gateway"),
    (Exception("device reports readiness to read but returned no data"), "device reports readiness"),
])
def test_port_failures_in_words(exc, words):
    from drivers.transport import os_error_words

    text = os_error_words(exc)
    assert text.startswith(words) and "(5," not in text


def test_req_ud1_and_application_reset_restart_the_telegram_cycle():
    cfg = MeterConfig("62100015", "SEN", 14, 4, primary_address=4, layout="sensus", telegrams=3)
    bus = SimBus.from_configs([cfg])
    link = Link(LoopbackTransport(bus))
    link.snd_nke(4)
    assert link.req_ud1(4) == b"\xE5"                      # no alarm data pending
    link.req_ud2(4)
    link.req_ud2(4)
    assert bus.meters[0].last_telegram_index == 1
    link.application_reset(4)
    link.req_ud2(4)
    assert bus.meters[0].last_telegram_index == 0          # CI 0x50 starts the readout over


def test_write_is_confirmed_or_reported_not_confirmed():
    from drivers.address import SecondaryMask
    from drivers.ops import set_primary_address

    cfgs = default_configs(12)
    bus = SimBus.from_configs(cfgs)
    link = Link(LoopbackTransport(bus), retries=1)
    ok = set_primary_address(link, secondary=SecondaryMask.parse("12345679"), new_address=42)
    assert ok.ok and ok.confirmed and bus.meters[8].primary_address == 42
    # moving a meter onto an address another meter already has: acknowledged, but the read
    # there is garbled, so it is reported as not confirmed
    bad = set_primary_address(link, address=42, new_address=1)
    assert bad.acknowledged and not bad.confirmed and not bad.ok
    assert "address 1" in bad.detail


def _three_at_address_zero(loss: float) -> list[MeterConfig]:
    return [MeterConfig("71234567", "KAM", 8, 4, primary_address=0, layout="kamstrup", faults={"lose": loss}),
            MeterConfig("62100013", "LUG", 2, 4, primary_address=0, layout="landis", faults={"lose": loss}),
            MeterConfig("62100014", "ACW", 9, 4, primary_address=0, layout="itron", faults={"lose": loss})]


@pytest.mark.parametrize("seed", range(8))
def test_a_collision_hidden_by_lost_answers_is_still_a_collision(seed):
    """Three meters on address 0, 30 % of their answers lost: now and then only one answers, cleanly.
    That clean answer is listed, but the address stays marked garbled (a collision until proven otherwise)."""
    cfgs = _three_at_address_zero(0.3)
    link = Link(LoopbackTransport(SimBus.from_configs(cfgs, seed=seed)))
    res = scan_primary(link, first=0, last=0)
    assert res.garbled == [0]
    assert {key(m) for m in res.meters} <= {cfg_key(c) for c in cfgs}
    assert res.to_json()["garbled_addresses"] == [0]


@pytest.mark.parametrize("seed", range(4))
def test_one_meter_losing_answers_is_no_collision(seed):
    """Lost answers alone (silence) never make a collision: the meter is found and the address is clean."""
    cfg = MeterConfig("62100015", "SEN", 14, 4, primary_address=4, layout="sensus", faults={"lose": 0.5})
    link = Link(LoopbackTransport(SimBus.from_configs([cfg], seed=seed)), retries=4)
    res = scan_primary(link, first=3, last=5)
    assert res.garbled == []
    assert [key(m) for m in res.meters] == [cfg_key(cfg)]


def test_a_damaged_read_is_cleared_by_clean_rounds_of_the_same_meter():
    """A long frame damaged by noise makes the address suspect; clean acknowledgements and reads of the
    same meter afterwards prove a single slave (CONFIRM_ROUNDS of them)."""
    from drivers.scan import CONFIRM_ROUNDS

    cfg = MeterConfig("62100015", "SEN", 14, 4, primary_address=4, layout="sensus")
    bus = SimBus.from_configs([cfg])
    link = Link(LoopbackTransport(bus))
    corrupt_next = {"n": 1}
    meter = bus.meters[0]
    original = meter._faults

    def first_read_damaged(answer):
        if answer is not None and len(answer.data) > 1 and corrupt_next["n"]:
            corrupt_next["n"] -= 1
            data = bytearray(answer.data)
            data[10] ^= 0x01
            return type(answer)(bytes(data), answer.delay_bits)
        return original(answer)
    meter._faults = first_read_damaged
    res = scan_primary(link, first=4, last=4)
    assert res.garbled == [] and [key(m) for m in res.meters] == [cfg_key(cfg)]
    # one SND_NKE, the damaged read, the clean read, then the proof: SND_NKE + REQ_UD2 per round
    assert res.requests == 1 + 2 + 2 * CONFIRM_ROUNDS
