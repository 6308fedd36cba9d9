"""The meter page: one meter's whole record, inside the Register page.

Details (every field, personal data, the data-protection flags and actions),
installations over time, commissioning records with their evidence (the raw
telegrams in hex, the decoded records, the record re-rendered as PDF),
calibration results, sampling lots and the event log (who, when, before,
after). Everything is read in one worker task; the actions ask for
confirmation and run in workers too.
"""
from __future__ import annotations

import json
import os
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPlainTextEdit,
    QPushButton, QScrollArea, QSizePolicy, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
    QWidget,
)

from app.storage.records import PERSONAL_FIELDS
from app.ui.register.access import AccessPanel


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=str)
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ", timespec="seconds") if hasattr(v, "hour") else v.isoformat()
    return str(v)


def _table(parent: QWidget, headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers), parent)
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.setWordWrap(False)
    return t


def _fill(t: QTableWidget, rows: list[list[Any]]) -> None:
    t.setRowCount(len(rows))
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            item = QTableWidgetItem(_text(v))
            item.setToolTip(_text(v))
            t.setItem(i, j, item)
    t.resizeColumnsToContents()
    for j in range(t.columnCount() - 1):
        t.setColumnWidth(j, min(t.columnWidth(j), 320))


def hex_dump(frame: bytes) -> str:
    """Bytes as hex, 16 to a line, with the offset."""
    lines = []
    for i in range(0, len(frame), 16):
        chunk = frame[i:i + 16]
        lines.append(f"{i:04x}  " + " ".join(f"{b:02X}" for b in chunk))
    return "\n".join(lines)


class MeterView(QWidget):
    """Shown by :class:`~app.ui.pages.register.RegisterPage` in place of the table."""

    def __init__(self, page, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.meter_id: int | None = None
        self.dossier: dict[str, Any] | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        head = QHBoxLayout()
        self.back_button = QPushButton("← All meters", self)
        self.back_button.setToolTip("Back to the table (Alt+Left)")
        self.back_button.clicked.connect(page.show_list)
        head.addWidget(self.back_button)
        self.title = QLabel("", self)
        self.title.setObjectName("MeterTitle")
        f = self.title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.25)
        self.title.setFont(f)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        head.addWidget(self.title, 1)
        self.flags_label = QLabel("", self)
        self.flags_label.setObjectName("MeterFlags")
        head.addWidget(self.flags_label)
        # the year's work: one button with a menu (a row of its own would make the page taller than small screens)
        from PySide6.QtWidgets import QMenu

        self.work_button = QPushButton("Record work", self)
        self.work_button.setToolTip("Recalibrated, replaced, battery changed, or no access: recorded with who and "
                                    "when in the meter's event log")
        menu = QMenu(self.work_button)
        self.work_buttons: dict[str, Any] = {}
        for kind, text, tip in (("recalibrate", "Recalibrated…", "Pass restarts its 10 years, fail puts it on the "
                                                                  "replacement list"),
                                ("replace", "Replaced…", "A new meter took its place: both keep their history"),
                                ("battery", "Battery changed…", "Record a battery change and its new end of life"),
                                ("no_access", "No access…", "The technician could not get to the meter")):
            act = menu.addAction(text, lambda k=kind: self.ask_work(k))
            act.setToolTip(tip)
            self.work_buttons[kind] = act
        self.work_button.setMenu(menu)
        head.addWidget(self.work_button)
        lay.addLayout(head)

        acts = QHBoxLayout()
        self.erase_button = QPushButton("Erase personal data…", self)
        self.erase_button.setToolTip("MMS 2.2.3: erase occupant name, flat and customer reference, also from the log")
        self.erase_button.clicked.connect(self.ask_erase)
        self.hold_button = QPushButton("Set legal hold…", self)
        self.hold_button.setToolTip("MMS 2.2.4: while set, the personal data cannot be erased")
        self.hold_button.clicked.connect(self.ask_hold)
        self.restrict_button = QPushButton("Restrict processing…", self)
        self.restrict_button.setToolTip("MMS 2.2.5: the meter stays in the register but is left out of lists and "
                                        "exports; it stays in the maintenance schedule by its id (MMS 1.3.3) and is "
                                        "never drawn for a lot")
        self.restrict_button.clicked.connect(self.ask_restrict)
        self.export_button = QPushButton("Personal data export…", self)
        self.export_button.setToolTip("MMS 2.2.1/2.2.2: a CSV copy of the data held on this meter")
        self.export_button.clicked.connect(lambda: page.ask_personal_export([self.meter_id]))
        for b in (self.erase_button, self.hold_button, self.restrict_button, self.export_button):
            acts.addWidget(b)
        acts.addStretch(1)
        lay.addLayout(acts)

        self.tabs = QTabWidget(self)
        lay.addWidget(self.tabs, 1)
        # details
        self.details = QWidget()
        self.details_form = QFormLayout(self.details)
        self.details_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.details)
        self.tabs.addTab(scroll, "Details")
        self.inst_table = _table(self, ["Installed", "Removed", "Site", "Building", "Point", "Location",
                                        "Removal reason", "Replaced by"])
        self.tabs.addTab(self.inst_table, "Installations")
        # commissioning: records on the left, the selected record's evidence on the right
        com = QSplitter(Qt.Orientation.Horizontal)
        self.com_list = QListWidget(com)
        self.com_list.currentRowChanged.connect(self._show_commissioning)
        right = QWidget(com)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.com_summary = QLabel("", right)
        self.com_summary.setWordWrap(True)
        self.com_summary.setTextFormat(Qt.TextFormat.PlainText)
        rl.addWidget(self.com_summary)
        self.com_checklist = _table(right, ["Checklist item", "Answer", "Note"])
        self.com_checklist.setMaximumHeight(120)
        rl.addWidget(self.com_checklist)
        self.frames_text = QPlainTextEdit(right)
        self.frames_text.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.frames_text.setFont(mono)
        self.frames_text.setMaximumHeight(96)
        self.frames_text.setToolTip("The telegrams received, byte for byte, as stored")
        rl.addWidget(QLabel("Raw telegrams (hex):", right))
        rl.addWidget(self.frames_text)
        self.records_table = _table(right, ["Quantity", "Value", "Unit", "Storage", "Tariff", "Function", "Raw"])
        rl.addWidget(self.records_table, 1)
        self.cert_button = QPushButton("Commissioning record (PDF)", right)
        self.cert_button.setToolTip("Render the record with its evidence as a PDF and open it")
        self.cert_button.clicked.connect(self.render_certificate)
        rl.addWidget(self.cert_button, 0, Qt.AlignmentFlag.AlignLeft)
        com.addWidget(self.com_list)
        com.addWidget(right)
        com.setSizes([260, 800])
        self.tabs.addTab(com, "Commissioning")
        self.readouts_table = _table(self, ["Read at", "By", "Transport", "Port", "Baud", "Address", "Frames",
                                            "Energy", "Volume", "Commissioning"])
        self.tabs.addTab(self.readouts_table, "Readouts")
        self.cal_table = _table(self, ["Tested on", "Sub-assembly", "Lab", "Certificate", "Initial", "In service",
                                       "Coverage", "Points (error % at q, Δθ: MPE %)"])
        self.tabs.addTab(self.cal_table, "Calibration")
        self.lots_table = _table(self, ["Lot", "Name", "Purpose", "Status", "Size", "Sample", "Ac/Re", "Verdict",
                                        "Decided", "This meter"])
        self.tabs.addTab(self.lots_table, "Lots")
        self.log_table = _table(self, ["When (UTC)", "Who", "Action", "Record", "Before", "After", "Source"])
        self.tabs.addTab(self.log_table, "Event log")
        self.history_tab = MeterHistory(page, self)
        self.tabs.addTab(self.history_tab, "History")
        self.writes_table = _table(self, ["When (UTC)", "Who", "Write", "Outcome", "Before", "After", "Frames",
                                          "Commissioning", "Port"])
        self.tabs.addTab(self.writes_table, "Writes")
        self.access_panel = AccessPanel(self)  # who read the personal data (MMS 2.2.7.2)
        self.tabs.addTab(self.access_panel, "Access log")

    # -- loading -------------------------------------------------------------------
    def show_meter(self, meter_id: int) -> None:
        self.meter_id = meter_id
        self.title.setText("Loading the meter…")
        self.reload()

    def reload(self) -> None:
        from app.storage.reports import meter_dossier

        mid = self.meter_id
        if mid is None:
            return

        def work():
            d = meter_dossier(self.page.register(), mid)
            d["histories"] = MeterHistory.prepare(d["readouts"])      # parsing stays off the GUI thread
            return d

        self.page.run_task("Loading a meter", work, on_finished=self._loaded)

    def _loaded(self, d: dict[str, Any]) -> None:
        if self.meter_id != d["meter"].id:
            return
        self.dossier = d
        m = d["meter"]
        self.title.setText(f"{m.manufacturer} {m.serial} — {m.model}   ·   {m.site}"
                           + (f", {m.location}" if m.location else ""))
        flags = []
        if m.legal_hold:
            flags.append("LEGAL HOLD")
        if m.restrict_processing:
            flags.append("PROCESSING RESTRICTED")
        if m.personal_erased_at:
            flags.append("personal data erased")
        self.flags_label.setText("  ·  ".join(flags))
        self.hold_button.setText("Clear legal hold…" if m.legal_hold else "Set legal hold…")
        self.restrict_button.setText("Lift the restriction…" if m.restrict_processing else "Restrict processing…")
        self._fill_details(m)
        _fill(self.inst_table, [[i.get("installed_on"), i.get("removed_on"), i.get("site"), i.get("building"),
                                 i.get("monitoring_point"), i.get("location"), i.get("removal_reason"),
                                 i.get("replaced_by_meter_id")] for i in d["installations"]])
        self.com_list.clear()
        for c in d["commissioning"]:
            self.com_list.addItem(f"#{c['id']}  {_text(c.get('commissioned_on')) or 'no date'}  {c['status']}"
                                  f"  ({len(c['readouts'])} readout{'s' if len(c['readouts']) != 1 else ''})")
        if d["commissioning"]:
            self.com_list.setCurrentRow(len(d["commissioning"]) - 1)
        else:
            self._show_commissioning(-1)
        self.tabs.setTabText(2, f"Commissioning ({len(d['commissioning'])})")
        rows = []
        for r in d["readouts"]:
            energy = volume = None
            for tel in r.get("decoded") or []:
                for rec in tel.get("records", []):
                    if rec.get("storage") == 0 and rec.get("tariff") == 0:
                        if rec.get("quantity") == "energy" and energy is None:
                            energy = f"{rec.get('value')} {rec.get('unit')}"
                        if rec.get("quantity") == "volume" and volume is None:
                            volume = f"{rec.get('value')} {rec.get('unit')}"
            rows.append([r.get("read_at"), r.get("read_by"), r.get("transport"), r.get("port"), r.get("baud"),
                         r.get("primary_address"), len(r.get("frames") or []), energy, volume,
                         r.get("commissioning_id")])
        _fill(self.readouts_table, rows)
        self.tabs.setTabText(3, f"Readouts ({len(rows)})")
        rows = []
        for c in d["calibrations"]:
            pts = "; ".join(f"{p['error_pct']:+g} % at {_text(p.get('q_m3h')) or '–'} m³/h, "
                            f"{_text(p.get('dtheta_k')) or '–'} K: ±{_text(p.get('mpe_initial_pct'))}"
                            for p in c.get("points", []))
            rows.append([c["tested_on"], c["subassembly"], c.get("lab"), c.get("certificate"),
                         c.get("initial_verdict"), c.get("in_service_verdict"), c.get("coverage"), pts])
        _fill(self.cal_table, rows)
        self.tabs.setTabText(4, f"Calibration ({len(rows)})")
        rows = []
        for lot in d["lots"]:
            v = lot["verdicts"][-1] if lot["verdicts"] else {}
            res = lot.get("result")
            mine = ("inaccessible" if res and res.get("inaccessible") else
                    (f"{res.get('error_pct'):+.2f} %, {'defective' if res.get('defective') else 'good'}"
                     if res and res.get("error_pct") is not None else
                     ("drawn" + (" (spare)" if lot["drawn"]["spare"] else "") if lot.get("drawn") else "member")))
            rows.append([lot["id"], lot.get("name"), lot.get("purpose"), lot.get("status"), lot.get("lot_size"),
                         lot.get("sample_size"), f"{_text(lot.get('acceptance_number'))}/"
                         f"{_text(lot.get('rejection_number'))}", v.get("verdict"), v.get("decided_on"), mine])
        _fill(self.lots_table, rows)
        self.tabs.setTabText(5, f"Lots ({len(rows)})")
        rows = [[e["at"], e["user"], e["action"], f"{e['entity']} {_text(e.get('entity_id'))}", e.get("before"),
                 e.get("after"), e.get("source")] for e in reversed(d["history"])]
        _fill(self.log_table, rows)
        self.tabs.setTabText(6, f"Event log ({len(rows)})")
        n = self.history_tab.set_readouts(m, d.get("histories") or MeterHistory.prepare(d["readouts"]))
        self.tabs.setTabText(self.tabs.indexOf(self.history_tab), f"History ({n})")
        rows = [[w["written_at"], w.get("written_by"), w["kind"], ("✓ " if w["ok"] else "✗ ") + w["outcome"],
                 w.get("before"), w.get("after"), len(w.get("frames") or []), w.get("commissioning_id"),
                 w.get("port")] for w in reversed(d.get("writes") or [])]
        _fill(self.writes_table, rows)
        self.tabs.setTabText(self.tabs.indexOf(self.writes_table), f"Writes ({len(rows)})")
        n = self.access_panel.show_history(d["history"], personal_hidden=bool(d.get("personal_hidden")))
        self.tabs.setTabText(self.tabs.indexOf(self.access_panel), f"Access log ({n})")

    def _fill_details(self, m) -> None:
        form = self.details_form
        while form.rowCount():
            form.removeRow(0)
        fields = [("Site", m.site), ("Building", m.building), ("Monitoring point", m.monitoring_point),
                  ("Location", m.location), ("Make", m.manufacturer), ("M-Bus FLAG code", m.mbus_manufacturer),
                  ("Model (type)", m.model), ("Serial", m.serial), ("Status", m.status),
                  ("Install date", m.install_date.isoformat()[:4] + " (year only)" if m.install_year_only and
                   m.install_date else m.install_date), ("MID class", m.mid_class), ("qp m³/h", m.qp_m3h),
                  ("qi m³/h", m.qi_effective_m3h), ("qp/qi", m.qp_qi_ratio), ("qs m³/h", m.qs_m3h), ("DN", m.dn),
                  ("Δθ min..max K", f"{_text(m.dtheta_min_k)} .. {_text(m.dtheta_max_k)}"),
                  ("Temperature range °C", f"{_text(m.temp_min_c)} .. {_text(m.temp_max_c)}"),
                  ("Flow sensor in", m.flow_sensor_position), ("Primary address", m.primary_address),
                  ("Secondary address", m.secondary_address), ("Baud", m.baud), ("Battery end of life", m.battery_expiry),
                  ("Notes", m.notes)]
        keys = self.page.model.key_index
        if keys is not None:
            at = [f for f, _v in fields].index("Secondary address") + 1
            fields.insert(at, ("AES key", "held in the key store (never shown)" if keys.has_meter(m) else
                               "none: encrypted telegrams of this meter show no readings"))
        info = (self.page.due_map or {}).get(m.id) if self.page.due_map is not None else None
        if info:
            fields.append(("Maintenance", f"{info.state.replace('_', ' ')}, due {_text(info.due_date)} "
                                          f"({info.reason.replace('_', ' ')})"))
        for k, v in sorted((m.extra or {}).items()):
            fields.append((k, v))
        fields += [("Occupant", m.occupant_name), ("Flat", m.flat), ("Customer reference", m.customer_reference),
                   ("Legal hold", m.legal_hold), ("Processing restricted", m.restrict_processing),
                   ("Personal data erased", m.personal_erased_at), ("Version", m.version),
                   ("Last changed (UTC)", m.updated_at)]
        for label, value in fields:
            v = QLabel(_text(value) or "—")
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setWordWrap(True)
            form.addRow(label + ":", v)

    def _show_commissioning(self, row: int) -> None:
        d = self.dossier
        coms = d["commissioning"] if d else []
        if row < 0 or row >= len(coms):
            self.com_summary.setText("No commissioning record for this meter." if d else "")
            self.com_checklist.setRowCount(0)
            self.frames_text.setPlainText("")
            self.records_table.setRowCount(0)
            self.cert_button.setEnabled(False)
            return
        c = coms[row]
        self.cert_button.setEnabled(True)
        plaus = c.get("plausibility") or {}
        self.com_summary.setText(
            f"Record #{c['id']}: {c['status']}"
            + (f", signed by {c.get('signed_by')} on {_text(c.get('signed_at'))} UTC" if c["status"] == "signed" else "")
            + f". Commissioned on {_text(c.get('commissioned_on')) or '—'} by {c.get('technician') or '—'}."
            + (f" Plausibility: {', '.join(f'{k} {_text(v)}' for k, v in plaus.items())}." if plaus else "")
            + (f" Notes: {c['notes']}" if c.get("notes") else ""))
        _fill(self.com_checklist, [[k, (a or {}).get("answer"), (a or {}).get("note")]
                                   for k, a in (c.get("checklist") or {}).items()])
        frames, recs = [], []
        for r in c["readouts"]:
            for n, f in enumerate(r.get("frames") or []):
                frames.append(f"readout {r['id']} at {_text(r.get('read_at'))}, telegram {n + 1} ({len(f)} bytes):")
                frames.append(hex_dump(f))
            for tel in r.get("decoded") or []:
                for rec in tel.get("records", []):
                    recs.append([rec.get("quantity"), rec.get("value"), rec.get("unit"), rec.get("storage"),
                                 rec.get("tariff"), rec.get("function"), rec.get("raw")])
        self.frames_text.setPlainText("\n".join(frames) if frames else "No readout was kept with this record.")
        _fill(self.records_table, recs)

    # -- actions -------------------------------------------------------------------
    def _meter(self):
        return self.dossier["meter"] if self.dossier else None

    def _after_change(self, rec) -> None:
        self.page.meter_changed(rec)
        self.reload()

    def ask_work(self, kind: str) -> None:
        from app.ui.register import work

        m = self._meter()
        if m is not None:
            work.ask(self.page, self, [m], kind, on_done=lambda _r: self.reload())

    def record_work(self, values: dict[str, Any]):
        """Record ``values`` (``WorkDialog.values``) for this meter at the version shown (non-interactive use)."""
        from app.ui.register import work

        m = self._meter()
        return work.record(self.page, [(m.id, m.version)], values, on_done=lambda _r: self.reload())

    def ask_erase(self) -> None:
        from app.storage.errors import LegalHoldError

        m = self._meter()
        if m is None:
            return
        if m.legal_hold:
            self.page.show_error(f"{m.label} is under legal hold: its personal data cannot be erased. Clear the "
                                 "hold first (if the reason for it has ended).")
            return
        held = [f for f in PERSONAL_FIELDS if getattr(m, f)]
        if not self.page.ask("Erase personal data",
                             f"Erase the occupant name, flat and customer reference of {m.label}, also from the "
                             "event log? This cannot be undone." + ("" if held else " (None is stored now.)"),
                             "Erase"):
            return
        mid = m.id

        def work():
            reg = self.page.register()
            try:
                reg.erase_personal_data(mid, reason="erased from the meter page")
            except LegalHoldError as exc:
                return exc
            return reg.get_meter(mid)

        def done(r):
            if isinstance(r, LegalHoldError):
                self.page.show_error(f"Not erased: {r}")
                self.reload()
                return
            self.page.show_info(f"Personal data of {r.label} erased (also from the event log).")
            self._after_change(r)

        self.page.run_task("Erasing personal data", work, on_finished=done)

    def ask_hold(self) -> None:
        m = self._meter()
        if m is None:
            return
        on = not m.legal_hold
        text = (f"Put {m.label} under legal hold? Its personal data then cannot be erased until the hold is cleared."
                if on else f"Clear the legal hold of {m.label}? Its personal data can then be erased.")
        if not self.page.ask("Legal hold", text, "Set hold" if on else "Clear hold"):
            return
        self._flag("set_legal_hold", m.id, on, "Legal hold " + ("set" if on else "cleared"))

    def ask_restrict(self) -> None:
        m = self._meter()
        if m is None:
            return
        on = not m.restrict_processing
        text = (f"Restrict processing of {m.label}? It stays in the register but is left out of the table and "
                "exports until the restriction is lifted; its maintenance stays scheduled by its id, and it is never "
                "drawn for a lot." if on else
                f"Lift the restriction on {m.label}? It comes back into lists, exports and lot sampling.")
        if not self.page.ask("Restrict processing", text, "Restrict" if on else "Lift"):
            return
        self._flag("set_restrict_processing", m.id, on, "Processing " + ("restricted" if on else "no longer restricted"))

    def _flag(self, method: str, mid: int, on: bool, said: str) -> None:
        def work():
            return getattr(self.page.register(), method)(mid, on, reason="from the meter page")

        def done(rec):
            self.page.show_info(f"{said}: {rec.label}.")
            self._after_change(rec)

        self.page.run_task(said, work, on_finished=done)

    def render_certificate(self) -> None:
        """Re-render the selected commissioning record as PDF (with its evidence) and open it."""
        from app.ui.reports.render import commissioning_pdf

        d = self.dossier
        row = self.com_list.currentRow()
        if d is None or row < 0:
            return
        rec = d["commissioning"][row]
        import tempfile

        folder = tempfile.mkdtemp(prefix="heatmeter-record-")
        path = os.path.join(folder, f"commissioning-{d['meter'].serial}-{rec['id']}.pdf")

        def work():
            commissioning_pdf(path, d["meter"], rec)
            return path

        def done(p):
            self.last_certificate = p
            self.page.open_file(p)
            self.page.show_info(f"Commissioning record written to {p}.")

        self.page.run_task("Commissioning record", work, on_finished=done)


class MeterHistory(QWidget):
    """The meter's stored values from its saved readouts: pick a readout (those with stored values
    first, newest on top); its history is shown as a chart per quantity and a table, with export."""

    def __init__(self, page, parent: QWidget | None = None) -> None:
        from PySide6.QtWidgets import QComboBox

        super().__init__(parent)
        self.page = page
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Saved readout", self))
        self.readout_combo = QComboBox(self)
        self.readout_combo.setObjectName("HistoryReadout")
        self.readout_combo.currentIndexChanged.connect(self._show)
        top.addWidget(self.readout_combo, 1)
        lay.addLayout(top)
        # the chart and table are made when a meter is first shown (the register page opens faster);
        # they scroll rather than making the whole register page taller on a small screen
        from PySide6.QtWidgets import QFrame, QScrollArea
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        lay.addWidget(self._scroll, 1)
        self._view = None
        self.readouts: list[dict[str, Any]] = []
        self.meter = None

    @property
    def view(self):
        """The :class:`~app.ui.widgets.history.HistoryView` (made on first use)."""
        if self._view is None:
            from app.ui.widgets.history import HistoryView

            page = self.page
            self._view = HistoryView(page.ctx, self)
            self._view.message.connect(lambda kind, text: page.show_info(text) if kind == "info"
                                       else page.show_error(text))
            self._scroll.setWidget(self._view)
        return self._view

    @staticmethod
    def prepare(readouts: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any], Any]]:
        """(stored dates, readout, history) of each saved readout, those with stored values first, newest
        first (worker side)."""
        from drivers.history import history

        out = []
        for r in readouts:
            h = history(r.get("decoded") or [])
            out.append((len([k for k in h.dates if k > 0]), r, h))
        out.sort(key=lambda x: (x[0] == 0, -(x[1]["read_at"].timestamp() if x[1].get("read_at") else 0)))
        return out

    def set_readouts(self, meter, with_history: list[tuple[int, dict[str, Any], Any]]) -> int:
        """Offer the prepared readouts (:meth:`prepare`); returns how many have stored values."""
        self.meter = meter
        self.readouts = with_history
        self.readout_combo.blockSignals(True)
        self.readout_combo.clear()
        for stored, r, _h in with_history:
            proto = next((t.get("protocol") for t in (r.get("decoded") or []) if t.get("protocol")), None)
            self.readout_combo.addItem(f"{_text(r.get('read_at'))} UTC · {stored} stored date"
                                       f"{'s' if stored != 1 else ''}" + (f" · {proto}" if proto else "")
                                       + (f" · commissioning {r['commissioning_id']}" if r.get("commissioning_id")
                                          else ""))
        self.readout_combo.blockSignals(False)
        self.readout_combo.setCurrentIndex(0 if with_history else -1)
        self._show(self.readout_combo.currentIndex())
        return sum(1 for stored, _r, _h in with_history if stored)

    def _show(self, i: int) -> None:
        if not 0 <= i < len(self.readouts):
            self.view.set_history(None)
            return
        _stored, r, h = self.readouts[i]
        m = self.meter
        self.view.set_history(h, {"meter": f"{m.manufacturer} {m.serial}" if m else "", "read_at": r.get("read_at")})
