"""Run plain-Python work off the GUI thread, with progress, results as found, and cancel.

The work is any callable. When its signature names them, it receives

- ``progress``: a :class:`Progress`; call ``progress(done, total=None, text="")``
  to report, and ``progress.item(obj)`` to hand over a result as soon as it is
  found (a found meter, a decoded telegram);
- ``cancel``: a ``threading.Event``; check ``cancel.is_set()`` (or wait on it
  instead of sleeping) and return early when it is set;
- ``item``: the same as ``progress.item``, for callables that prefer it.

A generator function works too: each value it yields is an item, and its
``return`` value is the result. Domain code therefore needs nothing from Qt.

Each :class:`Task` reports through Qt signals, delivered on the GUI thread:
``started``, ``progress(done, total, eta_s, text)``, ``item(obj)``,
``finished(result)``, ``failed(message)``, ``cancelled``, and ``ended`` after
any of the last three. An exception from the callable never escapes: it
becomes ``failed`` with a one-line message (the traceback goes to the log).

:class:`TaskRunner` starts tasks on its own thread pool and is what the status
bar shows; :class:`Poller` repeats a callable every N seconds in a worker and
reports each sample or miss.
"""
from __future__ import annotations

import inspect
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

# The project's one cancel exception: work that notices ``cancel`` deep inside may raise it
# (the bus stack does); it ends the task as cancelled.
from drivers.errors import Cancelled

log = logging.getLogger("heatmeter.ui.workers")

PROGRESS_MIN_INTERVAL_S = 0.05  # progress signals are coalesced to at most 20 per second


def one_line(exc: BaseException) -> str:
    """A one-line, human message for an exception (its text, else its type name)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Progress:
    """What the work calls to report progress and results (thread-safe, cheap)."""

    def __init__(self, task: Task) -> None:
        self._task_ref = weakref.ref(task)  # no cycle task <-> reporter: GC must never free a task off-thread
        self._t0 = time.monotonic()
        self._last_emit = 0.0
        self._pending: tuple | None = None
        self._lock = threading.Lock()
        self.done = 0
        self.total: int | None = None
        self.text = ""

    def __call__(self, done: int | float, total: int | float | None = None, text: str = "") -> None:
        now = time.monotonic()
        eta = None
        if total and done > 0:
            elapsed = now - self._t0
            eta = max(0.0, elapsed / done * (total - done))
        with self._lock:
            self.done, self.total, self.text = done, total, text
            values = (done, total, eta, text)
            final = total is not None and done >= total
            if final or now - self._last_emit >= PROGRESS_MIN_INTERVAL_S:
                self._last_emit = now
                self._pending = None
            else:
                self._pending = values
                return
        task = self._task_ref()
        if task is not None:
            task.progress.emit(*values)

    def item(self, obj: Any) -> None:
        self.flush()
        task = self._task_ref()
        if task is not None:
            task.item.emit(obj)

    def flush(self) -> None:
        with self._lock:
            values, self._pending = self._pending, None
        task = self._task_ref()
        if values is not None and task is not None:
            task.progress.emit(*values)


def _accepted_kwargs(fn: Callable) -> set[str] | None:
    """Names among progress/cancel/item that ``fn`` accepts (None: it takes ``**kwargs``).

    A callable whose signature cannot be read (some builtins) gets none of them."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set()
    names = set()
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(p.name)
    return names & {"progress", "cancel", "item"}


class Task(QObject):
    """One piece of work in a worker thread. Create through :meth:`TaskRunner.start`."""

    started = Signal()
    progress = Signal(object, object, object, str)   # done, total (None: unknown), eta_s (None), text
    item = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal(object)                            # (the task) after finished, failed or cancelled

    PENDING, RUNNING, FINISHED, FAILED, CANCELLED = "pending", "running", "finished", "failed", "cancelled"

    def __init__(self, name: str, fn: Callable, args: tuple = (), kwargs: dict | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.fn = fn
        self.args = args
        self.kwargs = dict(kwargs or {})
        self.cancel_event = threading.Event()
        self.state = Task.PENDING
        self.result: Any = None
        self.error: str | None = None
        self.reporter = Progress(self)
        self.origin: Any = None          # the page that started it, if any
        self._done = threading.Event()
        self._claim_lock = threading.Lock()
        self._claimed = False
        self._released = threading.Event()  # the worker holds no reference any more
        self.report_errors = True

    # -- GUI side --------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the work to stop; it ends as ``cancelled`` at its next check."""
        self.cancel_event.set()

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the work has ended (for shutdown and tests); True if it has."""
        return self._done.wait(timeout_s)

    # -- worker side -----------------------------------------------------------
    def run(self) -> None:
        """Do the work (in a worker thread). Runs at most once; later calls return at once."""
        with self._claim_lock:
            if self._claimed:
                return
            self._claimed = True
        try:
            self._run()
        finally:
            self._done.set()
            self.ended.emit(self)

    def _run(self) -> None:
        if self.cancel_event.is_set():
            self.state = Task.CANCELLED
            self.cancelled.emit()
            return
        self.state = Task.RUNNING
        self.started.emit()
        kwargs = dict(self.kwargs)
        accepted = _accepted_kwargs(self.fn)
        for key, value in (("progress", self.reporter), ("cancel", self.cancel_event), ("item", self.reporter.item)):
            if accepted is None and key == "item":
                continue  # **kwargs: pass progress and cancel, item is reachable as progress.item
            if accepted is None or key in accepted:
                kwargs.setdefault(key, value)
        try:
            result = self.fn(*self.args, **kwargs)
            if inspect.isgenerator(result):
                result = self._drain(result)
        except Cancelled:
            self._end_cancelled()
        except Exception as exc:  # noqa: BLE001 - every error becomes a message, never a crash
            if self.cancel_event.is_set():
                log.info("task %r raised after cancel: %s", self.name, one_line(exc))
                self._end_cancelled()
                return
            log.warning("task %r failed", self.name, exc_info=True)
            self.reporter.flush()
            self.error = one_line(exc)
            self.state = Task.FAILED
            self.failed.emit(self.error)
        else:
            self.result = result
            if self.cancel_event.is_set():
                self._end_cancelled()
            else:
                self.reporter.flush()
                self.state = Task.FINISHED
                self.finished.emit(result)

    def _drain(self, gen) -> Any:
        while True:
            if self.cancel_event.is_set():
                gen.close()
                return None
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            self.reporter.item(value)

    def _end_cancelled(self) -> None:
        self.reporter.flush()
        self.state = Task.CANCELLED
        self.cancelled.emit()


class _Runnable(QRunnable):
    """Runs one task. It lets go of the task before saying so (``task._released``), so
    that the task's last reference is always dropped, and the QObject destroyed, on the
    GUI thread."""

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task: Task | None = task
        self.setAutoDelete(True)

    def run(self) -> None:  # worker thread
        task, self.task = self.task, None
        released = task._released
        try:
            task.run()
        finally:
            del task
            released.set()


class TaskRunner(QObject):
    """Starts tasks on a private thread pool and keeps track of the running ones.

    ``error_sink(task, message)`` (set by the main window) receives the one-line
    message of every task that fails, so errors land in the banner of the page
    the user is looking at.
    """

    taskStarted = Signal(object)     # Task
    taskEnded = Signal(object)       # Task
    changed = Signal()               # the set of running tasks or the current one changed

    def __init__(self, parent: QObject | None = None, max_threads: int = 8) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._active: list[Task] = []
        self._pending: list[Task] = []
        self._graveyard: list[Task] = []
        self.error_sink: Callable[[Task, str], None] | None = None

    def start(self, name: str, fn: Callable, *args: Any,
              on_item: Callable[[Any], None] | None = None,
              on_progress: Callable[[Any, Any, Any, str], None] | None = None,
              on_finished: Callable[[Any], None] | None = None,
              on_failed: Callable[[str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None,
              report_errors: bool = True, origin: Any = None, **kwargs: Any) -> Task:
        """Run ``fn(*args, **kwargs)`` (plus progress/cancel/item) in a worker thread.

        The ``on_*`` callbacks are connected to the task's signals and so run on the
        GUI thread. With ``report_errors`` a failure also goes to ``error_sink``.
        The work starts on the next turn of the event loop: connecting to the
        returned task's signals right away is safe.
        """
        # No QObject parent: the runner's lists own the task, and drop it on the GUI thread.
        task = Task(name, fn, args, kwargs)
        task.origin = origin
        task.report_errors = report_errors
        if on_item is not None:
            task.item.connect(on_item)
        if on_progress is not None:
            task.progress.connect(on_progress)
        if on_finished is not None:
            task.finished.connect(on_finished)
        if on_failed is not None:
            task.failed.connect(on_failed)
        if on_cancelled is not None:
            task.cancelled.connect(on_cancelled)
        task.ended.connect(self._on_ended)  # a bound method: no reference cycle through the task
        self._active.append(task)
        self.taskStarted.emit(task)
        self.changed.emit()
        # The work begins on the next turn of the event loop, so signals connected right
        # after start() returns can never be missed.
        self._pending.append(task)
        QTimer.singleShot(0, self, self._start_pending)
        return task

    def _start_pending(self) -> None:
        while self._pending:
            task = self._pending.pop(0)
            if task.cancel_event.is_set():
                task.run()  # cancelled before it began: ends at once, as cancelled
                task._released.set()
            else:
                self.pool.start(_Runnable(task))

    def _on_ended(self, task: Task) -> None:
        if task in self._active:
            self._active.remove(task)
        # keep it until its worker has let go, so the QObject dies on this thread
        self._graveyard = [t for t in self._graveyard if not t._released.is_set()]
        if not task._released.is_set():
            self._graveyard.append(task)
        if task.state == Task.FAILED and task.report_errors and self.error_sink is not None:
            self.error_sink(task, task.error or "failed")
        self.taskEnded.emit(task)
        self.changed.emit()

    # -- queries and control ----------------------------------------------------
    def active(self) -> list[Task]:
        return list(self._active)

    def current(self) -> Task | None:
        """The most recently started task still running (what the status bar shows)."""
        return self._active[-1] if self._active else None

    def is_idle(self) -> bool:
        return not self._active

    def cancel_current(self) -> bool:
        task = self.current()
        if task is None:
            return False
        task.cancel()
        return True

    def cancel_all(self) -> None:
        for task in self._active:
            task.cancel()

    def shutdown(self, timeout_s: float = 3.0) -> bool:
        """Cancel everything and wait (up to ``timeout_s``) for the workers to end."""
        self.cancel_all()
        deadline = time.monotonic() + timeout_s
        self._start_pending()  # those not handed to the pool yet end here, as cancelled
        ok = self.pool.waitForDone(int(timeout_s * 1000))
        return ok and all(t.wait(max(0.0, deadline - time.monotonic())) for t in list(self._active))


@dataclass(frozen=True)
class PollResult:
    """One poll: ``value`` is the sample, or None with ``error`` for a miss."""

    t_epoch_s: float
    value: Any
    error: str | None = None

    @property
    def missed(self) -> bool:
        return self.error is not None


class Poller(QObject):
    """Calls ``fn`` every ``interval_s`` seconds in a worker until stopped.

    Each call is a sample (``sample(t_epoch_s, value)``) or, when ``fn`` raises or
    returns None, a miss (``missed(t_epoch_s, message)``). ``fn`` may take
    ``cancel`` (a threading.Event) to give up a slow read when stopped. Polls are
    scheduled on a fixed grid; a poll that overruns its slot delays the next one
    instead of causing a burst. The poll loop is a :class:`Task` of the runner,
    so it shows in the status bar and Esc/Cancel stops it.
    """

    sample = Signal(float, object)
    missed = Signal(float, str)
    stopped = Signal()
    runningChanged = Signal(bool)

    def __init__(self, runner: TaskRunner, name: str, fn: Callable, interval_s: float = 1.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.name = name
        self.fn = fn
        self._interval_s = 1.0
        self.set_interval(interval_s)
        self.task: Task | None = None
        self.polls = 0
        self.misses = 0

    @property
    def interval_s(self) -> float:
        return self._interval_s

    def set_interval(self, seconds: float) -> None:
        """Change the period; takes effect from the next poll (also while running)."""
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"poll interval must be a positive number of seconds, not {seconds}")
        self._interval_s = seconds

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def start(self) -> Task:
        if self.running:
            return self.task
        self.polls = self.misses = 0
        self.task = self.runner.start(self.name, self._loop, on_item=self._on_item, report_errors=True)
        self.task.ended.connect(self._on_ended)
        self.runningChanged.emit(True)
        return self.task

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _on_item(self, r: PollResult) -> None:
        if r.missed:
            self.missed.emit(r.t_epoch_s, r.error)
        else:
            self.sample.emit(r.t_epoch_s, r.value)

    def _on_ended(self, _task: Task) -> None:
        self.task = None
        self.runningChanged.emit(False)
        self.stopped.emit()

    def _loop(self, progress: Progress, cancel: threading.Event) -> int:  # worker thread
        accepted = _accepted_kwargs(self.fn)
        kw = {"cancel": cancel} if accepted is None or "cancel" in accepted else {}
        polls = misses = 0
        slot = time.monotonic()          # when this poll was due
        while not cancel.is_set():
            t = time.time()
            try:
                value = self.fn(**kw)
                error = None if value is not None else "no answer"
            except Exception as exc:  # noqa: BLE001 - a failed poll is a miss, not the end
                value, error = None, one_line(exc)
            if cancel.is_set():
                break
            polls += 1
            misses += error is not None
            self.polls, self.misses = polls, misses
            progress.item(PollResult(t, value, error))
            progress(polls, None, f"{polls} polls, {misses} missed, every {self._interval_s:g} s")
            previous = slot
            while not cancel.is_set():
                # recomputed each turn so that set_interval() acts on the poll being waited for
                slot = previous + self._interval_s
                remaining = slot - time.monotonic()
                if remaining <= 0:
                    break
                cancel.wait(min(remaining, 0.1))
            if time.monotonic() - slot > self._interval_s / 2:
                slot = time.monotonic()  # the poll overran its slot: re-plan, no burst of catch-ups
        return polls
