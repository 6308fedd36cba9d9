"""What every screenshot script starts with: the application, a throw-away folder, the app's context
(the demo register and buses in that folder unless another register is given), and a wait that keeps the
event loop and the worker threads going until a condition holds."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class Shot:
    """``app``, ``tmp`` (the throw-away folder) and ``ctx`` (an ``AppContext`` in screenshot mode, text at
    the larger scale when ``larger``): in demo mode, or on a new register file ``register`` in the folder."""

    def __init__(self, larger: bool, *, timeout: float = 120.0, settle: int = 0, register: str | None = None):
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from app.ui import theme
        from app.ui.context import AppContext
        from app.ui.settings import Settings

        self.timeout, self.settle = timeout, settle
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.tmp = tempfile.TemporaryDirectory(prefix="heatmeter-shot-")
        settings = Settings(QSettings(os.path.join(self.tmp.name, "s.ini"), QSettings.Format.IniFormat))
        if register is None:
            self.ctx = AppContext(settings, demo=True, screenshot=True, text_scale=theme.text_scale(larger))
            self.ctx.demo_dir = self.tmp.name
        else:
            self.ctx = AppContext(settings, screenshot=True, db_url=f"sqlite:///{self.tmp.name}/{register}",
                                  text_scale=theme.text_scale(larger))

    def wait(self, cond, timeout: float | None = None) -> None:
        """Run the event loop until ``cond()`` holds (then ``settle`` more turns); exit naming the caller's
        line after ``timeout`` s."""
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not cond():
            if time.monotonic() > end:
                raise SystemExit(f"timed out at line {sys._getframe(1).f_lineno}")
            self.app.processEvents()
            self.ctx.tasks.pool.waitForDone(10)
        for _ in range(self.settle):
            self.app.processEvents()
