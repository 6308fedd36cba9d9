"""Fixtures of the bus tests: a running simulator (``heatmeter simulate``) to point the CLI at."""
from __future__ import annotations

import json

import pytest

from tests.helpers.cli import Simulator


@pytest.fixture
def simulator(tmp_path):
    started: list[Simulator] = []

    def start(*args: str, config: dict | None = None, pty: bool = True, tcp: bool = True) -> Simulator:
        argv = ["--fast", "--baud", "38400", *args]
        if config is not None:
            cfg = tmp_path / f"bus{len(started)}.json"
            cfg.write_text(json.dumps(config))
            argv += ["--config", str(cfg)]
        if pty:
            argv += ["--pty", str(tmp_path / f"mbus{len(started)}")]
        if tcp:
            argv += ["--tcp", "127.0.0.1:0"]
        sim = Simulator(argv)
        started.append(sim)
        return sim

    yield start
    for s in started:
        s.stop()
