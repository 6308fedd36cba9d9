"""Guards the Qt binding itself: PySide6 6.12.0 dropped a reference to True on every
Signal.emit() from Python, which aborts Python 3.11 after some thousand emits (a live
plot polling every second would die within the hour). pyproject.toml excludes it."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    plain = Signal()
    value = Signal(object)


def test_signal_emit_keeps_reference_counts(qapp):
    e = _Emitter()
    got = []
    e.value.connect(got.append)
    e.plain.connect(lambda: got.append(None))
    before_true, before_false = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(500):
        e.plain.emit()
        e.value.emit(i % 2 == 0)
    got.clear()
    assert sys.getrefcount(True) >= before_true
    assert sys.getrefcount(False) >= before_false
