"""Fixtures of the service tests: a register (SQLite and PostgreSQL) and real readouts of simulated meters."""
from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def reg(request, tmp_path):
    """An open, empty register: an SQLite file, or a fresh PostgreSQL database (``pg_url``)."""
    from app.storage.register import open_register

    url = f"sqlite:///{tmp_path / 'register.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    r = open_register(url)
    yield r
    r.close()


@pytest.fixture
def sim_session():
    """``sim_session(*MeterConfig)``: a bus session on the in-process simulator, and its loopback transport
    (a virtual clock: ``transport.idle(s)`` lets ``s`` seconds of flow pass); closed at the end."""
    from drivers.session import BusSession, ConnectionSpec
    from drivers.simulator import LoopbackTransport, SimBus

    opened = []

    def make(*cfgs):
        bus = SimBus.from_configs(list(cfgs), seed=1)
        s = BusSession()
        transport = LoopbackTransport(bus, 2400)
        s.attach(transport, ConnectionSpec(None, 2400, simulated=True), sim=bus)
        opened.append(s)
        return s, transport

    yield make
    for s in opened:
        s.close()
