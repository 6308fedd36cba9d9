"""The in-process simulated meter bus as a transport (demo mode, screenshots, tests).

Kept apart from :mod:`app.ui.demo` so that asking the run mode does not load the simulator.
"""
from __future__ import annotations

import threading
import time

from drivers.simulator import LoopbackTransport


class SimulatedLine(LoopbackTransport):
    """The in-process simulated bus as a transport (``drivers.simulator.LoopbackTransport``).

    ``pace``: each exchange sleeps ``pace`` times the line time it takes on a real
    bus (request, answer delay and characters, or the response timeout when
    nobody answers); 0 answers at once. The meters' clock is the wall clock times
    ``time_scale`` plus whatever :meth:`advance` added. :meth:`unplug` makes the
    next exchange fail as a vanished USB head would (``PortLost``).
    """

    def __init__(self, bus, baud: int, *, pace: float, time_scale: float = 1.0,
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
