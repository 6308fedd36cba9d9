"""Demo mode: the built-in simulated meter bus, in this process, and demo helpers.

``--demo`` (and the first run without any port) connects the bus service to
the simulator of ``drivers.simulator``: the twelve realistic meters of
``default_configs`` on a :class:`app.ui.simline.SimulatedLine`, a loopback transport with
realistic-but-fast timing (each exchange takes ``pace`` times its real line
time: a full primary scan of 250 addresses at 2400 Bd takes about 5 s instead
of 52 s) and a meter clock that may run faster than the wall clock. No OS port
is opened, so nothing blocks and nothing needs permissions.

:func:`demo_history` keeps a synthetic hour of 1-second samples for plot
benchmarks and tests of the live plot widget (plain Python, no numpy).

:class:`RunMode` (``ctx.mode``) is the one place that knows what a demo run and a
screenshot run change: pages ask it (may I open a dialog, remember a setting,
which date does the planner start on, which simulator pace) instead of checking
``ctx.demo`` / ``ctx.screenshot`` themselves.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DEMO_BAUD = 2400
#: the demo bus's Kamstrup MULTICAL (address 1) runs an hour behind the laptop, as a meter whose clock was
#: never put on summer time: the Commission page's clock check then offers its clock step
DEMO_CLOCK_OFFSET_S = -3600.0
DEMO_PACE = 0.1          # the simulated line takes a tenth of the real line time
DEMO_SEED = 0

# Heat carried by water per m³ and kelvin, about 1.16 kWh/(m³·K) at 40..70 °C;
# only to make the synthetic samples look like a heat meter's (not metrology).
_DEMO_K_KWH_PER_M3K = 1.16


# A typical plate of the simulated meter read in demo mode (Kamstrup MULTICAL 603, qp 1.5 m³/h, 1:100),
# and where the Commission page's demo places it.
DEMO_RATING = {"model": "MULTICAL 603", "mid_class": 2, "qp_m3h": 1.5, "qi_m3h": 0.015, "qs_m3h": 3.0,
               "dtheta_min_k": 3.0, "dtheta_max_k": 150.0}
DEMO_PLACE = {"site": "Riverside Heat Network", "building": "Energy Centre", "location": "Substation 1, plant room",
              "monitoring_point": "SS2"}


class RunMode:
    """What this run of the app is: normal, demo (``--demo``: demo register, simulated bus) or a
    screenshot (``--screenshot``: no dialogs, nothing remembered, no waiting on the simulated line).

    Every page asks ``ctx.mode`` rather than testing the context's flags, so that what a demo or a
    screenshot changes is written here once.
    """

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self._demo_lots_done: set[int] = set()
        self._demo_lots_lock = threading.Lock()

    # -- what the run is ----------------------------------------------------------------------
    @property
    def demo(self) -> bool:
        """Demo data and the simulated bus (``--demo``)."""
        return bool(self._ctx.demo)

    @property
    def screenshot(self) -> bool:
        """Rendering a screenshot: the window must come out the same whatever the user did before."""
        return bool(self._ctx.screenshot)

    @property
    def interactive(self) -> bool:
        """Dialogs, file choosers, confirmations and opening files in other programs are allowed."""
        return not self.screenshot

    @property
    def persistent(self) -> bool:
        """What the user chooses is remembered in the settings (and read back from them)."""
        return not self.screenshot

    @property
    def on_demo_register(self) -> bool:
        """The register is the built-in demo register (demo mode without ``--db``)."""
        return self.demo and not self._ctx.db_url

    @property
    def has_register(self) -> bool:
        """A register to show: not the user's own one in a screenshot without ``--demo`` or ``--db``."""
        return not (self.screenshot and not self.demo and not self._ctx.db_url)

    # -- settings -------------------------------------------------------------------------------
    def recall(self, page: str, key: str, default: Any = None, type_: type | None = None) -> Any:
        """A page's remembered value (``default`` when nothing is remembered, or in a screenshot)."""
        if not self.persistent:
            return default
        return self._ctx.settings.page_value(page, key, default, type_)

    def remember(self, page: str, key: str, value: Any) -> None:
        """Remember a page's value (not in a screenshot)."""
        if self.persistent:
            self._ctx.settings.set_page_value(page, key, value)

    # -- the simulated bus ---------------------------------------------------------------------
    def sim_pace(self, default: float | None = None) -> float | None:
        """The simulated line's pace: none in a screenshot (no waiting), else ``default``."""
        return 0.0 if self.screenshot else default

    def connect_simulator(self, **kw: Any) -> None:
        """Connect the bus service to the built-in simulated bus at this run's pace."""
        self._ctx.bus.connect_simulator(pace=self.sim_pace(), **kw)

    def simulated_by_default(self, url: str | None) -> bool:
        """The Connect page offers the simulated bus first: demo mode and no port ``url`` known."""
        return self.demo and not url

    @property
    def wants_first_run_check(self) -> bool:
        """Look for a serial port on start, and fall back to the simulated bus when there is none."""
        c = self._ctx
        return not (self.demo or self.screenshot or c.port_url or c.settings.port)

    # -- demo data -----------------------------------------------------------------------------
    def prepare(self, page) -> None:
        """Fill ``page`` with its demo data in demo mode (``Page.prepare_demo``)."""
        if self.demo and page is not None:
            page.prepare_demo()

    def planning_as_of(self) -> dt.date:
        """The planner's date: today; the fixed demo date on the demo register (stable screenshots)."""
        if self.on_demo_register:
            from app.storage.demo_planning import DEMO_AS_OF

            return DEMO_AS_OF
        return dt.date.today()

    def planning_today(self) -> dt.date:
        """The date a lot's results and verdict default to (two months after the demo date there)."""
        if self.on_demo_register:
            from app.storage.demo_planning import DEMO_AS_OF

            return DEMO_AS_OF + dt.timedelta(days=60)
        return dt.date.today()

    def draw_seed(self) -> int | None:
        """A fixed seed for a new draw in a screenshot; None: a random one."""
        if self.screenshot:
            from app.storage.demo_planning import DEMO_SEED

            return DEMO_SEED
        return None

    def register_user(self) -> str | None:
        """Who changes the register: "demo" on the demo register, else the default user."""
        return "demo" if self.on_demo_register else None

    def prepare_register(self, reg) -> None:
        """On the demo register, its sampling lots are formed and worked through once (worker side)."""
        if not self.on_demo_register:
            return
        from app.storage.demo_planning import ensure_demo_lots

        with self._demo_lots_lock:
            if id(reg) in self._demo_lots_done:
                return
            ensure_demo_lots(reg)
            self._demo_lots_done.add(id(reg))

    def certificates_dir(self) -> str | None:
        """Where a demo or screenshot run writes certificates (its own folder); None: the user's."""
        d = self._ctx.demo_dir
        return os.path.join(d, "certificates") if d else None


def simulated_line(*, meters: int = 12, seed: int = DEMO_SEED, pace: float = DEMO_PACE, time_scale: float = 1.0,
                   configs: list | None = None, baud: int = DEMO_BAUD):
    """A fresh simulated bus and a transport wired to it: ``(SimBus, SimulatedLine)``."""
    from drivers.simulator import SimBus, default_configs

    from app.ui.simline import SimulatedLine

    if configs is None:
        configs = default_configs(meters, seed)
        configs[0].clock_offset_s = DEMO_CLOCK_OFFSET_S     # the Kamstrup's clock: still on winter time
    bus = SimBus.from_configs(configs, seed=seed)
    return bus, SimulatedLine(bus, baud, pace=pace, time_scale=time_scale)


DEMO_HEAD_START_S = 6 * 3600   # the demo meters have run six hours before the app connects


def connect_demo_bus(ctx) -> None:
    """Connect the app to the built-in simulated bus (marked SIMULATION in the status bar).

    The meters' clock starts six hours in, so that their registers have moved
    (volume-weighted averages differ from the current temperatures)."""
    ctx.bus.connect_simulator(pace=ctx.mode.sim_pace(DEMO_PACE))
    ctx.bus.transport.advance(DEMO_HEAD_START_S)


def start_first_run_check(ctx) -> None:
    """First run: no port in the settings, none given, none attached -> the simulated bus.

    The port listing runs in a worker; when it finds nothing, the app connects to
    the simulated bus (SIMULATION badge) and says so in the banner of the page shown.
    """
    if not ctx.mode.wants_first_run_check:
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
