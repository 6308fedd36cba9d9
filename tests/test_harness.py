"""The test harness itself: a test leaving a thread running fails, and test modules do not import each other.

The leak checks run small test files through pytest (``pytester``, in this process) with the
suite's own fixtures: a thread the inner test leaves blocked is released afterwards through the
``gate`` the inner test was handed, so that this test leaves nothing running either.
"""
from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

INNER_CONFTEST = """
from tests.conftest import no_leaked_threads  # noqa: F401 - the suite's autouse fixture
"""


class Gate:
    """A pytest plugin handing the inner tests ``gate`` (an Event their threads wait on) and ``keep``."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.kept: list = []

    @pytest.fixture
    def gate(self):
        return self.event

    @pytest.fixture
    def keep(self):
        """``keep(obj)``: hold a Qt object past the inner test (deleting a busy pool would wait for it)."""
        return self.kept.append

    def release(self) -> None:
        self.event.set()
        for obj in self.kept:
            if hasattr(obj, "shutdown"):
                assert obj.shutdown(5.0)
            elif hasattr(obj, "wait"):
                assert obj.wait(5000)


def run_inner(pytester, source: str, *, conftest: str = INNER_CONFTEST):
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_inner=source)
    gate = Gate()
    try:
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[gate])
    finally:
        gate.release()
    for t in threading.enumerate():
        if t.name.startswith("inner-"):
            t.join(5.0)
    return result


def test_a_thread_left_running_fails_the_test_and_is_named(pytester):
    result = run_inner(pytester, """
import threading

def test_leaks(gate):
    threading.Thread(target=gate.wait, name="inner-leaky-worker", daemon=True).start()
""")
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    assert "the test left threads running" in out and "'inner-leaky-worker'" in out
    assert "blocked at" in out


def test_threads_that_end_with_the_test_pass(pytester):
    """Joined in the test, or ending while the fixtures are torn down (the grace, by joining)."""
    result = run_inner(pytester, """
import threading
import pytest

@pytest.fixture
def stopped_at_teardown():
    ev = threading.Event()
    yield ev
    ev.set()

def test_joins_its_thread():
    t = threading.Thread(target=lambda: None, name="inner-quick")
    t.start()
    t.join()

def test_thread_ends_at_teardown(stopped_at_teardown):
    threading.Thread(target=stopped_at_teardown.wait, name="inner-until-teardown").start()
""")
    result.assert_outcomes(passed=2)


def test_a_pool_task_left_running_fails_the_test_and_is_named(pytester):
    result = run_inner(pytester, """
def test_leaks(qapp, gate, keep):
    from app.ui.workers import TaskRunner

    runner = TaskRunner()
    keep(runner)
    runner.start("inner stuck job", lambda: gate.wait())
    qapp.processEvents()          # the task is handed to the pool on the next turn of the event loop
""")
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    assert "QThreadPool still running 1 runnable" in out and "task 'inner stuck job'" in out


def test_a_qthread_left_running_fails_the_test(pytester):
    result = run_inner(pytester, """
from PySide6.QtCore import QThread

class Waiter(QThread):
    def __init__(self, gate):
        super().__init__()
        self.gate = gate

    def run(self):
        self.gate.wait()

def test_leaks(qapp, gate, keep):
    t = Waiter(gate)
    t.setObjectName("inner-waiter")
    keep(t)
    t.start()
""")
    result.assert_outcomes(passed=1, errors=1)
    assert "QThread Waiter 'inner-waiter' started at" in result.stdout.str()


def test_a_worker_that_ignores_cancel_fails_a_window_test(pytester):
    """make_window shuts the window's task runners down at the end; one that does not stop fails the test."""
    result = run_inner(pytester, """
def test_stubborn(make_window, gate):
    win = make_window()
    win.ctx.tasks.start("inner stubborn task", lambda: gate.wait())   # never looks at cancel
""", conftest=INNER_CONFTEST + "from tests.ui.conftest import make_window, settings_dir  # noqa: F401\n")
    result.assert_outcomes(passed=1, errors=1)
    assert "worker tasks did not stop within 5 s of being cancelled: inner stubborn task" in result.stdout.str()


# -- test modules import helpers, not each other -----------------------------------------------------


def imports_of_test_modules(source: str) -> list[str]:
    """The imports in ``source`` (anywhere, also inside functions) of a test module or a conftest."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ("." * node.level) + (node.module or "")
            sep = "" if base.endswith(".") else "."
            names = [base] + [f"{base}{sep}{a.name}" for a in node.names]   # from tests.ui import test_bus
        else:
            continue
        for name in names:
            last = name.rsplit(".", 1)[-1]
            if last.startswith("test_") or last == "conftest":
                bad.append(name)
                break
    return bad


def test_the_import_check_finds_what_it_looks_for():
    assert imports_of_test_modules("from tests.ui.test_bus import _done") == ["tests.ui.test_bus"]
    assert imports_of_test_modules("def f():\n    from tests.bus.conftest import run_cli\n") == ["tests.bus.conftest"]
    assert imports_of_test_modules("from tests.ui import test_bus") == ["tests.ui.test_bus"]
    assert imports_of_test_modules("from . import conftest") == [".conftest"]
    assert imports_of_test_modules("from tests.helpers.qt import task_ended\nimport pytest") == []


def test_no_test_module_imports_another_test_module_or_a_conftest():
    """Shared helpers live in tests/helpers/ (fixtures in conftest files, which pytest loads itself)."""
    found = {}
    for path in sorted(TESTS.rglob("*.py")):
        bad = imports_of_test_modules(path.read_text(encoding="utf-8"))
        if bad:
            found[str(path.relative_to(TESTS))] = bad
    assert found == {}
