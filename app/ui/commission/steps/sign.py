"""Step 6 of the Commission wizard: technician, notes, signature and the certificate."""
from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QWidget

from app.core import commissioning as cm
from app.services.commissioning import CommissioningState
from app.ui.commission.steps.base import Step, scroll_area
from app.ui.commission.widgets import section


class SignStep(Step):
    hint = ("Sign off: the record is saved to the register as signed, with the raw telegrams as evidence, "
            "and the commissioning certificate (PDF) is written.")

    signRequested = Signal()
    openRequested = Signal()
    newRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        area, inner, lay = scroll_area(self)
        self.outer.addWidget(area, 1)
        self.verdict = QLabel("", inner)
        self.verdict.setObjectName("Verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.verdict)
        self.summary = QLabel("", inner)
        self.summary.setObjectName("SignSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.summary)
        box, bl = section("Signature", inner)
        g = QGridLayout()
        g.addWidget(QLabel("Technician", inner), 0, 0)
        self.technician = QLineEdit(inner)
        self.technician.setObjectName("field_technician")
        self.technician.setPlaceholderText("Full name of the technician who commissioned the meter")
        g.addWidget(self.technician, 0, 1)
        self._names: list[str] = []
        g.addWidget(QLabel("Date", inner), 1, 0)
        self.date = QLabel(dt.date.today().isoformat(), inner)
        g.addWidget(self.date, 1, 1)
        g.addWidget(QLabel("Notes", inner), 2, 0, Qt.AlignmentFlag.AlignTop)
        self.notes = QPlainTextEdit(inner)
        self.notes.setObjectName("field_notes")
        self.notes.setPlaceholderText("Anything the next person should know (optional)")
        self.notes.setFixedHeight(80)
        g.addWidget(self.notes, 2, 1)
        g.setColumnStretch(1, 1)
        bl.addLayout(g)
        lay.addWidget(box)
        row = QHBoxLayout()
        self.sign_button = QPushButton("Sign, save and write certificate", inner)
        self.sign_button.setObjectName("SignButton")
        self.sign_button.setProperty("primary", True)
        self.sign_button.clicked.connect(self.signRequested)
        row.addWidget(self.sign_button)
        self.open_button = QPushButton("Open certificate", inner)
        self.open_button.setObjectName("OpenCertificate")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.openRequested)
        row.addWidget(self.open_button)
        self.new_button = QPushButton("Commission another meter", inner)
        self.new_button.setObjectName("NewCommissioning")
        self.new_button.clicked.connect(self.newRequested)
        self.new_button.hide()
        row.addWidget(self.new_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.result = QLabel("", inner)
        self.result.setObjectName("SignResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.result)
        lay.addStretch(1)

    def load(self, state: CommissioningState) -> None:
        self.technician.setText(state.technician)
        self.notes.setPlainText(state.notes)
        verdict = cm.overall_verdict(state.answers, state.checks)
        colour = {"conforms": "#0a6b2d", "conforms_with_remarks": "#7a5a00", "does_not_conform": "#b3261e"}[verdict]
        self.verdict.setText(f"<span style='font-size:16pt; color:{colour}'><b>{cm.VERDICT_WORDS[verdict]}</b></span>")
        nos = cm.nonconformities(state.answers)
        checks = state.checks
        counts = {s: sum(1 for c in checks if c.get("status") == s) for s in cm.STATUSES}
        obs = state.observation.get("kpis") or {}
        comp = (obs.get("completeness") or {}).get("pct")
        vw = obs.get("vwaft_c")
        parts = [f"<b>{state.meter_label}</b> at {state.place.get('site') or '?'}"
                 + (f", {state.place.get('location')}" if state.place.get("location") else "")
                 + (f" ({state.place.get('monitoring_point')})" if state.place.get("monitoring_point") else ""),
                 f"Checklist: {len(state.answers)} of {len(cm.CHECKLIST)} answered"
                 + (f", <b>No</b> at {', '.join(nos)}" if nos else ", no nonconformity"),
                 f"Plausibility: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail",
                 "Observation: " + ("not run" if not obs else
                                    f"completeness {'—' if comp is None else f'{comp:.1f} %'}, VWAFT "
                                    f"{'—' if vw is None else f'{vw:.2f} °C'}"
                                    + (f"; ended early: {state.observation.get('ended_early')}"
                                       if state.observation.get("ended_early") else ""))]
        self.summary.setText("<br>".join(parts))

    def suggest_names(self, names: list[str]) -> None:
        """Offer ``names`` (technicians who signed on this laptop) as completions: the field itself stays
        empty, so that nobody signs under someone else's name (or the computer account's) by default."""
        from PySide6.QtCore import Qt as _Qt
        from PySide6.QtWidgets import QCompleter

        names = [n for n in dict.fromkeys(x.strip() for x in names) if n]
        if names == self._names:
            return
        self._names = names
        comp = QCompleter(names, self.technician)
        comp.setCaseSensitivity(_Qt.CaseSensitivity.CaseInsensitive)
        self.technician.setCompleter(comp)
        if names:
            self.technician.setPlaceholderText(f"Full name of the technician (type to pick: {', '.join(names)})")

    def collect(self, state: CommissioningState) -> None:
        state.technician = self.technician.text().strip()
        state.notes = self.notes.toPlainText().strip()

    def problems(self) -> list[tuple[QWidget, str]]:
        if not self.technician.text().strip():
            return [(self.technician, "Enter the technician's name to sign.")]
        return []

    def set_signed(self, text: str, signed: bool) -> None:
        self.result.setText(text)
        self.sign_button.setEnabled(not signed)
        self.sign_button.setVisible(not signed)
        self.technician.setReadOnly(signed)
        self.notes.setReadOnly(signed)
        self.open_button.setEnabled(signed)
        self.new_button.setVisible(signed)

    def set_target(self, px: int) -> None:
        for b in (self.sign_button, self.open_button, self.new_button):
            b.setMinimumHeight(px)
