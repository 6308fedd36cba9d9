"""The Lots view, forming lots: the parameters (round, window, site, lot key, ISO 2859-1 level, AQL,
inspection), preview or store, and the lots formed with their members and the meters listed apart.

A mixin of :class:`app.ui.planner.lots.LotsView`.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from app.services import planner as service
from app.ui.calculators.look import styled
from app.ui.planner.due import pydate, qdate
from app.ui.planner.lot_common import APART, KEY_FIELDS, NOT_ELIGIBLE, lot_table, key_text, short_key


class LotFormingMixin:
    def _build_form_panel(self) -> None:
        from app.core.sampling import INSPECTIONS, LEVELS, aql_values

        scale = self.ctx.text_scale
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        t = QLabel("Form sampling lots (MMS 1.3.3: sample the lot at 9 years to keep its meters to 14; "
                   "at 13 to keep them to 18)", box)
        t.setWordWrap(True)
        styled(t, "section", scale)
        lay.addWidget(t)
        g = QGridLayout()
        g.setHorizontalSpacing(8)
        self.f_as_of = QDateEdit(box)
        self.f_as_of.setCalendarPopup(True)
        self.f_as_of.setDisplayFormat("yyyy-MM-dd")
        self.f_as_of.setDate(qdate(self.page.default_as_of()))
        self.f_round = QComboBox(box)
        self.f_round.addItem("9 years", 9)
        self.f_round.addItem("13 years", 13)
        self.f_window = QSpinBox(box)
        self.f_window.setRange(0, 120)
        self.f_window.setValue(12)
        self.f_window.setSuffix(" months")
        self.f_site = QComboBox(box)
        self.f_site.addItem("All sites", None)
        self.f_all = QCheckBox("All meters (ignore age)", box)
        self.f_level = QComboBox(box)
        for lv in LEVELS:
            self.f_level.addItem(lv, lv)
        self.f_level.setCurrentIndex(LEVELS.index("II"))
        self.f_aql = QComboBox(box)
        for a in aql_values():
            self.f_aql.addItem(f"{a:g} %", a)
        self.f_aql.setCurrentIndex(list(aql_values()).index(4.0))
        self.f_inspection = QComboBox(box)
        for i in INSPECTIONS:
            self.f_inspection.addItem(i, i)
        self.f_key = {}
        keys = QGridLayout()
        for i, (f, label) in enumerate(KEY_FIELDS):
            cb = QCheckBox(label, box)
            cb.setChecked(f in ("manufacturer", "model", "qp_m3h", "install_year"))
            cb.setToolTip(f"Meters in a lot have the same {label}")
            self.f_key[f] = cb
            keys.addWidget(cb, *divmod(i, 6 if self.ctx.text_scale <= 1.0 else 3))
        pairs = [("As of", self.f_as_of), ("Round", self.f_round), ("Due within", self.f_window),
                 ("Site", self.f_site), ("Level", self.f_level), ("AQL", self.f_aql), ("Inspection", self.f_inspection)]
        per_row = 3 if self.ctx.text_scale <= 1.0 else 2
        for i, (label, wdg) in enumerate(pairs):
            r, c = divmod(i, per_row)
            g.addWidget(QLabel(label, box), r, 2 * c)
            g.addWidget(wdg, r, 2 * c + 1)
            wdg.setMinimumHeight(self.ctx.metrics.input_height)
        r, c = divmod(len(pairs), per_row)
        g.addWidget(self.f_all, r, 2 * c, 1, 2 * (per_row - c))
        lay.addLayout(g)
        kl = QHBoxLayout()
        kl.addWidget(QLabel("Lot key: same", box))
        kl.addLayout(keys, 1)
        lay.addLayout(kl)
        row = QHBoxLayout()
        self.preview_button = QPushButton("Preview", box)
        self.preview_button.setToolTip("Show the lots without storing them")
        self.preview_button.clicked.connect(lambda: self.form_lots(dry_run=True))
        self.store_button = QPushButton("Form and store", box)
        self.store_button.setProperty("primary", True)
        self.store_button.clicked.connect(lambda: self.form_lots(dry_run=False))
        self.back_button = QPushButton("Back to the lots", box)
        self.back_button.clicked.connect(lambda: self.stack.setCurrentWidget(self.detail if self.lot else self.empty))
        self.merge_button = QPushButton("Merge two spellings…", box)
        self.merge_button.setToolTip("Say that two model names are one model (MC403 is MULTICAL 403): lots then "
                                     "pool them. Kept in the register for everyone; case, spaces and punctuation "
                                     "never split a lot anyway")
        self.merge_button.clicked.connect(self.ask_merge)
        for b in (self.preview_button, self.store_button, self.back_button):
            row.addWidget(b)
        if scale > 1.0:   # larger text: the merge button on a row of its own
            row.addStretch(1)
            lay.addLayout(row)
            row = QHBoxLayout()
        row.addWidget(self.merge_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.formation_summary = QLabel("", box)
        self.formation_summary.setWordWrap(True)
        lay.addWidget(self.formation_summary)
        split = QSplitter(Qt.Orientation.Horizontal, box)
        self.f_lots_view, self.f_lots_model = lot_table(split, (("size", "N"), ("n", "n"), ("acre", "Ac/Re"),
                                                            ("name", "Lot key"), ("merged", "Spellings merged"),
                                                            ("warning", "Warning")), scale=scale)
        self.f_lots_view.verticalHeader().setVisible(False)
        self.f_lots_view.clicked.connect(lambda idx: self._show_formation_members(idx.row()))
        tabs = QTabWidget(split)
        self.f_members_view, self.f_members_model = lot_table(tabs, (
            ("manufacturer", "Make"), ("serial", "Serial"), ("site", "Site"), ("install_date", "Installed"),
            ("clock_start", "Clock start")), scale=scale)
        tabs.addTab(self.f_members_view, "Members of the lot")
        self.f_apart_view, self.f_apart_model = lot_table(tabs, (
            ("manufacturer", "Make"), ("serial", "Serial"), ("site", "Site"), ("install_date", "Installed"),
            ("reason", "Why apart")), scale=scale)
        tabs.addTab(self.f_apart_view, "Listed apart")
        self.f_spell_view, self.f_spell_model = lot_table(tabs, (("field", "Field"), ("spelling", "Spelling as typed"),
                                                                 ("compared", "Compared as")), scale=scale)
        tabs.addTab(self.f_spell_view, "Spellings merged")
        self.f_tabs = tabs
        split.setMinimumHeight(round(200 * scale))
        lay.addWidget(split, 1)
        # scrolls rather than push the window taller than the screen (larger text)
        from PySide6.QtWidgets import QFrame, QScrollArea

        scroll = QScrollArea(self.stack)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(box)
        self.form_panel = scroll
        self.stack.addWidget(scroll)

    def show_form_panel(self) -> None:
        self.stack.setCurrentWidget(self.form_panel)

    def set_sites(self, sites: list[str]) -> None:
        cur = self.f_site.currentData()
        self.f_site.clear()
        self.f_site.addItem("All sites", None)
        for s in sites:
            self.f_site.addItem(s, s)
        self.f_site.setCurrentIndex(max(0, self.f_site.findData(cur)))

    def form_params(self) -> dict[str, Any]:
        return {"as_of": pydate(self.f_as_of.date()), "sampling_round": int(self.f_round.currentData()),
                "window_months": self.f_window.value(), "key": tuple(f for f, cb in self.f_key.items() if cb.isChecked()),
                "site": self.f_site.currentData(), "all_meters": self.f_all.isChecked(),
                "level": self.f_level.currentData(), "aql": float(self.f_aql.currentData()),
                "inspection": self.f_inspection.currentData()}

    def form_lots(self, dry_run: bool = True):
        p = self.form_params()
        return self.page.run_db("Form lots" if not dry_run else "Preview lots", service.form_lots, dry_run=dry_run,
                                user=self.page.user(), **p, on_done=lambda f: self._formed(f, dry_run))

    def _formed(self, f, dry_run: bool) -> None:
        if isinstance(f, service.Failure):
            self.last_failure = f
            self.page.show_error(f"No lot formed: {f.message}")
            return
        self.last_failure = None
        d = f.as_dict()
        self.formation = d
        ne = ", ".join(f"{NOT_ELIGIBLE.get(k, k)} {v}" for k, v in sorted(d["not_eligible"].items()))
        window = f"by {d['window_end']}" if not d["all_meters"] else "(all meters)"
        if not d["lots"]:
            self.formation_summary.setText(f"No meter is due for the {d['round']}-year sampling {window}: no lot "
                                           f"formed. Of {d['meters_considered']} meters: {ne or 'none eligible'}.")
            self.page.show_warning(f"No lot formed: no meter is due for the {d['round']}-year sampling {window} "
                                   f"({ne or 'none eligible'}). Nothing was stored.")
        else:
            n = sum(lt["size"] for lt in d["lots"])
            self.formation_summary.setText(
                f"{len(d['lots'])} lots of {n} meters{' (preview, not stored)' if dry_run else ', stored'}; "
                f"{len(d['apart'])} listed apart (never pooled); not eligible: {ne or 'none'}.")
            if not dry_run:
                self.page.show_info(f"Formed and stored {len(d['lots'])} lots of {n} meters.")
                self.load_lots()
                self.page.schedule_changed()
        self.f_lots_model.set_rows([{"name": short_key(lt["key"]), "name_tip": key_text(lt["key"]), "size": lt["size"], "n": lt["plan"]["sample_size"],
                                     "acre": f"{lt['plan']['acceptance_number']}/{lt['plan']['rejection_number']}",
                                     "merged": "; ".join(" / ".join(v) for v in (lt.get("merged") or {}).values()),
                                     "warning": "; ".join(w["text"] for w in lt.get("warnings") or []),
                                     "id": lt.get("id")} for lt in d["lots"]])
        self.f_lots_view.resizeColumnsToContents()
        self.f_apart_model.set_rows([{**a, "reason": APART.get(a["reason"], a["reason"].replace("_", " "))}
                                     for a in d["apart"]])
        self.f_tabs.setTabText(1, f"Listed apart ({len(d['apart'])})")
        if d["lots"]:
            self._show_formation_members(0)
            self.f_lots_view.selectRow(0)
        else:
            self.f_members_model.set_rows([])

    def _show_formation_members(self, row: int) -> None:
        if not self.formation or row >= len(self.formation["lots"]):
            return
        lt = self.formation["lots"][row]
        self.f_members_model.set_rows(lt["members"])
        self.f_members_view.resizeColumnsToContents()
        norm = lt.get("normalised_key") or {}
        self.f_spell_model.set_rows([{"field": f, "spelling": sp, "compared": str(norm.get(f, ""))}
                                     for f, sps in (lt.get("spellings") or {}).items() for sp in sps])
        self.f_spell_view.resizeColumnsToContents()
        merged = sum(len(v) for v in (lt.get("merged") or {}).values())
        self.f_tabs.setTabText(2, f"Spellings merged ({merged})" if merged else "Spellings merged")
        self.f_tabs.setTabText(0, f"Members ({lt['size']})")
        self.f_tabs.setTabToolTip(0, key_text(lt["key"]))
        self.f_tabs.setCurrentIndex(0)

    # -- merging two spellings --------------------------------------------------------------
    def ask_merge(self) -> None:
        from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit

        dlg = QDialog(self)
        dlg.setWindowTitle("Merge two spellings")
        form = QFormLayout(dlg)
        make, alias, model = QLineEdit(dlg), QLineEdit(dlg), QLineEdit(dlg)
        make.setPlaceholderText("e.g. Kamstrup or KAM (empty: any make)")
        alias.setPlaceholderText("the other name, e.g. MC403")
        model.setPlaceholderText("the model it is, e.g. MULTICAL 403")
        lot = (self.formation or {}).get("lots") or []
        if lot:
            make.setText(str((lot[0].get("normalised_key") or {}).get("manufacturer", "")))
        form.addRow("Make", make)
        form.addRow("This spelling", alias)
        form.addRow("is the model", model)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dlg)
        buttons.accepted.connect(dlg.accept)
        buttons.rejected.connect(dlg.reject)
        form.addRow(buttons)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.merge_spellings(make.text(), alias.text(), model.text())

    def merge_spellings(self, manufacturer: str, alias: str, model: str):
        """Add the alias (in a worker), then preview the lots again with it."""
        def done(r):
            if isinstance(r, service.Failure):
                self.page.show_error(f"Not merged: {r.message}")
                return
            self.page.show_info(f"{alias!r} is now the model {model!r}{' of ' + manufacturer if manufacturer else ''}: "
                                "lots pool them.")
            self.form_lots(dry_run=True)

        return self.page.run_db("Merge two spellings", service.add_alias, manufacturer, alias, model,
                                user=self.page.user(), on_done=done)
