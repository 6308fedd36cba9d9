"""Waiting for the app's worker tasks (``app.ui.workers.Task``) from a Qt test."""
from __future__ import annotations


def task_ended(qtbot, task, timeout: int = 20000):
    """Wait until every signal of ``task`` (``ended`` last) has been delivered on the GUI thread.

    Safe whenever it is called, also after the task has already ended: the signals of a task
    that ended before we looked were queued for the GUI thread before its worker let go of it
    (``_released``), so once that is set, processing the posted events delivers whatever is
    still on its way. Returns the task.
    """
    from PySide6.QtCore import QCoreApplication

    ended = []
    task.ended.connect(ended.append)
    qtbot.waitUntil(lambda: bool(ended) or task._released.is_set(), timeout=timeout)
    QCoreApplication.processEvents()
    return task


def configured_keys(sim) -> set[str]:
    """The keys (``ident.MAN.vv.mm``) of the meters configured on a simulated bus."""
    return {f"{m.cfg.identification}.{m.cfg.manufacturer}.{m.cfg.version:02X}.{m.cfg.medium:02X}"
            for m in sim.meters}
