"""The Planner page: what is due when, and the sampling lots that decide it (MMS 1.3.3-1.3.6).

Two views: "Due" (counts per month and per site for the next years, the
meters behind each bar, CSV export) and "Lots" (form, draw with seed and
spares, results typed or imported, verdict, what it means for each meter,
the OC curve, the lot report). All database work runs in worker tasks
through ``app.services.planner`` over the planning service of the register
(``app.storage.planning``). docs/planner-ui.md describes the page.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from app.services import planner
from app.ui.pages.base import Page


class PlannerPage(Page):
    name = "planner"
    title = "Planner"
    icon = "planner"
    summary = "What is due, and the sampling lots that decide it (MMS 1.3.3-1.3.6)."

    def build(self) -> None:
        from PySide6.QtWidgets import QTabWidget

        from app.ui.calculators.look import scrolling, styled
        from app.ui.planner.due import DueView
        from app.ui.planner.lots import LotsView

        self.tabs = QTabWidget()
        styled(self.tabs.tabBar(), "tabs", self.ctx.text_scale)
        self.due = DueView(self, self.tabs)
        self.lots = LotsView(self, self.tabs)
        self.tabs.addTab(self.due, "Due")
        self.tabs.addTab(self.lots, "Lots")
        self.body_layout.addWidget(scrolling(self.tabs, self.body), 1)
        self._loaded_once = False
        self._demo_done = False
        self.make_action("Due view", lambda: self.tabs.setCurrentIndex(0), "Alt+1")
        self.make_action("Lots view", lambda: self.tabs.setCurrentIndex(1), "Alt+2")
        self.make_action("Form lots", self.lots.show_form_panel, "Ctrl+Shift+L")

    # -- hooks ---------------------------------------------------------------------------
    def on_shown(self) -> None:
        if not self._loaded_once:
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, self._first_load)   # after prepare_demo(), when the app calls it

    def _first_load(self) -> None:
        if not self._loaded_once:
            self._loaded_once = True
            self.reload()

    def refresh(self) -> bool:
        self.reload()
        return True

    def prepare_demo(self) -> None:
        """The demo register's due counts and its lots: one passed, one failed, one waiting for results."""
        self._loaded_once = True
        self.reload(demo_lot=True)

    def reload(self, demo_lot: bool = False) -> None:
        self.due.load()
        self.lots.load_lots()
        if demo_lot:
            self.run_db("Demo lot", planner.first_decided_lot, on_done=self._open_demo_lot)
        else:
            last = self.setting("lot", 0, int)
            if last:
                self.run_db("Last lot", planner.lot_exists, last,
                            on_done=lambda ok: self.lots.open_lot(last) if ok is True else None)

    def _open_demo_lot(self, lot_id) -> None:
        if isinstance(lot_id, int):
            self.lots.open_lot(lot_id, "verdict")

    def on_text_scale_changed(self, scale: float) -> None:
        from app.ui.calculators.look import restyle

        restyle(self.tabs.tabBar(), scale)
        self.due.set_text_scale(scale)
        self.lots.set_text_scale(scale)

    # -- services for the views ----------------------------------------------------------
    def run_db(self, name: str, fn, *args: Any, on_done=None, **kw: Any):
        """Run ``fn(register, *args, **kw)`` in a worker; ``on_done(result or Failure)`` on the GUI thread.

        On the demo register its demo lots are made first (once: ``ctx.mode.prepare_register``)."""
        from app.services.planner import guarded

        ctx = self.ctx

        def work():
            def body():
                reg = ctx.register()
                ctx.mode.prepare_register(reg)
                return fn(reg, *args, **kw)

            return guarded(body)

        return self.run_task(name, work, on_finished=on_done)

    def default_as_of(self) -> dt.date:
        """Today; the fixed demo date on the demo register (stable screenshots)."""
        return self.ctx.mode.planning_as_of()

    def default_today(self) -> dt.date:
        return self.ctx.mode.planning_today()

    def demo_seed(self) -> int | None:
        return self.ctx.mode.draw_seed()

    def user(self) -> str | None:
        return self.ctx.mode.register_user()

    def setting(self, key: str, default: Any, type_: type) -> Any:
        return self.recall(key, default, type_)

    def set_setting(self, key: str, value: Any) -> None:
        self.remember(key, value)

    def lots_changed(self, lots: list[dict]) -> None:
        done = sum(1 for lt in lots if (lt.get("status") or "").startswith("verdict"))
        n = sum(1 for lt in lots if lt.get("round"))
        self.tabs.setTabText(1, f"Lots ({n}, {done} decided)" if n else "Lots")
        if self.due.data is not None:
            self.lots.set_sites(self.due.data.sites)

    def schedule_changed(self) -> None:
        """A lot changed what is due (a verdict): work the schedule out again."""
        self.due.load()
