"""A simulated bus (or one meter's optical port) on a pseudo-terminal, served from this process."""
from __future__ import annotations

import json

import pytest

from drivers.simulator import build_server


@pytest.fixture
def sim(tmp_path):
    """``sim(config_dict, **build_server_kwargs) -> (server, pty_path)``; every server is stopped afterwards."""
    servers = []

    def start(config: dict, **kw):
        n = len(servers)
        cfg = tmp_path / f"bus{n}.json"
        cfg.write_text(json.dumps(config))
        path = str(tmp_path / f"port{n}")
        server = build_server(config=str(cfg), fast=True, pty=path, **kw).start()
        servers.append(server)
        return server, path

    yield start
    for s in servers:
        s.stop()
