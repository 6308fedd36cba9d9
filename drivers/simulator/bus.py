"""The simulated bus: slaves sharing one line, collisions at the bit level.

:class:`SimBus` takes master frames and returns what the master's UART would
receive. Slaves that answer at once do what they do on a real M-Bus: a slave
sends a 0 bit by drawing extra current, so the line carries the AND of all
transmitters. Each answer starts after its own delay (in bit times), the bit
streams (start bit, 8 data bits, even parity, stop bit) are ANDed and decoded
again by a model UART (a character whose stop bit is 0 arrives as 0x00, as on
Linux). Two answers in perfect step give a clean copy; any offset gives
garbage. The result carries the time of each received character, so the
line-timing layer can pace the bytes.
"""
from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field

from drivers import framing, timing
from drivers.simulator.meter import MeterConfig, SimMeter


def _char_bits(b: int) -> list[int]:
    data = [(b >> i) & 1 for i in range(8)]
    return [0] + data + [sum(data) & 1] + [1]


def superpose(answers: list[tuple[int, bytes]]) -> list[tuple[int, int]]:
    """Wired-AND of several UART transmissions. ``answers``: (start bit, bytes).

    Returns (bit time at the end of the character, received byte) in order.
    """
    answers = [(s, d) for s, d in answers if d]
    if not answers:
        return []
    if len(answers) == 1:
        s, d = answers[0]
        return [(s + 11 * (i + 1), b) for i, b in enumerate(d)]
    end = max(s + 11 * len(d) for s, d in answers) + 11
    line = [1] * end
    for s, d in answers:
        pos = s
        for b in d:
            for bit in _char_bits(b):
                if bit == 0:
                    line[pos] = 0
                pos += 1
    out: list[tuple[int, int]] = []
    i = min(s for s, _ in answers)
    while i < end - 10:
        if line[i] == 1:
            i += 1
            continue
        bits = line[i + 1:i + 9]
        stop = line[i + 10]
        value = sum(bit << k for k, bit in enumerate(bits))
        out.append((i + 11, value if stop == 1 else 0x00))
        i += 11 if stop == 1 else 10
    return out


@dataclass
class LineAnswer:
    """What the master receives after one request: bytes and their arrival times (s after request end)."""

    data: bytes
    times_s: list[float] = field(default_factory=list)
    answering: int = 0


class SimBus:
    """Slaves on one line. Thread-safe: one request at a time."""

    def __init__(self, meters: list[SimMeter], *, seed: int = 0):
        self.meters = meters
        self.seed = seed
        self.lock = threading.RLock()
        self.requests = 0
        self.log: list[tuple[float, str, str]] = []   # (t, "rx"/"tx", hex), last few only
        self.faults: dict = {}

    @classmethod
    def from_configs(cls, cfgs: list[MeterConfig], seed: int = 0) -> "SimBus":
        return cls([SimMeter(c, seed) for c in cfgs], seed=seed)

    def preamble(self, byte: int, count: int, line_baud: int, now_s: float) -> None:
        with self.lock:
            for m in self.meters:
                m.wake(byte, count, line_baud, now_s)

    def sleep(self) -> None:
        """Every meter with an optical port falls asleep at once, as after its awake time (tests, demos)."""
        with self.lock:
            for m in self.meters:
                m.awake_until = -1.0

    def request(self, frame: bytes, line_baud: int, now_s: float) -> LineAnswer:
        """Deliver one master frame; collect and superpose the answers."""
        with self.lock:
            self.requests += 1
            try:
                fr = framing.parse_link_frame(frame)
            except Exception:
                return LineAnswer(b"")
            answers = []
            for m in self.meters:
                a = m.handle(fr, line_baud, now_s)
                if a is not None:
                    answers.append((a.delay_bits, a.data))
            chars = superpose(answers)
            bit = 1.0 / line_baud
            return LineAnswer(bytes(b for _, b in chars), [t * bit for t, _ in chars], len(answers))

    def snapshot(self, now_s: float) -> list[dict]:
        with self.lock:
            out = []
            for m in self.meters:
                d = m.snapshot(now_s)
                d["last_records"] = m.last_encoded
                d["last_telegram_index"] = m.last_telegram_index
                d["sent"] = list(m.sent)
                d["identification"] = m.cfg.identification
                d["version"] = m.cfg.version
                d["medium_code"] = m.cfg.medium
                d["stats"] = dict(m.stats)
                out.append(d)
            return out

    def write_state(self, path: str, now_s: float) -> None:
        import os
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"meters": self.snapshot(now_s), "requests": self.requests}, f)
        os.replace(tmp, path)


# --- the default bus ------------------------------------------------------------

def default_configs(n: int = 12, seed: int = 0) -> list[MeterConfig]:
    """A realistic mixed bus of ``n`` meters (n >= 1).

    The first twelve are fixed: several makes and media (heat, water, cooling,
    heat/cooling), two multi-telegram meters, meters reachable only by
    secondary address (primary address 0, shared), one optical-port meter that
    needs a 0x55 wake-up preamble, one that needs SND_NKE before it answers,
    identification numbers sharing 7-digit prefixes, and two slaves with the
    same identification number from different manufacturers. Beyond twelve,
    meters with random ids are added (seeded).
    """
    base = [
        MeterConfig("71234567", "KAM", 0x08, 0x04, primary_address=1, layout="kamstrup", telegrams=2,
                    energy_kwh=15234.0, volume_m3=412.7, flow_m3h=1.2, theta_flow_c=72.0, dtheta_k=24.0,
                    optical={"protocol": "kmp"}),
        MeterConfig("62100013", "LUG", 0x02, 0x04, primary_address=2, layout="landis", energy_kwh=8011.0,
                    volume_m3=233.1, flow_m3h=0.6, theta_flow_c=65.0, dtheta_k=18.0,
                    optical={"protocol": "iec62056-21", "mode": "B", "energy_unit": "GJ"}),
        MeterConfig("62100014", "ACW", 0x09, 0x04, primary_address=3, layout="itron", energy_kwh=512.0,
                    volume_m3=21.4, flow_m3h=0.4, theta_flow_c=68.0, dtheta_k=21.0),
        MeterConfig("62100015", "SEN", 0x0E, 0x04, primary_address=4, layout="sensus", telegrams=3,
                    energy_kwh=20440.0, volume_m3=611.0, flow_m3h=0.9),
        MeterConfig("30500001", "SON", 0x0D, 0x0C, primary_address=5, layout="sontex", energy_kwh=3003.0,
                    volume_m3=80.0, theta_flow_c=60.0, dtheta_k=15.0),
        MeterConfig("44556677", "EFE", 0x04, 0x04, primary_address=6, layout="engelmann", energy_kwh=777.0,
                    volume_m3=19.9, wakeup={"byte": 0x55, "min_ms": 2000, "awake_s": 20}),
        MeterConfig("12345678", "KAM", 0x1B, 0x04, primary_address=0, layout="kamstrup", energy_kwh=4321.0,
                    volume_m3=99.0),
        MeterConfig("12345678", "GWF", 0x35, 0x07, primary_address=0, layout="water", volume_m3=1234.567,
                    flow_m3h=0.3),
        MeterConfig("12345679", "SVM", 0x09, 0x04, primary_address=0, layout="elster", telegrams=2,
                    energy_kwh=9999.0, volume_m3=300.0),
        MeterConfig("55500001", "KAM", 0x0B, 0x0A, primary_address=7, layout="generic", energy_kwh=1200.0, volume_m3=500.0, theta_flow_c=7.0,
                    dtheta_k=-5.0, flow_m3h=2.0),
        MeterConfig("55500002", "ACW", 0x0B, 0x0D, primary_address=8, layout="heat_cooling", energy_kwh=100.0,
                    volume_m3=50.0, theta_flow_c=30.0, dtheta_k=2.0),
        MeterConfig("80000001", "LUG", 0x03, 0x04, primary_address=9, layout="landis", needs_reset=True,
                    energy_kwh=60.0, volume_m3=2.0),
    ]
    cfgs = base[:n]
    rng = random.Random(seed)
    makes = [("KAM", 0x04, "kamstrup"), ("LUG", 0x04, "landis"), ("ACW", 0x04, "itron"), ("SEN", 0x04, "sensus"),
             ("SON", 0x04, "sontex"), ("GWF", 0x07, "water"), ("EFE", 0x04, "engelmann")]
    used = {(c.identification, c.manufacturer) for c in cfgs}
    addr = 10
    while len(cfgs) < n:
        man, med, lay = rng.choice(makes)
        ident = f"{rng.randrange(10 ** 8):08d}"
        if (ident, man) in used:
            continue
        used.add((ident, man))
        cfgs.append(MeterConfig(ident, man, rng.randrange(1, 40), med, primary_address=addr if addr <= 250 else 0,
                                layout=lay, energy_kwh=rng.uniform(10, 50000), volume_m3=rng.uniform(1, 2000),
                                flow_m3h=rng.uniform(0.1, 2.5), theta_flow_c=rng.uniform(50, 85),
                                dtheta_k=rng.uniform(8, 30)))
        addr += 1
    return cfgs


def load_config(path: str) -> tuple[list[MeterConfig], dict]:
    """Read a bus description (JSON, see docs/bus.md): {"meters": [...], "faults": {...}, ...}."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, list):
        doc = {"meters": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("meters"), list):
        raise ValueError("the configuration must be a JSON object with a list \"meters\"")
    cfgs = []
    for i, m in enumerate(doc["meters"]):
        if "baud" in doc and isinstance(m, dict):
            m = {"baud": doc["baud"], **m}      # the bus baud is every meter's default
        try:
            cfgs.append(MeterConfig.from_json(m))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"meter {i + 1}: {exc}") from None
    extra = {k: v for k, v in doc.items() if k != "meters"}
    return cfgs, extra
