"""The calculator form: fields → the ``heatmeter calc`` JSON input → ``calcjson.run`` → big results.

A subclass declares its ``kind`` (the calc kind), its ``fields`` and an
``example``; it turns the output into result rows (:meth:`present`) and may
draw a plot (:meth:`draw`). The form:

- builds the JSON input object from the fields (an empty optional field is
  left out; a number that does not parse is passed as typed, so the core names
  the key and says why);
- computes on Calculate / Ctrl+Return, and on its own a moment after an edit;
- shows the core's :class:`~app.core.errors.InputError` next to the field its
  key names (or above the results when no field has that key);
- remembers the last inputs in the settings (``page/calculators/<kind>``);
- copies the output (and the input) as JSON: the object that
  ``heatmeter calc KIND --json`` prints for that input (indented).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from app.ui import theme
from app.ui.calculators.look import restyle, set_state, styled

SETTINGS_PAGE = "calculators"
AUTO_DELAY_MS = 350


@dataclass(frozen=True)
class FieldSpec:
    key: str                      # the JSON input key
    label: str
    unit: str = ""
    kind: str = "number"          # number | int | text | choice | bool
    default: Any = ""             # raw value: text for number/int/text, a value for choice, bool for bool
    choices: tuple[tuple[str, Any], ...] = ()
    optional: bool = False
    tip: str = ""
    section: str = ""             # heading shown above this field when it changes


def parse_number(text: str, integer: bool = False) -> Any:
    """Text as typed → a JSON number (a decimal comma is read), or the text itself
    when it is not a number, so that the core refuses it naming the key."""
    t = text.strip().replace("\u2212", "-")
    if re.fullmatch(r"[+-]?\d+,\d*", t):
        t = t.replace(",", ".")
    try:
        v = float(t)
    except ValueError:
        return text.strip()
    if integer and v.is_integer():
        return int(v)
    return int(v) if (v.is_integer() and re.fullmatch(r"[+-]?\d+", t)) else v


class ResultPanel(QFrame):
    """A verdict badge and rows of big values; rows may have several value columns."""

    def __init__(self, parent: QWidget | None = None, scale: float = 1.0) -> None:
        super().__init__(parent)
        self.scale = scale
        self.setObjectName("ResultPanel")
        styled(self, "panel", scale, "ResultPanel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 10)
        lay.setSpacing(8)
        self.badge = QLabel(self)
        self.badge.setObjectName("VerdictBadge")
        styled(self.badge, "badge", scale)
        self.badge.setWordWrap(True)
        self.badge.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.badge)
        self.grid_host = QWidget(self)
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(18)
        self.grid.setVerticalSpacing(4)
        lay.addWidget(self.grid_host)
        self.note = QLabel(self)
        self.note.setObjectName("ResultNote")
        self.note.setWordWrap(True)
        self.note.hide()
        lay.addWidget(self.note)
        self.value_labels: dict[str, list[QLabel]] = {}

    def set_verdict(self, text: str, state: str = "info") -> None:
        self.badge.setText(text)
        self.badge.setProperty("state", state)
        set_state(self.badge, state, self.scale)

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        restyle(self, scale)

    def set_rows(self, rows: list[tuple], header: tuple[str, ...] | None = None) -> None:
        """``rows``: (label, value or [values], state or [states]); state pass/fail/warn/None."""
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        self.value_labels = {}
        r = 0
        if header:
            for c, h in enumerate(header):
                lab = QLabel(h, self.grid_host)
                lab.setObjectName("ResultHeader")
                lab.setWordWrap(True)
                styled(lab, "header", self.scale)
                self.grid.addWidget(lab, r, c)
            r += 1
        for row in rows:
            label, values = row[0], row[1]
            states = row[2] if len(row) > 2 else None
            if not isinstance(values, (list, tuple)):
                values = [values]
            if not isinstance(states, (list, tuple)):
                states = [states] * len(values)
            name = QLabel(label, self.grid_host)
            name.setObjectName("ResultName")
            name.setWordWrap(True)
            self.grid.addWidget(name, r, 0)
            labels = []
            for c, (v, st) in enumerate(zip(values, states), start=1):
                val = QLabel(v, self.grid_host)
                val.setObjectName("ResultValue")
                val.setWordWrap(True)
                val.setProperty("state", st or "")
                styled(val, "value" if len(values) == 1 else "value-mid", self.scale, st or "")
                val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.grid.addWidget(val, r, c)
                labels.append(val)
            self.value_labels[label] = labels
            r += 1
        self.grid.setColumnStretch(0, 0)
        for c in range(1, self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def value_text(self, label: str, column: int = 0) -> str:
        return self.value_labels[label][column].text()


class CalculatorForm(QWidget):
    """One calculator: fields on the left, results and plot on the right."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    intro: ClassVar[str] = ""
    fields: ClassVar[tuple[FieldSpec, ...]] = ()
    example: ClassVar[dict[str, Any]] = {}
    left_width: ClassVar[int] = 470   # px of the fields column at normal text size

    computed = Signal(dict)
    failed = Signal(str, str)   # key, message

    def __init__(self, page, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.ctx = page.ctx
        self.setObjectName(f"Calc_{self.kind}")
        self.last_input: dict | None = None
        self.last_result: dict | None = None
        self.last_error: tuple[str, str] | None = None
        self.editors: dict[str, QWidget] = {}
        self.error_labels: dict[str, QLabel] = {}
        self._loading = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTO_DELAY_MS)
        self._timer.timeout.connect(self.compute)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 6, 0, 0)
        outer.setSpacing(14)
        left = QVBoxLayout()
        left.setSpacing(8)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.form_host = QWidget(self.scroll)
        self.form_host.setObjectName("CalcForm")
        form_lay = QVBoxLayout(self.form_host)
        form_lay.setContentsMargins(0, 0, 10, 0)
        form_lay.setSpacing(6)
        if self.intro:
            intro = QLabel(self.intro, self.form_host)
            intro.setWordWrap(True)
            intro.setObjectName("CalcIntro")
            styled(intro, "intro", self.ctx.text_scale)
            form_lay.addWidget(intro)
        self.form_grid = QGridLayout()
        self.form_grid.setHorizontalSpacing(8)
        self.form_grid.setVerticalSpacing(2)
        self.form_grid.setColumnStretch(1, 1)
        form_lay.addLayout(self.form_grid)
        self._grid_row = 0
        section = ""
        for f in self.fields:
            if f.section and f.section != section:
                section = f.section
                self.add_section(section)
            self.add_field(f)
        self.build_inputs(form_lay)
        form_lay.addStretch(1)
        self.scroll.setWidget(self.form_host)
        left.addWidget(self.scroll, 1)

        buttons = QGridLayout()
        buttons.setSpacing(6)
        self.calc_button = QPushButton("Calculate", self)
        self.calc_button.setProperty("primary", True)
        self.calc_button.setToolTip("Compute now (Ctrl+Return); results also follow your edits")
        self.calc_button.clicked.connect(self.compute)
        self.copy_button = QPushButton("Copy JSON", self)
        self.copy_button.setToolTip(f"Copy the results as JSON: the object heatmeter calc {self.kind} --json prints, indented")
        self.copy_button.clicked.connect(self.copy_result)
        self.copy_input_button = QPushButton("Copy input", self)
        self.copy_input_button.setToolTip(f"Copy the input as JSON, for heatmeter calc {self.kind} --input -")
        self.copy_input_button.clicked.connect(self.copy_input)
        self.example_button = QPushButton("Example", self)
        self.example_button.setToolTip("Fill in a worked example")
        self.example_button.clicked.connect(self.load_example)
        buttons.addWidget(self.calc_button, 0, 0)
        buttons.addWidget(self.example_button, 0, 1)
        buttons.addWidget(self.copy_button, 1, 0)
        buttons.addWidget(self.copy_input_button, 1, 1)
        left.addLayout(buttons)
        self.left_host = QWidget(self)
        self.left_host.setLayout(left)
        outer.addWidget(self.left_host, 0)

        right = QVBoxLayout()
        right.setSpacing(8)
        self.general_error = QLabel(self)
        self.general_error.setObjectName("GeneralError")
        styled(self.general_error, "error-box", self.ctx.text_scale)
        self.general_error.setWordWrap(True)
        self.general_error.hide()
        right.addWidget(self.general_error)
        self.results = ResultPanel(self, self.ctx.text_scale)
        right.addWidget(self.results)
        self.build_output(right)
        if right.count() == 2:   # no plot: keep the results at the top
            right.addStretch(1)
        # the results scroll rather than squash when the text is large and the window small
        self.right_scroll = QScrollArea(self)
        self.right_scroll.setWidgetResizable(True)
        self.right_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        right_host = QWidget(self.right_scroll)
        right_host.setLayout(right)
        right_host.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.right_scroll.setWidget(right_host)
        outer.addWidget(self.right_scroll, 1)
        self.right_layout = right
        self.set_text_scale(self.ctx.text_scale)
        self.load_state()

    # -- building ------------------------------------------------------------------------
    def add_section(self, text: str) -> None:
        lab = QLabel(text, self.form_host)
        lab.setObjectName("CalcSection")
        styled(lab, "section", self.ctx.text_scale)
        self.form_grid.addWidget(lab, self._grid_row, 0, 1, 3)
        self._grid_row += 1

    def add_field(self, f: FieldSpec) -> None:
        label = QLabel(f.label, self.form_host)   # an optional field says so in its placeholder
        label.setObjectName("FieldLabel")
        label.setWordWrap(True)
        if f.kind == "choice":
            ed: QWidget = QComboBox(self.form_host)
            for text, value in f.choices:
                ed.addItem(text, value)
            ed.currentIndexChanged.connect(self._edited)
        elif f.kind == "bool":
            ed = QCheckBox(self.form_host)
            ed.toggled.connect(self._edited)
        else:
            ed = QLineEdit(self.form_host)
            ed.setMinimumWidth(80)
            ed.setPlaceholderText("optional" if f.optional else "")
            ed.textEdited.connect(self._edited)
            ed.returnPressed.connect(self.compute)
        ed.setObjectName(f"field_{f.key}")
        ed.setAccessibleName(f.label)
        if f.tip:
            ed.setToolTip(f.tip)
            label.setToolTip(f.tip)
        label.setBuddy(ed)
        unit = QLabel(f.unit, self.form_host)
        unit.setObjectName("FieldUnit")
        err = QLabel(self.form_host)
        err.setObjectName("FieldError")
        styled(err, "error", self.ctx.text_scale)
        err.setWordWrap(True)
        err.hide()
        r = self._grid_row
        self.form_grid.addWidget(label, r, 0)
        self.form_grid.addWidget(ed, r, 1)
        self.form_grid.addWidget(unit, r, 2)
        self.form_grid.addWidget(err, r + 1, 0, 1, 3)
        self._grid_row += 2
        self.editors[f.key] = ed
        self.error_labels[f.key] = err

    def build_inputs(self, layout: QVBoxLayout) -> None:
        """Add more input widgets below the fields (e.g. a table of points)."""

    def build_output(self, layout: QVBoxLayout) -> None:
        """Add output widgets below the results (e.g. a plot)."""

    def register_editor(self, key: str, editor: QWidget, error_label: QLabel) -> None:
        """Make ``key`` (an input key such as ``costs.heat_meters.capital_per_apartment``)
        show its errors at ``editor``."""
        self.editors[key] = editor
        self.error_labels[key] = error_label

    # -- values --------------------------------------------------------------------------
    def raw_state(self) -> dict:
        out: dict[str, Any] = {}
        for f in self.fields:
            ed = self.editors[f.key]
            if isinstance(ed, QComboBox):
                out[f.key] = ed.currentData()
            elif isinstance(ed, QCheckBox):
                out[f.key] = ed.isChecked()
            else:
                out[f.key] = ed.text()
        out.update(self.extra_state())
        return out

    def set_raw_state(self, state: dict) -> None:
        self._loading = True
        try:
            for f in self.fields:
                ed = self.editors[f.key]
                v = state.get(f.key, f.default)
                if isinstance(ed, QComboBox):
                    i = ed.findData(v)
                    ed.setCurrentIndex(i if i >= 0 else max(0, ed.findData(f.default)))
                elif isinstance(ed, QCheckBox):
                    ed.setChecked(bool(v))
                else:
                    ed.setText("" if v is None else str(v))
            self.set_extra_state(state)
        finally:
            self._loading = False

    def extra_state(self) -> dict:
        return {}

    def set_extra_state(self, state: dict) -> None:
        pass

    def input_data(self) -> dict:
        """The ``heatmeter calc`` input object of the form as it stands."""
        data: dict[str, Any] = {}
        for f in self.fields:
            ed = self.editors[f.key]
            if isinstance(ed, QComboBox):
                v = ed.currentData()
                if v is not None:
                    data[f.key] = v
            elif isinstance(ed, QCheckBox):
                data[f.key] = ed.isChecked()
            else:
                text = ed.text().strip()
                if not text:
                    continue
                data[f.key] = text if f.kind == "text" else parse_number(text, integer=f.kind == "int")
        self.add_input(data)
        return data

    def add_input(self, data: dict) -> None:
        """Put the extra inputs (tables, grids) into ``data``."""

    # -- computing -----------------------------------------------------------------------
    def _edited(self, *_args) -> None:
        if not self._loading:
            self._timer.start()

    def schedule_compute(self) -> None:
        self._edited()

    def compute(self) -> dict | None:
        """Run the calculator on the form's input; show the result or the error at its field."""
        from app.core.calcjson import run
        from app.core.errors import InputError

        self._timer.stop()
        data = self.input_data()
        self.last_input = data
        self.clear_errors()
        try:
            result = run(self.kind, data)
        except InputError as exc:
            self.last_result = None
            self.last_error = (exc.key, exc.message)
            self.show_input_error(exc.key, exc.message)
            self.results.set_verdict(f"Check the input: {exc.key}", "fail")
            self.results.set_rows([])
            self.results.set_note(exc.message)
            self.clear_output()
            self.failed.emit(exc.key, exc.message)
            return None
        self.last_error = None
        self.last_result = result
        self.show_result(result)
        self.save_state()
        self.computed.emit(result)
        return result

    def show_result(self, result: dict) -> None:
        verdict, state, rows, header, note = self.present(result)
        self.results.set_verdict(verdict, state)
        self.results.set_rows(rows, header)
        self.results.set_note(note)
        self.draw(result)

    def present(self, result: dict) -> tuple[str, str, list, tuple | None, str]:
        """(verdict text, state, rows, header or None, note) for the result panel."""
        raise NotImplementedError

    def draw(self, result: dict) -> None:
        """Update the plot, if any."""

    def clear_output(self) -> None:
        """The input has an error: take away what belongs to the previous result (plot, table cells)."""
        plot = getattr(self, "plot", None)
        if plot is not None:
            plot.getPlotItem().clear()
            if plot.legend is not None:
                plot.legend.clear()

    # -- errors --------------------------------------------------------------------------
    def clear_errors(self) -> None:
        for key, lab in self.error_labels.items():
            lab.hide()
            ed = self.editors.get(key)
            if ed is not None and ed.property("invalid"):
                ed.setProperty("invalid", False)
                styled(ed, "", self.ctx.text_scale)
        self.general_error.hide()
        self.clear_extra_errors()

    def clear_extra_errors(self) -> None:
        pass

    def show_input_error(self, key: str, message: str) -> None:
        if self.show_extra_error(key, message):
            return
        ed = self.editors.get(key)
        lab = self.error_labels.get(key)
        if ed is None or lab is None:
            self.general_error.setText(f"{key}: {message}")
            self.general_error.show()
            return
        lab.setText(message)
        lab.show()
        ed.setProperty("invalid", True)
        styled(ed, "invalid", self.ctx.text_scale)
        self.scroll.ensureWidgetVisible(ed)

    def show_extra_error(self, key: str, message: str) -> bool:
        """Show an error whose key belongs to an extra input; True when shown."""
        return False

    def field_error(self, key: str) -> str | None:
        lab = self.error_labels.get(key)
        return lab.text() if lab is not None and not lab.isHidden() else None

    # -- state, clipboard ----------------------------------------------------------------
    def load_state(self) -> None:
        raw = self.ctx.mode.recall(SETTINGS_PAGE, self.kind, "", str)
        state = dict(self.example)
        if raw:
            try:
                saved = json.loads(raw)
                if isinstance(saved, dict):
                    state = saved
            except ValueError:
                pass
        self.set_raw_state(state)
        self.compute()

    def save_state(self) -> None:
        if self.ctx.mode.persistent:
            self.ctx.mode.remember(SETTINGS_PAGE, self.kind, json.dumps(self.raw_state()))

    def load_example(self) -> None:
        self.set_raw_state(dict(self.example))
        self.compute()

    def copy_result(self) -> None:
        if self.last_result is None:
            self.page.show_warning("Nothing to copy: the input has an error (see the field marked in red).")
            return
        QGuiApplication.clipboard().setText(json.dumps(self.last_result, indent=2, ensure_ascii=False))
        self.page.show_info(f"Copied the {self.title} results as JSON (the object of heatmeter calc {self.kind} --json).")

    def copy_input(self) -> None:
        QGuiApplication.clipboard().setText(json.dumps(self.input_data(), indent=2, ensure_ascii=False))
        self.page.show_info(f"Copied the {self.title} input as JSON (for heatmeter calc {self.kind} --input -).")

    # -- look ----------------------------------------------------------------------------
    def set_text_scale(self, scale: float) -> None:
        # the fields column grows less than the text: the results need the room more
        self.left_host.setFixedWidth(round(self.left_width * (1 + (scale - 1) * 0.4)))
        plot = getattr(self, "plot", None)
        if plot is not None:
            plot.setMinimumHeight(round(240 * scale))
        restyle(self, scale)
        for ed in self.editors.values():
            if isinstance(ed, (QLineEdit, QComboBox)):
                ed.setMinimumHeight(theme.metrics(scale).input_height)
        self.text_scale_changed(scale)

    def text_scale_changed(self, scale: float) -> None:
        pass


def fmt(v: Any, decimals: int = 3, unit: str = "", plus_minus: bool = False) -> str:
    """A number for the result panel: fixed decimals, '—' for None."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    s = f"{v:,.{decimals}f}" if abs(v) >= 10000 else f"{v:.{decimals}f}"
    if plus_minus:
        s = "±" + s
    return f"{s} {unit}".rstrip()


def money(v: float | None, currency: str = "EUR", decimals: int = 0) -> str:
    if v is None:
        return "—"
    sym = {"EUR": "€", "GBP": "£", "USD": "$"}.get(currency.upper())
    s = f"{abs(v):,.{decimals}f}"
    sign = "−" if v < 0 else ""
    return f"{sign}{sym}{s}" if sym else f"{sign}{s} {currency}"


Callback = Callable[[], None]
