"""Qt fixtures for the desktop app: offscreen, and settings in a temporary folder."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def settings_dir(tmp_path, monkeypatch):
    """Every test gets its own settings file; the user's are never read or written."""
    where = tmp_path / "settings"
    where.mkdir()
    monkeypatch.setenv("HEATMETER_SETTINGS_DIR", str(where))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # a page opening the default register
    from app.ui.settings import use_settings_dir

    use_settings_dir(where)
    return where


@pytest.fixture
def make_window(qtbot):
    """Factory: a shown MainWindow on a fresh context (closed at the end of the test)."""
    from app.ui.context import AppContext
    from app.ui.mainwindow import MainWindow
    from app.ui.settings import Settings

    made = []

    def make(page: str | None = None, **ctx_kw):
        ctx = AppContext(Settings(), **ctx_kw)
        win = MainWindow(ctx, initial_page=page)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    from PySide6.QtCore import QCoreApplication, QEvent

    from app.ui.workers import TaskRunner

    stuck = []
    for win in made:
        if win.isVisible():
            win.close()
        for runner in [win.ctx.tasks, *win.findChildren(TaskRunner)]:   # pages may have runners of their own
            if not runner.shutdown(5.0):
                stuck += [t.name for t in runner.active()] or ["(a task of this runner)"]
    QCoreApplication.processEvents()   # the workers' last signals, while their receivers still exist
    for win in made:
        win.deleteLater()
    # delete the windows now: without an event loop Qt would keep them, and every later
    # style change (larger text) would re-polish all their widgets
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if stuck:
        pytest.fail(f"worker tasks did not stop within 5 s of being cancelled: {', '.join(stuck)}", pytrace=False)


@pytest.fixture
def window(make_window):
    return make_window()
