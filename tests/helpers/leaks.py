"""Find the threads a test leaves running: Python threads, QThreads and busy QThreadPools.

:class:`ThreadWatch` is armed before a test and asked after it (the autouse
fixture ``no_leaked_threads`` in ``tests/conftest.py``):

- Python threads: every ``threading.Thread`` alive after the test that was not
  alive before it. The Python-side stand-ins of threads Python did not start
  (``threading._DummyThread``, e.g. a Qt pool thread that logged something) are
  left to the Qt checks: Python 3.11 never marks them as ended.
- QThreads: every ``QThread`` started from Python during the test.
- QThreadPools: every pool handed a runnable from Python during the test must
  have no runnable still running (idle pool threads waiting for work are fine:
  they end by themselves and run nothing).

Threads that are about to end get a grace period: they are joined (``join``,
``QThread.wait``, ``QThreadPool.waitForDone``) against one shared deadline,
never slept for. What is still running then is a leak, described by its name,
what it runs and where it is blocked, so that the failure says which one.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: how long, in total, the threads of one test get to end after it
GRACE_S = 2.0


def _where_blocked(ident: int | None) -> str:
    """The innermost frame of the thread's stack that is our code (else the innermost), as file:line."""
    frame = sys._current_frames().get(ident) if ident is not None else None
    if frame is None:
        return "?"
    stack = traceback.extract_stack(frame)
    ours = [f for f in stack if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename]
    f = (ours or stack)[-1]
    try:
        name = Path(f.filename).resolve().relative_to(ROOT)
    except ValueError:
        name = Path(f.filename).name
    return f"{name}:{f.lineno} in {f.name}"


def _caller() -> str:
    """Where a thread or pool was started from: the first frame in the project's code outside this module."""
    for f in reversed(traceback.extract_stack()[:-2]):
        if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename and f.filename != __file__:
            try:
                return f"{Path(f.filename).relative_to(ROOT)}:{f.lineno}"
            except ValueError:
                break
    return "?"


def _describe_python(t: threading.Thread) -> str:
    target = getattr(t, "_target", None)
    what = getattr(target, "__qualname__", None) or type(t).__qualname__
    return (f"thread {t.name!r} ({what}{', daemon' if t.daemon else ''}) still running, "
            f"blocked at {_where_blocked(t.ident)}")


def _describe_runnable(runnable) -> str:
    task = getattr(runnable, "task", None)       # app.ui.workers._Runnable: name the task it runs
    name = getattr(task, "name", None)
    if name:    # (handed to the pool from the event loop: where that happened says nothing)
        return f"task {name!r}"
    return f"{type(runnable).__qualname__} started at {_caller()}"


class ThreadWatch:
    """Threads started between :meth:`arm` and :meth:`leaks`, and which of them are still running."""

    def __init__(self) -> None:
        self._before: set[threading.Thread] = set()
        self._qthreads: list[tuple[object, str]] = []
        self._pools: dict[int, tuple[object, list[str]]] = {}
        self._undo: list[tuple[type, str, object]] = []

    # -- before the test ---------------------------------------------------------
    def arm(self) -> ThreadWatch:
        self._before = set(threading.enumerate())
        self._patch_qt()
        return self

    def _patch_qt(self) -> None:
        try:
            from PySide6.QtCore import QThread, QThreadPool
        except ImportError:  # pragma: no cover - PySide6 is a dependency of the project
            return
        watch = self
        qthread_start, pool_start, pool_try_start = QThread.start, QThreadPool.start, QThreadPool.tryStart

        def start(self, *args, **kwargs):
            watch._qthreads.append((self, f"QThread {type(self).__qualname__} {self.objectName()!r} "
                                          f"started at {_caller()}"))
            return qthread_start(self, *args, **kwargs)

        def _note(pool, runnable) -> None:
            entry = watch._pools.setdefault(id(pool), (pool, []))
            entry[1].append(_describe_runnable(runnable))

        def start_runnable(self, runnable, *args, **kwargs):
            _note(self, runnable)
            return pool_start(self, runnable, *args, **kwargs)

        def try_start(self, runnable, *args, **kwargs):
            _note(self, runnable)
            return pool_try_start(self, runnable, *args, **kwargs)

        for cls, name, new, old in ((QThread, "start", start, qthread_start),
                                    (QThreadPool, "start", start_runnable, pool_start),
                                    (QThreadPool, "tryStart", try_start, pool_try_start)):
            setattr(cls, name, new)
            self._undo.append((cls, name, old))

    # -- after the test ----------------------------------------------------------
    def leaks(self, grace_s: float = GRACE_S) -> list[str]:
        """What is still running after up to ``grace_s`` of joining, one line each (empty: nothing leaked).

        Undoes the Qt patches; call once."""
        for cls, name, old in reversed(self._undo):
            setattr(cls, name, old)
        self._undo.clear()
        deadline = time.monotonic() + grace_s

        def left_ms() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

        found: list[str] = []
        for t in threading.enumerate():
            if t in self._before or isinstance(t, threading._DummyThread) or t is threading.main_thread():
                continue
            t.join(left_ms() / 1000)
            if t.is_alive():
                found.append(_describe_python(t))
        for thread, where in self._qthreads:
            try:
                if not thread.wait(left_ms()) and thread.isRunning():
                    found.append(f"{where}: still running")
            except RuntimeError:       # its C++ object is gone: deleted, so not running
                pass
        for pool, started in self._pools.values():
            try:
                if not pool.waitForDone(left_ms()):
                    found.append(f"QThreadPool still running {pool.activeThreadCount()} runnable(s); "
                                 f"this test started: {'; '.join(started)}")
            except RuntimeError:
                pass
        self._qthreads.clear()
        self._pools.clear()
        return found
