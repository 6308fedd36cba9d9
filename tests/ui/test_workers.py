"""Workers: progress, items, cancel, errors into the banner, a responsive GUI, the poller."""
from __future__ import annotations

import hashlib
import threading
import time

import pytest
from PySide6.QtCore import Qt, QTimer

from app.ui.workers import Poller, Task, TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qapp):
    r = TaskRunner()
    yield r
    assert r.shutdown(5.0)


def wait_ended(qtbot, runner, task, timeout=5000):
    """Until the task's last signal has been delivered on the GUI thread (race-free)."""
    qtbot.waitUntil(lambda: task not in runner.active() and not task.running, timeout=timeout)


def _record(task: Task):
    got = {"progress": [], "items": [], "threads": set()}
    task.progress.connect(lambda *a: got["progress"].append(a))
    task.item.connect(lambda obj: (got["items"].append(obj), got["threads"].add(threading.get_ident())))
    return got


def test_callable_reports_progress_items_and_result(runner, qtbot):
    worker_threads = set()

    def find_meters(addresses, progress, cancel):
        worker_threads.add(threading.get_ident())
        found = []
        for i, a in enumerate(addresses):
            if a % 2 == 0:
                progress.item({"address": a})
                found.append(a)
            progress(i + 1, len(addresses), f"address {a}")
        return found

    task = runner.start("Scan", find_meters, [1, 2, 3, 4, 5, 6])
    got = _record(task)
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == [[2, 4, 6]]
    assert got["items"] == [{"address": 2}, {"address": 4}, {"address": 6}]
    assert got["progress"][-1][:2] == (6, 6) and got["progress"][-1][3] == "address 6"
    assert got["threads"] == {threading.get_ident()}        # delivered on the GUI thread
    assert threading.get_ident() not in worker_threads        # but run elsewhere
    assert task.state == Task.FINISHED
    qtbot.waitUntil(runner.is_idle, timeout=2000)


def test_progress_reports_an_eta(runner, qtbot):
    def work(progress, cancel):
        for i in range(1, 4):
            cancel.wait(0.06)
            progress(i, 4)
        return "ok"

    task = runner.start("Slow", work)
    got = _record(task)
    wait_ended(qtbot, runner, task)
    etas = [eta for _done, _total, eta, _text in got["progress"]]
    assert etas and all(e is not None and e >= 0 for e in etas)


def test_generator_yields_items(runner, qtbot):
    def gen(n, cancel):
        for i in range(n):
            yield i * i
        return "done"

    task = runner.start("Squares", gen, 5)
    got = _record(task)
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        pass
    assert got["items"] == [0, 1, 4, 9, 16] and blocker.args == ["done"]


def test_cancel_stops_within_one_check_interval(runner, qtbot):
    checks = []
    at_cancel = []
    first_check = threading.Event()

    def slow_scan(progress, cancel):
        while not cancel.is_set():
            checks.append(time.monotonic())
            first_check.set()
            cancel.wait(0.05)        # one check interval: a reply timeout
        return "stopped"

    task = runner.start("Scan", slow_scan)
    qtbot.waitUntil(first_check.is_set, timeout=5000)
    at_cancel.append(len(checks))
    with qtbot.waitSignal(task.cancelled, timeout=2000):
        task.cancel()
    assert task.state == Task.CANCELLED
    assert len(checks) - at_cancel[0] <= 1     # at most the check already under way


def test_esc_cancels_the_task_shown_in_the_status_bar(window, qtbot):
    started = threading.Event()

    def wait_forever(cancel):
        started.set()
        cancel.wait(30)

    task = window.current_page().run_task("Secondary scan", wait_forever)
    qtbot.waitUntil(started.is_set, timeout=5000)
    ind = window.task_indicator
    assert ind.task is task and "Secondary scan" in ind.label.text()
    assert ind.cancel_button.isVisible() and ind.bar.isVisible()
    window.activateWindow()
    with qtbot.waitSignal(task.cancelled, timeout=3000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: ind.label.text() == "Idle", timeout=3000)
    assert ind.cancel_button.isHidden()


def test_status_bar_cancel_button(window, qtbot):
    task = window.ctx.tasks.start("Read meter", lambda cancel: cancel.wait(30))
    ind = window.task_indicator
    qtbot.waitUntil(lambda: ind.task is task, timeout=2000)
    with qtbot.waitSignal(task.cancelled, timeout=3000):
        qtbot.mouseClick(ind.cancel_button, Qt.MouseButton.LeftButton)


def test_status_bar_shows_progress_and_eta(window, qtbot):
    gate = threading.Event()

    def work(progress, cancel):
        progress(25, 100, "address 25")
        gate.wait(10)

    task = window.ctx.tasks.start("Primary scan", work)
    ind = window.task_indicator
    qtbot.waitUntil(lambda: ind.bar.value() == 250, timeout=3000)
    assert "Primary scan: address 25 · 25/100 · " in ind.label.text() and "left" in ind.label.text()
    with qtbot.waitSignal(task.finished, timeout=3000):
        gate.set()


def test_error_lands_in_the_banner_and_the_app_keeps_running(window, qtbot):
    scan = window.page("scan")
    window.show_page("scan")

    def broken(progress, cancel):
        progress(1, 10)
        raise OSError("[Errno 5] Input/output error: '/dev/ttyUSB0'\nwhile reading")

    task = scan.run_task("Scan", broken)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    message = blocker.args[0]
    assert "\n" not in message and "Input/output error" in message
    qtbot.waitUntil(lambda: scan.banner.isVisible(), timeout=2000)
    assert scan.banner.level == "error"
    assert scan.banner.text.startswith("Scan failed:") and "ttyUSB0" in scan.banner.text
    # the user had moved on: the error also shows where they are looking now
    window.show_page("register")
    with qtbot.waitSignal(window.ctx.tasks.taskEnded, timeout=5000):
        scan.run_task("Scan again", lambda: 1 / 0)
    register = window.current_page()
    qtbot.waitUntil(lambda: register.banner.isVisible(), timeout=2000)
    assert "Scan again failed: division by zero" == register.banner.text
    # and the app keeps working
    ok = window.ctx.tasks.start("Next", lambda: 42)
    with qtbot.waitSignal(ok.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == [42]


def test_exception_without_text_is_named(runner, qtbot):
    def fail():
        raise TimeoutError()

    task = runner.start("Read", fail)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["TimeoutError"]


def test_gui_keeps_handling_events_while_a_worker_is_busy(runner, qtbot):
    """A 20 ms timer on the GUI thread keeps firing while a worker burns CPU, and the work goes on
    meanwhile: both threads make progress together. (How evenly the timer ticks: bench/workers.py.)"""
    stop = threading.Event()
    rounds = [0]

    def busy(progress, cancel):
        h = hashlib.sha256()
        while not cancel.is_set() and not stop.is_set():
            for _ in range(2000):   # pure-Python work between checks
                h.update(b"x")
            rounds[0] += 1
            progress(rounds[0], None)
        return rounds[0]

    task = runner.start("Busy", busy)
    qtbot.waitUntil(lambda: rounds[0] > 0, timeout=5000)
    seen = []                                 # at each tick: the worker's rounds so far, still running?
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: seen.append((rounds[0], task.running)))
    timer.start()
    qtbot.waitUntil(lambda: len(seen) >= 40, timeout=10000)
    timer.stop()
    stop.set()
    wait_ended(qtbot, runner, task)
    assert all(running for _r, running in seen)            # every tick came while the worker was busy
    assert seen[-1][0] > seen[0][0]                        # and the worker advanced between the ticks
    assert task.state == Task.FINISHED and task.result >= seen[-1][0]


def test_poller_reports_samples_and_misses(runner, qtbot):
    calls = []

    def read():
        calls.append(1)
        n = len(calls)
        if n % 3 == 0:
            raise TimeoutError("no answer within 0.5 s")
        if n % 3 == 2:
            return None
        return {"n": n}

    poller = Poller(runner, "Live polling", read, interval_s=0.02)
    samples, misses = [], []
    poller.sample.connect(lambda t, v: samples.append((t, v)))
    poller.missed.connect(lambda t, msg: misses.append((t, msg)))
    poller.start()
    assert poller.running
    qtbot.waitUntil(lambda: len(samples) >= 3 and len(misses) >= 4, timeout=10000)
    with qtbot.waitSignal(poller.stopped, timeout=3000):
        poller.stop()
    assert not poller.running
    assert all(v["n"] % 3 == 1 for _t, v in samples)
    assert {m for _t, m in misses} == {"no answer", "no answer within 0.5 s"}
    times = [t for t, _ in sorted(samples + misses)]
    assert times == sorted(times) and times[-1] - times[0] > 0


def test_poller_never_polls_sooner_than_its_grid_allows(runner, qtbot):
    """Polls follow a fixed grid: a late poll may shorten the next wait, never to less than half an
    interval (a poll later than that re-plans the grid), so a busy machine never causes a burst.
    Only lower bounds: a loaded machine can delay polls, not hasten them. (The mean interval
    actually achieved is measured in bench/workers.py.)"""
    stamps = []
    poller = Poller(runner, "Poll", lambda: stamps.append(time.monotonic()) or 1, interval_s=0.1)
    poller.start()
    qtbot.waitUntil(lambda: len(stamps) >= 6, timeout=10000)
    with qtbot.waitSignal(poller.stopped, timeout=3000):
        poller.stop()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert all(g >= 0.05 for g in gaps), gaps


def test_poller_overrun_delays_the_next_poll_instead_of_catching_up(runner, qtbot):
    """After a poll that took three intervals the grid is re-planned: the polls it missed are not
    made up for in a burst, the one after next comes (at least half) an interval later."""
    stamps = []

    def read():
        stamps.append(time.monotonic())
        if len(stamps) == 2:
            threading.Event().wait(0.3)      # this read takes 3 intervals (a slow meter)
        return 1

    poller = Poller(runner, "Poll", read, interval_s=0.1)
    poller.start()
    qtbot.waitUntil(lambda: len(stamps) >= 4, timeout=10000)
    with qtbot.waitSignal(poller.stopped, timeout=3000):
        poller.stop()
    assert stamps[2] - stamps[1] >= 0.3                  # the slow read itself
    assert stamps[3] - stamps[2] >= 0.05                 # then no catch-up burst


def test_set_interval_acts_on_the_wait_under_way(runner, qtbot):
    """Shortening the interval of a poller waiting out a 60 s interval brings the next poll forward."""
    poller = Poller(runner, "Slow poll", lambda: 1, interval_s=60)
    samples = []
    poller.sample.connect(lambda t, v: samples.append(t))
    poller.start()
    qtbot.waitUntil(lambda: len(samples) == 1, timeout=5000)
    poller.set_interval(0.05)
    qtbot.waitUntil(lambda: len(samples) >= 3, timeout=5000)   # not in 60 s: within the wait's 0.1 s turn
    with qtbot.waitSignal(poller.stopped, timeout=3000):
        poller.stop()


def test_poller_stop_interrupts_the_wait(runner, qtbot):
    poller = Poller(runner, "Slow poll", lambda: 1, interval_s=60)
    first = []
    poller.sample.connect(lambda t, v: first.append(t))
    poller.start()
    qtbot.waitUntil(lambda: bool(first), timeout=5000)
    with qtbot.waitSignal(poller.stopped, timeout=2000):
        poller.stop()


def test_poller_rejects_bad_intervals(runner):
    with pytest.raises(ValueError):
        Poller(runner, "x", lambda: 1, interval_s=0)
    p = Poller(runner, "x", lambda: 1, interval_s=5)
    with pytest.raises(ValueError):
        p.set_interval(float("nan"))
    p.set_interval(60)
    assert p.interval_s == 60


def test_plain_callables_get_only_what_they_ask_for(runner, qtbot):
    got = []

    def kw_only(**kwargs):
        got.append(sorted(kwargs))
        return 1

    for fn, args in ((kw_only, ()), (max, (3, 9)), (lambda: "plain", ())):
        task = runner.start("t", fn, *args)
        with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
            pass
        assert blocker.args[0] in (1, 9, "plain")
    assert got == [["cancel", "progress"]]


def test_status_bar_keeps_the_task_text_when_the_task_list_changes(window, qtbot):
    """Another task starting or the list refreshing must not wipe what the running task said last."""
    gate = threading.Event()

    def work(progress, cancel):
        progress(25, 100, "address 25")
        gate.wait(10)

    task = window.ctx.tasks.start("Primary scan", work)
    ind = window.task_indicator
    qtbot.waitUntil(lambda: "address 25" in ind.label.text(), timeout=3000)
    ind._follow_current()                       # what the runner's change signal does
    assert "Primary scan: address 25 · 25/100" in ind.label.text()
    with qtbot.waitSignal(task.finished, timeout=3000):
        gate.set()
