"""The built-in simulated M-Bus: realistic meters on a pty, a TCP port or in process.

Quick use (GUI demo mode, tests)::

    from drivers.simulator import SimBus, default_configs, LoopbackTransport
    bus = SimBus.from_configs(default_configs(12))
    with LoopbackTransport(bus, realtime=True) as tr:   # in-process, no OS port
        ...

    server = build_server(pty="/tmp/mbus", fast=True).start()   # background threads
    ...
    server.stop()
"""
from __future__ import annotations

import datetime as _dt

from drivers.simulator.bus import SimBus, default_configs, load_config, superpose
from drivers.simulator.meter import MeterConfig, SimMeter
from drivers.simulator.server import LoopbackTransport, SimServer

__all__ = ["SimBus", "SimMeter", "MeterConfig", "SimServer", "LoopbackTransport", "default_configs",
           "load_config", "superpose", "build_server", "optical_meter"]


def build_server(*, config: str | None = None, meters: int = 12, seed: int = 0, baud: int = 2400,
                 fast: bool = False, time_scale: float = 1.0, echo: bool = False, faults: dict | None = None,
                 state_file: str | None = None, pty: str | None = None,
                 tcp: tuple[str, int] | None = None, optical: str | None = None) -> SimServer:
    """A ready-to-start server: the bus from ``config`` (JSON file) or ``meters`` default meters.

    ``optical``: serve one meter's optical port instead of the bus - its identification,
    or ``"auto"`` for the first meter with an ``optical`` configuration (EN 62056-21 or KMP).
    """
    extra: dict = {}
    if config:
        cfgs, extra = load_config(config)
    else:
        cfgs = default_configs(meters, seed)
    for c in cfgs:
        if faults:
            c.faults = {**c.faults, **faults}
    bus = SimBus.from_configs(cfgs, seed=seed)
    time_scale = float(extra.get("time_scale", time_scale))
    if time_scale == 0.0:
        # a frozen bus freezes the meters' clocks too: every read sees the same date-time records
        start = _dt.datetime.now().replace(microsecond=0)
        for m in bus.meters:
            m.epoch = start + _dt.timedelta(seconds=round(m.cfg.clock_offset_s))
    server = SimServer(bus, baud=int(extra.get("baud", baud)), line_scale=0.0 if (fast or extra.get("fast")) else 1.0,
                       time_scale=time_scale, echo=bool(extra.get("echo", echo)),
                       state_file=state_file, optical_meter=optical_meter(bus, optical) if optical else None)
    try:
        if pty:
            server.open_pty(pty)
        if tcp:
            server.open_tcp(*tcp)
    except BaseException:
        server.stop()
        raise
    return server


def optical_meter(bus: SimBus, which: str) -> SimMeter:
    """The meter whose optical port a server serves: by identification, or "auto" (the first with one)."""
    for m in bus.meters:
        if m.cfg.optical and (which == "auto" or m.cfg.identification == which):
            return m
    raise ValueError(f"no meter {'with an optical port' if which == 'auto' else which + ' with an optical port'}"
                     " in the simulated bus")
