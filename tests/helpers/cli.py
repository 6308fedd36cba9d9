"""The real ``heatmeter`` command in a subprocess, and a ``heatmeter simulate`` bus to point it at."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path


def heatmeter_argv() -> list[str]:
    exe = Path(sys.executable).parent / "heatmeter"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "app"]


def run_cli(*args: str, timeout: float = 60.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``heatmeter ARGS``; ``env``: variables to set on top of this process's environment."""
    full = None if env is None else {**os.environ, **env}
    return subprocess.run(heatmeter_argv() + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, env=full)


class Simulator:
    """A ``heatmeter simulate`` subprocess; ``ready`` is its announcement (pty path, tcp address)."""

    def __init__(self, args: list[str], deadline_s: float = 30.0):
        self.proc = subprocess.Popen(heatmeter_argv() + ["simulate", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + deadline_s
        line = ""
        while time.monotonic() < end:
            r, _, _ = select.select([self.proc.stdout], [], [], max(0.0, end - time.monotonic()))
            if r:
                line = self.proc.stdout.readline()
                break
        if not line:
            self.stop()
            raise RuntimeError(f"simulator not ready: {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.ready = json.loads(line)["ready"]
        if self.ready.get("pty"):
            # the link exists before the announcement; check anyway, with a deadline
            while not os.path.exists(self.ready["pty"]) and time.monotonic() < end:
                select.select([], [], [], 0.01)

    @property
    def pty(self) -> str:
        return self.ready["pty"]

    @property
    def tcp_url(self) -> str:
        return f"socket://{self.ready['tcp']}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.proc.stdout, self.proc.stderr):
            if s:
                s.close()


def state(path) -> dict:
    """The simulator's state file (``--state-file``): each meter's state by (identification, manufacturer)."""
    return {(m["identification"], m["manufacturer"]): m for m in json.loads(Path(path).read_text())["meters"]}
