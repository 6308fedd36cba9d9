"""The Calculators page: metrology at the desk, one tab per ``heatmeter calc`` kind.

MPE at a point (with the MPE-versus-flow curve), calibration certificate
evaluation, sizing from a load (against the catalogue), register resolution
(DECC RHI rule), battery life, heat coefficient, and the cost-benefit of heat
meters against heat cost allocators (EN 15459). Each form computes through
``app.core.calcjson.run`` — the same numbers as ``heatmeter calc`` — and shows
the core's input errors next to the field they name. A tab's form is built
the first time it is shown.
"""
from __future__ import annotations

from app.ui.pages.base import Page

TAB_KEY = "tab"
# (kind, tab title, "module:Class") in tab order
CALCULATORS = (
    ("mpe", "MPE", "app.ui.calculators.mpe:MpeForm"),
    ("calibration", "Calibration", "app.ui.calculators.calibration:CalibrationForm"),
    ("sizing", "Sizing", "app.ui.calculators.sizing:SizingForm"),
    ("resolution", "Resolution", "app.ui.calculators.resolution:ResolutionForm"),
    ("battery", "Battery", "app.ui.calculators.battery:BatteryForm"),
    ("heat-coefficient", "Heat coefficient", "app.ui.calculators.heatcoef:HeatCoefficientForm"),
    ("cost-benefit", "Cost-benefit", "app.ui.calculators.costbenefit:CostBenefitForm"),
)


class CalculatorsPage(Page):
    name = "calculators"
    title = "Calculators"
    icon = "calculators"
    summary = "Metrology at the desk: the same numbers as heatmeter calc."

    def build(self) -> None:
        from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

        from app.ui.calculators.look import scrolling, styled

        self.tabs = QTabWidget()
        styled(self.tabs.tabBar(), "tabs", self.ctx.text_scale)
        self.forms = {}
        self._holders = {}
        for kind, title, _target in CALCULATORS:
            holder = QWidget(self.tabs)
            lay = QVBoxLayout(holder)
            lay.setContentsMargins(8, 4, 8, 8)
            self._holders[kind] = holder
            self.tabs.addTab(holder, title)
        self.body_layout.addWidget(scrolling(self.tabs, self.body), 1)
        start = self.recall(TAB_KEY, 0, int)
        start = start if 0 <= start < self.tabs.count() else 0
        self.tabs.setCurrentIndex(start)
        self._ensure(CALCULATORS[start][0])
        self.tabs.currentChanged.connect(self._tab_changed)
        self.make_action("Calculate", self.calculate, "Ctrl+Return")
        self.make_action("Copy the results as JSON", self.copy_results, "Ctrl+Shift+C")
        self.make_action("Next calculator", lambda: self._step(1), "Ctrl+Tab")
        self.make_action("Previous calculator", lambda: self._step(-1), "Ctrl+Shift+Tab")

    def _ensure(self, kind: str):
        form = self.forms.get(kind)
        if form is None:
            import importlib

            target = next(t for k, _title, t in CALCULATORS if k == kind)
            module, _, cls = target.partition(":")
            holder = self._holders[kind]
            form = getattr(importlib.import_module(module), cls)(self, holder)
            holder.layout().addWidget(form)
            self.forms[kind] = form
        return form

    # -- API -----------------------------------------------------------------------------
    def form(self, kind: str):
        """The form of ``kind`` (built if it was not yet)."""
        return self._ensure(kind)

    def current_kind(self) -> str:
        return CALCULATORS[self.tabs.currentIndex()][0]

    def current_form(self):
        return self._ensure(self.current_kind())

    def show_form(self, kind: str) -> None:
        self.tabs.setCurrentWidget(self._holders[kind])
        self._ensure(kind)

    def calculate(self) -> None:
        self.current_form().compute()

    def copy_results(self) -> None:
        self.current_form().copy_result()

    def refresh(self) -> bool:
        self.calculate()
        return True

    def prepare_demo(self) -> None:
        """The worked examples in the forms built so far; the MPE form shown."""
        self.show_form("mpe")
        for form in self.forms.values():
            form.load_example()

    def _step(self, d: int) -> None:
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + d) % self.tabs.count())

    def _tab_changed(self, i: int) -> None:
        self._ensure(CALCULATORS[i][0])
        self.remember(TAB_KEY, i)

    def on_text_scale_changed(self, scale: float) -> None:
        from app.ui.calculators.look import restyle

        restyle(self.tabs.tabBar(), scale)
        for form in self.forms.values():
            form.set_text_scale(scale)
