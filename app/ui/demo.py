"""Demo mode: a stand-in for the simulated bus, and synthetic live data.

Until the simulator of ``drivers/`` is wired in by the Connect page, ``--demo``
marks the connection as the simulated bus (the status bar shows SIMULATION) and
the Live page plots synthetic samples made here. Plain Python, no numpy, so it
costs nothing at start-up.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

# Heat carried by water per m³ and kelvin, about 1.16 kWh/(m³·K) at 40..70 °C;
# only to make the demo samples look like a heat meter's (not metrology).
_DEMO_K_KWH_PER_M3K = 1.16
DEMO_BAUD = 2400


def connect_demo_bus(ctx) -> None:
    """Mark the connection as the built-in simulated bus."""
    ctx.connection.update(state="connected", simulated=True, port=None, gateway=None,
                          baud=DEMO_BAUD, detail="demo")


@dataclass(frozen=True)
class DemoSample:
    t_epoch_s: float
    power_kw: float | None
    flow_m3h: float | None
    t_flow_c: float | None
    t_return_c: float | None


class DemoLiveSource:
    """A synthetic substation: slow load changes, some noise, and an occasional missed poll.

    ``read()`` returns the sample of now (or raises ``TimeoutError`` for a miss
    with probability ``miss_rate``); ``at(t)`` gives the sample of any time.
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
    """An hour (by default) of 1-second samples ending now, with a couple of gaps.

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
