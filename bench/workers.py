"""Workers and the GUI thread: how evenly the GUI keeps time while work runs, how closely a poller keeps
its interval, how soon a scan stops after Cancel.

    .venv/bin/python bench/workers.py            # prints the figures
    .venv/bin/python bench/workers.py --write    # and writes the "workers" section of docs/benchmarks.md
    .venv/bin/python bench/workers.py --quick    # shorter runs (prints only)

1. GUI timer: a 20 ms QTimer on the GUI thread for a few seconds, its ticks per second and the gaps
   between ticks (median, 95th percentile, largest), in three cases: the floor (nothing else
   running, measured in the same run), a worker task burning CPU in pure Python (what holds the
   interpreter lock longest), and a primary scan of the simulated bus through the bus service
   (pace 0.1: a tenth of the real line time). Goals: more than 30 ticks a second (60 % of 50) and
   no gap over 250 ms while the work runs.
2. Poller: ``app.ui.workers.Poller`` at a 0.1 s interval: the mean interval and the lateness of
   each poll against its grid slot; the floor is a bare thread waiting 0.1 s on an Event each turn
   (what the operating system gives), measured in the same run. Goal: mean interval 0.08-0.2 s.
3. Cancel: a primary scan at real line timing (2400 Bd) cancelled at a random moment, from
   ``cancel()`` until the task's end reaches the GUI thread. The floor is physical: at most one
   request is on the line when Cancel comes, the longest being a meter's read (REQ_UD2 and a long
   answer) or a silent address (request + EN 13757-2 response timeout). Goal: within twice the
   response timeout plus 0.5 s.

These were assertions of the functional tests once; on a shared machine they are figures, not
verdicts, so they live here. The tests check the behaviour (order, counts, cancel honoured).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench._report import machine_line, md_table, write_section  # noqa: E402

TICK_MS = 20


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _run_loop(ms: int, until=None) -> None:
    """Run the GUI event loop for ``ms`` (or until ``until()`` holds, checked every 10 ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    check = None
    if until is not None:
        check = QTimer()
        check.setInterval(10)
        check.timeout.connect(lambda: until() and loop.quit())
        check.start()
    loop.exec()
    if check is not None:
        check.stop()


def _ticks(seconds: float) -> list[float]:
    """Times (ms) of the ticks of a 20 ms QTimer over ``seconds`` of the event loop."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    ticks: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() / 1e6))
    timer.start()
    _run_loop(int(seconds * 1000))
    timer.stop()
    return ticks


def _tick_row(label: str, ticks: list[float], work: str) -> list[object]:
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    rate = (len(ticks) - 1) / ((ticks[-1] - ticks[0]) / 1000)
    return [label, f"{rate:.1f}", f"{statistics.median(gaps):.1f}", f"{_pct(gaps, 0.95):.1f}",
            f"{max(gaps):.0f}", work]


def bench_gui_timer(seconds: float) -> list[list[object]]:
    from app.ui.workers import TaskRunner

    rows = [_tick_row("floor: nothing else running", _ticks(seconds), "")]
    print(rows[-1], flush=True)

    runner = TaskRunner()
    stop = threading.Event()
    rounds = [0]

    def busy(progress, cancel):
        h = hashlib.sha256()
        while not cancel.is_set() and not stop.is_set():
            for _ in range(2000):
                h.update(b"x")
            rounds[0] += 1
            progress(rounds[0], None)
        return rounds[0]

    task = runner.start("Busy", busy)
    _run_loop(5000, until=lambda: rounds[0] > 0)
    ticks = _ticks(seconds)
    stop.set()
    _run_loop(5000, until=lambda: not task.running)
    rows.append(_tick_row("a worker burning CPU (pure Python)", ticks, f"{rounds[0]:,} rounds of 2,000 hashes"))
    print(rows[-1], flush=True)
    assert runner.shutdown(5.0)

    ctx = _context()
    bus = ctx.bus
    bus.connect_simulator(pace=0.1)
    sim = bus.sim
    task = bus.scan_primary(1, 250)
    _run_loop(5000, until=lambda: sim.requests > 0)
    before = sim.requests
    ticks = _ticks(seconds)
    during = sim.requests - before
    task.cancel()
    _run_loop(5000, until=lambda: not task.running)
    rows.append(_tick_row("a primary scan of the simulated bus (pace 0.1)", ticks,
                          f"{during} requests on the bus meanwhile"))
    print(rows[-1], flush=True)
    assert ctx.tasks.shutdown(5.0)
    return rows


def bench_poller(polls: int) -> list[list[object]]:
    from app.ui.workers import Poller, TaskRunner

    interval = 0.1
    rows = []
    # floor: a bare thread waiting on an Event, as the poller does between polls
    stamps: list[float] = []

    def bare():
        ev = threading.Event()
        for _ in range(polls):
            stamps.append(time.monotonic())
            ev.wait(interval)

    t = threading.Thread(target=bare, name="bench-floor")
    t.start()
    t.join()
    rows.append(_poll_row("floor: a thread waiting 0.1 s on an Event each turn", stamps, interval, grid=False))
    print(rows[-1], flush=True)

    runner = TaskRunner()
    stamps = []
    poller = Poller(runner, "Poll", lambda: stamps.append(time.monotonic()) or 1, interval_s=interval)
    poller.start()
    _run_loop(int(polls * interval * 1000 * 3), until=lambda: len(stamps) >= polls)
    poller.stop()
    _run_loop(3000, until=lambda: not poller.running)
    rows.append(_poll_row("Poller, interval 0.1 s", stamps[:polls], interval, grid=True))
    print(rows[-1], flush=True)
    assert runner.shutdown(5.0)
    return rows


def _poll_row(label: str, stamps: list[float], interval: float, grid: bool) -> list[object]:
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    # lateness against the grid (the poller's slots) or against the previous turn (the bare wait)
    late = ([s - (stamps[0] + i * interval) for i, s in enumerate(stamps)] if grid
            else [g - interval for g in gaps])
    return [label, len(stamps), f"{statistics.mean(gaps) * 1000:.1f}", f"{min(gaps) * 1000:.1f}",
            f"{max(gaps) * 1000:.1f}", f"{statistics.median(late) * 1000:.1f}", f"{max(late) * 1000:.1f}"]


def bench_cancel(runs: int) -> tuple[list[list[object]], dict]:
    from drivers import timing

    ctx = _context()
    bus = ctx.bus
    bus.connect_simulator(pace=1.0)
    baud = bus.transport.baud
    rnd = random.Random(7)
    latencies = []
    after_cancel = []
    for _ in range(runs):
        sim = bus.sim
        task = bus.scan_primary(1, 250)
        _run_loop(rnd.randint(300, 1500))
        ended = []
        task.ended.connect(ended.append)
        at_cancel = sim.requests
        t0 = time.perf_counter()
        task.cancel()
        _run_loop(10000, until=lambda: bool(ended))
        latencies.append(time.perf_counter() - t0)
        after_cancel.append(sim.requests - at_cancel)
        print(f"cancel after {latencies[-1] * 1000:.0f} ms, {after_cancel[-1]} request(s) after cancel", flush=True)
    assert ctx.tasks.shutdown(5.0)
    timeout = timing.response_timeout_s(baud)
    silent = timing.frame_time_s(5, baud) + timeout                      # SND_NKE, nobody answers
    read = timing.frame_time_s(5, baud) + timing.frame_time_s(255 + 6, baud)  # REQ_UD2 + the longest answer
    goal = 2 * timeout + 0.5
    rows = [["primary scan at 2400 Bd, cancelled at a random moment", runs,
             f"{statistics.median(latencies) * 1000:.0f}", f"{max(latencies) * 1000:.0f}",
             f"{max(after_cancel)}", f"{silent * 1000:.0f} / {read * 1000:.0f}", f"{goal * 1000:.0f}"]]
    return rows, {"baud": baud}


def _context():
    from PySide6.QtWidgets import QApplication

    from app.ui.context import AppContext
    from app.ui.settings import Settings, use_settings_dir

    QApplication.instance() or QApplication([])
    global _SETTINGS_DIR
    if _SETTINGS_DIR is None:
        _SETTINGS_DIR = tempfile.TemporaryDirectory(prefix="heatmeter-bench-")
        use_settings_dir(Path(_SETTINGS_DIR.name))
    return AppContext(Settings())


_SETTINGS_DIR: tempfile.TemporaryDirectory | None = None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs; print only")
    ap.add_argument("--write", action="store_true", help="write the 'workers' section of docs/benchmarks.md")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    load0 = os.getloadavg()[0]
    timer_rows = bench_gui_timer(1.5 if args.quick else 4.0)
    poll_rows = bench_poller(20 if args.quick else 60)
    cancel_rows, info = bench_cancel(3 if args.quick else 10)
    load1 = os.getloadavg()[0]
    app.processEvents()
    text = "\n\n".join([
        f"Workers and the GUI thread (`bench/workers.py`). {machine_line()} Qt offscreen platform; "
        f"1-minute load average {load0:.1f} before and {load1:.1f} after the run (other work shared the "
        "machine: the largest gaps and latencies carry its noise).",
        f"**GUI timer while work runs** (a {TICK_MS} ms QTimer on the GUI thread; goal: > 30 ticks/s and "
        "no gap over 250 ms while the work runs):",
        md_table(["while", "ticks/s", "median gap ms", "p95 gap ms", "largest gap ms", "work done meanwhile"],
                 timer_rows),
        "**Poller interval** (0.1 s; goal: mean interval 0.08-0.2 s; lateness against the poller's grid "
        "slots, for the floor against the previous turn):",
        md_table(["what", "polls", "mean interval ms", "shortest ms", "longest ms", "median lateness ms",
                  "largest lateness ms"], poll_rows),
        f"**Cancel** (from `cancel()` until the task's end is delivered on the GUI thread; {info['baud']} Bd, "
        "real line timing):",
        md_table(["what", "runs", "median ms", "max ms", "requests after cancel (max)",
                  "floor ms: request on the line (silent address / longest read)", "goal ms"], cancel_rows),
    ])
    print()
    print(text)
    if args.write and not args.quick:
        write_section("workers", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
