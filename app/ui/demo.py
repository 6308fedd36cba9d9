"""Demo mode: the built-in simulated meter bus, in this process, and demo helpers.

``--demo`` (and the first run without any port) connects the bus service to
the simulator of ``drivers.simulator``: the twelve realistic meters of
``default_configs`` on a :class:`SimulatedLine`, a loopback transport with
realistic-but-fast timing (each exchange takes ``pace`` times its real line
time: a full primary scan of 250 addresses at 2400 Bd takes about 5 s instead
of 52 s) and a meter clock that may run faster than the wall clock. No OS port
is opened, so nothing blocks and nothing needs permissions.

:func:`demo_history` keeps a synthetic hour of 1-second samples for plot
benchmarks and tests of the live plot widget (plain Python, no numpy).
"""
from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

DEMO_BAUD = 2400
DEMO_PACE = 0.1          # the simulated line takes a tenth of the real line time
DEMO_SEED = 0

# Heat carried by water per m³ and kelvin, about 1.16 kWh/(m³·K) at 40..70 °C;
# only to make the synthetic samples look like a heat meter's (not metrology).
_DEMO_K_KWH_PER_M3K = 1.16


def _loopback_class():
    from drivers.simulator import LoopbackTransport

    return LoopbackTransport


def simulated_line(*, meters: int = 12, seed: int = DEMO_SEED, pace: float = DEMO_PACE, time_scale: float = 1.0,
                   configs: list | None = None, baud: int = DEMO_BAUD):
    """A fresh simulated bus and a transport wired to it: ``(SimBus, SimulatedLine)``."""
    from drivers.simulator import SimBus, default_configs

    bus = SimBus.from_configs(configs if configs is not None else default_configs(meters, seed), seed=seed)
    return bus, SimulatedLine(bus, baud, pace=pace, time_scale=time_scale)


class SimulatedLine(_loopback_class()):
    """The in-process simulated bus as a transport (``drivers.simulator.LoopbackTransport``).

    ``pace``: each exchange sleeps ``pace`` times the line time it takes on a real
    bus (request, answer delay and characters, or the response timeout when
    nobody answers); 0 answers at once. The meters' clock is the wall clock times
    ``time_scale`` plus whatever :meth:`advance` added. :meth:`unplug` makes the
    next exchange fail as a vanished USB head would (``PortLost``).
    """

    def __init__(self, bus, baud: int = DEMO_BAUD, *, pace: float = DEMO_PACE, time_scale: float = 1.0,
                 url: str = "simulator://demo") -> None:
        super().__init__(bus, baud, realtime=True, url=url)
        self.pace = float(pace)
        self.time_scale = float(time_scale)
        self._offset_s = 0.0
        self._unplugged = threading.Event()
        self._closed = False

    # the meters' clock
    def _now(self) -> float:
        return self._offset_s + (time.monotonic() - self._t0) * self.time_scale

    def sim_time_s(self) -> float:
        """Seconds on the meters' clock since the simulated bus started."""
        return self._now()

    def advance(self, seconds: float) -> None:
        """Move the meters' clock ahead (demo history: minutes of polls in no time)."""
        self._offset_s += max(0.0, float(seconds))

    # faults
    def unplug(self) -> None:
        """From now on every exchange raises PortLost (tests: a USB head pulled out mid-scan)."""
        self._unplugged.set()

    def _check(self) -> None:
        from drivers import errors

        if self._unplugged.is_set() or self._closed:
            raise errors.PortLost(f"lost the port {self.url}: device disconnected")

    # line time
    def _pace(self, line_s: float) -> None:
        if self.pace > 0 and line_s > 0:
            time.sleep(line_s * self.pace)   # line timing of the simulated bus, scaled down

    def transact(self, frame: bytes, *, listen: str = "frame", timeout_s: float | None = None) -> bytes:
        self._check()
        before = self.now_s
        answer = super().transact(frame, listen=listen, timeout_s=timeout_s)
        self._pace(self.now_s - before)
        self._check()
        return answer

    def send_preamble(self, byte: int, duration_s: float, *, parity: str = "N") -> None:
        self._check()
        super().send_preamble(byte, duration_s, parity=parity)
        self._pace(duration_s)

    def idle(self, seconds: float) -> None:
        super().idle(seconds)
        self._pace(seconds)

    def close(self) -> None:
        self._closed = True


DEMO_HEAD_START_S = 6 * 3600   # the demo meters have run six hours before the app connects


def connect_demo_bus(ctx) -> None:
    """Connect the app to the built-in simulated bus (marked SIMULATION in the status bar).

    The meters' clock starts six hours in, so that their registers have moved
    (volume-weighted averages differ from the current temperatures)."""
    ctx.bus.connect_simulator(pace=0.0 if ctx.screenshot else DEMO_PACE)
    ctx.bus.transport.advance(DEMO_HEAD_START_S)


def start_first_run_check(ctx) -> None:
    """First run: no port in the settings, none given, none attached -> the simulated bus.

    The port listing runs in a worker; when it finds nothing, the app connects to
    the simulated bus (SIMULATION badge) and says so in the banner of the page shown.
    """
    if ctx.demo or ctx.screenshot or ctx.port_url or ctx.settings.port:
        return

    def ports():
        from drivers.ports import list_ports

        return list_ports()

    def found(result) -> None:
        bus = ctx.bus
        if result or bus.state != "disconnected":
            return
        bus.connect_simulator()
        ctx.show_message("No serial port is set up or plugged in, so the app runs on its built-in SIMULATED bus "
                         "(12 simulated meters). Choose a real port on the Connect page to leave it.", "info")

    ctx.tasks.start("Looking for serial ports", ports, on_finished=found, report_errors=False)


def sim_meter(bus, identification: str, manufacturer: str | None = None):
    """The simulator's meter with this identification (and FLAG code), for fault injection in demos and tests."""
    for m in bus.meters:
        if m.cfg.identification == identification and (manufacturer is None or m.cfg.manufacturer == manufacturer):
            return m
    raise KeyError(f"no simulated meter {identification}")


# --- synthetic samples (plot benchmarks and widget tests) ----------------------------------

@dataclass(frozen=True)
class DemoSample:
    t_epoch_s: float
    power_kw: float | None
    flow_m3h: float | None
    t_flow_c: float | None
    t_return_c: float | None


class DemoLiveSource:
    """A synthetic substation: slow load changes, some noise, and an occasional missed poll.

    Only for plot benchmarks and widget tests; the app polls the simulated bus.
    """

    def __init__(self, seed: int = 1434, miss_rate: float = 0.0) -> None:
        self._rng = random.Random(seed)
        self.miss_rate = miss_rate

    def at(self, t: float) -> DemoSample:
        rng = self._rng
        day = 2 * math.pi * (t % 86400) / 86400
        slow = 2 * math.pi * (t % 1800) / 1800
        flow = 1.6 + 0.5 * math.sin(day - 1.2) + 0.25 * math.sin(slow) + rng.gauss(0, 0.03)
        flow = max(0.05, flow)
        t_flow = 71.0 + 1.5 * math.sin(day) + rng.gauss(0, 0.08)
        t_return = 42.0 + 3.0 * math.sin(slow + 0.6) + 2.0 * (flow - 1.6) + rng.gauss(0, 0.08)
        power = _DEMO_K_KWH_PER_M3K * flow * (t_flow - t_return)
        return DemoSample(t, round(power, 3), round(flow, 4), round(t_flow, 2), round(t_return, 2))

    def read(self) -> DemoSample:
        if self.miss_rate and self._rng.random() < self.miss_rate:
            raise TimeoutError("no answer from the meter within 0.5 s")
        return self.at(time.time())


def demo_history(end_epoch_s: float | None = None, duration_s: int = 3600, step_s: int = 1,
                 gaps: tuple[tuple[int, int], ...] = ((1250, 45), (2710, 20)),
                 seed: int = 1434) -> Iterator[DemoSample | float]:
    """An hour (by default) of synthetic 1-second samples ending now, with a couple of gaps.

    Yields a :class:`DemoSample` per poll and a bare timestamp for each missed
    poll. ``gaps`` are (offset seconds, length seconds) of missed polls.
    """
    end = float(int(end_epoch_s if end_epoch_s is not None else time.time()))
    start = end - duration_s
    src = DemoLiveSource(seed)
    missed = set()
    for off, length in gaps:
        missed.update(range(off, off + length))
    for i in range(0, duration_s, step_s):
        t = start + i
        if i in missed:
            yield t
        else:
            yield src.at(t)
