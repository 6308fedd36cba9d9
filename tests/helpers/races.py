"""Helpers of the race tests: actions started together (a barrier), and PostgreSQL sessions queued on a lock."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def together(*actions: Callable[[], Any], timeout: float = 120.0) -> list[Any]:
    """Run the actions in threads released at the same moment (a barrier); each one's result or exception."""
    barrier = threading.Barrier(len(actions))
    out: list[Any] = [None] * len(actions)

    def run(k: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[k] = fn()
        except Exception as exc:  # noqa: BLE001 - the test looks at what each side got
            out[k] = exc

    threads = [threading.Thread(target=run, args=(k, fn), name=f"race-{k}") for k, fn in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"{stuck} did not finish"
    return out


class Started:
    """A thread running ``fn``; ``result()`` joins it and returns its result (or raises what it raised)."""

    def __init__(self, fn: Callable[[], Any], name: str = "race"):
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), name=name)
        self.thread.start()

    def _run(self, fn):
        try:
            self.value = fn()
        except BaseException as exc:  # noqa: BLE001
            self.error = exc

    def result(self, timeout: float = 120.0) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.thread.name} did not finish"
        if self.error is not None:
            raise self.error
        return self.value

    def outcome(self, timeout: float = 120.0) -> Any:
        """The result, or the exception it raised."""
        try:
            return self.result(timeout)
        except Exception as exc:  # noqa: BLE001
            return exc


def wait_for_lock_waiters(conn, n: int, timeout: float = 60.0) -> None:
    """PostgreSQL: wait until ``n`` sessions of this database wait for a lock (a condition on the server,
    checked again and again until it holds; no sleeping in between)."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]
        if waiting >= n:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{waiting} session(s) waiting for a lock, expected {n}")
