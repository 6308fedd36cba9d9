"""The Lots view, one lot: its plan and members, the draw, the results table and the verdict with the OC curve
(building the tabs and filling them from ``app.services.planner.lot_detail``).

A mixin of :class:`app.ui.planner.lots.LotsView`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QCheckBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from app.ui.calculators.form import ResultPanel
from app.ui.calculators.look import styled
from app.ui.planner.charts import OcPanel
from app.ui.planner.due import qdate
from app.ui.reports.lot_report import action_text
from app.ui.planner.lot_common import FAIL_BG, GREY_BG, PASS_BG, STATUS, lot_table, key_text


class LotDetailMixin:
    def _build_detail(self) -> None:
        scale = self.ctx.text_scale
        box = QWidget(self.stack)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.lot_title = QLabel("", box)
        self.lot_title.setWordWrap(True)
        styled(self.lot_title, "section", scale)
        lay.addWidget(self.lot_title)
        self.tabs = QTabWidget(box)
        styled(self.tabs.tabBar(), "tabs", scale)
        lay.addWidget(self.tabs, 1)

        # -- plan and members
        w = QWidget(self.tabs)
        v = QVBoxLayout(w)
        self.plan_panel = ResultPanel(w, scale)
        v.addWidget(self.plan_panel)
        self.members_view, self.members_model = lot_table(w, (
            ("manufacturer", "Make"), ("serial", "Serial"), ("drawn", "Drawn"),
            ("consequence", "What the verdict means"), ("next_sampling", "Next sampling"), ("site", "Site"),
            ("install_date", "Installed"), ("clock_start", "Clock start"), ("model", "Model")),
            self._member_colour, scale)
        v.addWidget(self.members_view, 1)
        self.tabs.addTab(w, "Plan, members")

        # -- draw
        w = QWidget(self.tabs)
        v = QVBoxLayout(w)
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed", w))
        self.seed = QLineEdit(w)
        self.seed.setToolTip("Any whole number; the same seed and members always give the same meters")
        self.seed.setMinimumWidth(140)
        row.addWidget(self.seed)
        self.new_seed_button = QPushButton("New seed", w)
        self.new_seed_button.clicked.connect(self.new_seed)
        row.addWidget(self.new_seed_button)
        row.addWidget(QLabel("Spares", w))
        self.spares = QLineEdit(w)
        self.spares.setPlaceholderText("default")
        self.spares.setToolTip("Meters drawn beside the sample, standing in, in order, for inaccessible ones "
                               "(default: a quarter of n, at least 2)")
        self.spares.setMaximumWidth(110)
        row.addWidget(self.spares)
        self.draw_button = QPushButton("Draw", w)
        self.draw_button.setProperty("primary", True)
        self.draw_button.clicked.connect(lambda: self.draw())
        row.addWidget(self.draw_button)
        self.jobs_button = QPushButton("Job list…", w)
        self.jobs_button.setToolTip("The drawn meters as a job list per site (CSV, XLSX, PDF) for the technicians "
                                    "who take them to the lab")
        self.jobs_button.clicked.connect(lambda: self.page.due.ask_job_lists(lot_id=self.lot["id"]) if self.lot
                                         else None)
        row.addStretch(1)
        v.addLayout(row)
        row = QHBoxLayout()           # its own line: the draw row stays narrow enough at larger text
        row.addWidget(self.jobs_button)
        row.addStretch(1)
        v.addLayout(row)
        self.draw_info = QLabel("", w)
        self.draw_info.setWordWrap(True)
        self.draw_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.draw_info)
        self.draw_view, self.draw_model = lot_table(w, (
            ("order", "#"), ("role", "Drawn as"), ("manufacturer", "Make"), ("serial", "Serial"), ("site", "Site"),
            ("status", "Status")), self._draw_colour, scale)
        v.addWidget(self.draw_view, 1)
        self.tabs.addTab(w, "Draw")

        # -- results
        w = QWidget(self.tabs)
        v = QVBoxLayout(w)
        hint = QLabel("Type each tested meter's error (%) — judged against twice its initial-verification MPE "
                      "(MMS 1.3.5) at qp and Δθmax — or its calibration points, or tick Inaccessible; or import "
                      "the test lab's CSV (manufacturer, serial, error_pct, q_m3h, dtheta_k, interval, inaccessible).", w)
        hint.setWordWrap(True)
        styled(hint, "intro", scale)
        v.addWidget(hint)
        self.results_table = QTableWidget(0, 8, w)
        self.results_table.setHorizontalHeaderLabels(["#", "Drawn as", "Make", "Serial", "Error %", "Inaccessible",
                                                      "Points", "Recorded result"])
        self.results_table.verticalHeader().setVisible(False)
        self.results_table.verticalHeader().setDefaultSectionSize(round(36 * scale))
        self.results_table.horizontalHeader().setStretchLastSection(True)
        v.addWidget(self.results_table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Tested on", w))
        self.tested_on = QDateEdit(w)
        self.tested_on.setCalendarPopup(True)
        self.tested_on.setDisplayFormat("yyyy-MM-dd")
        self.tested_on.setDate(qdate(self.page.default_today()))
        row.addWidget(self.tested_on)
        self.replace_box = QCheckBox("Replace recorded results", w)
        self.replace_box.setToolTip("Correct a result already recorded (the old value stays in the event log)")
        row.addWidget(self.replace_box)
        row.addStretch(1)
        v.addLayout(row)
        row = QHBoxLayout()
        row.addStretch(1)
        self.record_button = QPushButton("Record typed results", w)
        self.record_button.setProperty("primary", True)
        self.record_button.clicked.connect(lambda: self.record_typed())
        row.addWidget(self.record_button)
        self.import_button = QPushButton("Import lab CSV…", w)
        self.import_button.clicked.connect(self.ask_import)
        row.addWidget(self.import_button)
        v.addLayout(row)
        self.tabs.addTab(w, "Results")

        # -- verdict and OC curve (side by side; one above the other with larger text)
        from PySide6.QtWidgets import QBoxLayout

        from app.ui.calculators.look import scrolling

        w = QWidget()
        h = QBoxLayout(QBoxLayout.Direction.LeftToRight, w)
        self.verdict_layout = h
        col = QVBoxLayout()
        self.verdict_panel = ResultPanel(w, scale)
        col.addWidget(self.verdict_panel)
        self.decide_row = QWidget(w)
        row = QHBoxLayout(self.decide_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Decided on", self.decide_row))
        self.decided_on = QDateEdit(self.decide_row)
        self.decided_on.setCalendarPopup(True)
        self.decided_on.setDisplayFormat("yyyy-MM-dd")
        self.decided_on.setDate(qdate(self.page.default_today()))
        row.addWidget(self.decided_on)
        self.decide_button = QPushButton("Decide the verdict", self.decide_row)
        self.decide_button.setProperty("primary", True)
        self.decide_button.clicked.connect(lambda: self.decide())
        row.addWidget(self.decide_button)
        row.addStretch(1)
        col.addWidget(self.decide_row)
        row = QHBoxLayout()
        self.pdf_button = QPushButton("Lot report (PDF)…", w)
        self.pdf_button.clicked.connect(lambda: self.ask_report("pdf"))
        self.csv_button = QPushButton("Lot report (CSV)…", w)
        self.csv_button.clicked.connect(lambda: self.ask_report("csv"))
        row.addWidget(self.pdf_button)
        row.addWidget(self.csv_button)
        row.addStretch(1)
        col.addLayout(row)
        col.addStretch(1)
        h.addLayout(col, 2)
        self.oc_panel = OcPanel(w, scale)
        self.oc_chart = self.oc_panel.chart
        h.addWidget(self.oc_panel, 3)
        self._verdict_direction(scale)
        self.tabs.addTab(scrolling(w, self.tabs), "Verdict, OC curve")
        self.detail = box
        self.stack.addWidget(box)

    def _fill_detail(self, lot: dict) -> None:
        plan = lot.get("plan") or {}
        cons = lot.get("consequences") or {}
        vr = lot.get("verdict_record")
        self.lot_title.setText(f"Lot {lot['id']}: {key_text(lot['key'] or {})} — {lot['lot_size']} meters, "
                               f"{(lot.get('purpose') or '').replace('_', ' ').replace('9y', 'at 9 years').replace('13y', 'at 13 years')}")
        status = STATUS.get(lot["status"], lot["status"])
        state = {"verdict_pass": "pass", "verdict_fail": "fail"}.get(lot["status"], "info")
        self.plan_panel.set_verdict(f"ISO 2859-1: code letter {plan.get('code_letter')}, sample n = "
                                    f"{plan.get('sample_size')}, accept with ≤ {plan.get('acceptance_number')} "
                                    f"defective — {status}", state)
        self.plan_panel.set_rows([
            ("Plan", [f"level {plan.get('level')}", f"AQL {plan.get('aql'):g} %" if plan.get("aql") is not None else "",
                      f"{plan.get('inspection')} inspection"]),
            ("Lot and sample", [f"N = {lot['lot_size']}", f"n = {plan.get('sample_size')}",
                                f"Ac {plan.get('acceptance_number')}, Re {plan.get('rejection_number')}"]),
        ])
        rule = lot.get("rule") or {}
        self.plan_panel.set_note(f"Formed {str(lot.get('formed_at') or '')[:10]} by {lot.get('formed_by')} as of "
                                 f"{rule.get('as_of')}: {rule.get('eligibility', '')}; key: "
                                 f"{', '.join(f.replace('_', ' ') for f in rule.get('key_fields', []))}.")
        drawn = {m["meter_id"]: m for m in (lot["draw"] or {}).get("meters", [])}
        by_id = {m["meter_id"]: m for m in cons.get("members", [])}
        members = []
        for m in lot["members"]:
            snap = m.get("snapshot") or {}
            c = by_id.get(m["meter_id"], {})
            d = drawn.get(m["meter_id"])
            members.append({"meter_id": m["meter_id"], "manufacturer": m["manufacturer"], "serial": m["serial"],
                            "model": snap.get("model"), "site": m.get("site"), "install_date": snap.get("install_date"),
                            "clock_start": snap.get("clock_start"),
                            "drawn": "" if d is None else (f"spare {d['order'] + 1}" if d["spare"] else f"sample {d['order'] + 1}"),
                            "consequence": action_text(c) if c else "", "action": c.get("action"),
                            "next_sampling": c.get("next_sampling")})
        self.members_model.set_rows(members)
        self.members_view.resizeColumnsToContents()

        # draw
        draw = lot.get("draw")
        if draw is None:
            self.draw_info.setText("Not drawn yet. Give a seed (or take a new one) and draw: the sample and the "
                                   "spares are stored with the seed, so anyone can draw them again.")
            self.draw_model.set_rows([])
            if not self.seed.text().strip():
                self.new_seed()
            self.draw_button.setText("Draw")
        else:
            rep = {True: "yes", False: "NO — the stored draw differs", None: "cannot be checked"}[draw.get("reproduced")]
            n_sp = sum(1 for m in draw["meters"] if m["spare"])
            self.draw_info.setText(f"Seed {draw.get('seed')}: {len(draw['meters']) - n_sp} meters sampled and {n_sp} "
                                   f"spares. The stored seed and members give this draw again: {rep}.")
            self.seed.setText(str(draw.get("seed") or ""))
            self.draw_model.set_rows([{**m, "order": m["order"] + 1, "role": "spare" if m["spare"] else "sample"}
                                      for m in draw["meters"]])
            self.draw_view.resizeColumnsToContents()
            self.draw_button.setText("Draw again…")
        for wdg in (self.draw_button, self.new_seed_button, self.seed, self.spares):
            wdg.setEnabled(vr is None)

        # results
        self._fill_results(lot)
        can_enter = draw is not None and vr is None
        for b in (self.record_button, self.import_button):
            b.setEnabled(can_enter)

        # verdict
        self._fill_verdict(lot)
        self.decide_row.setVisible(draw is not None and vr is None)
        self.jobs_button.setEnabled(draw is not None)
        self.oc_panel.set_data(lot.get("oc_curve") or [], {**plan, "lot_size": lot["lot_size"]}, lot.get("observed"))

    def _fill_results(self, lot: dict) -> None:
        t = self.results_table
        t.setRowCount(0)
        draw = lot.get("draw")
        if draw is None:
            return
        res = {r["meter_id"]: r for r in lot.get("results_list") or []}
        self._result_rows = []
        for m in draw["meters"]:
            r = t.rowCount()
            t.insertRow(r)
            rec = res.get(m["meter_id"])
            cells = [str(m["order"] + 1), "spare" if m["spare"] else "sample", m["manufacturer"] or "", m["serial"] or ""]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                t.setItem(r, c, item)
            t.setItem(r, 4, QTableWidgetItem(""))
            box = QCheckBox(t)
            box.setToolTip("The meter could not be tested (a spare stands in for it)")
            t.setCellWidget(r, 5, box)
            pb = QPushButton(self._points_text(m["meter_id"]), t)
            pb.clicked.connect(lambda _c=False, mm=m: self.edit_points(mm))
            t.setCellWidget(r, 6, pb)
            if rec is None:
                text, bg = "—", None
            elif rec["inaccessible"]:
                text, bg = "inaccessible", GREY_BG
            else:
                verdict = "DEFECTIVE" if rec["defective"] else "within limit"
                text = f"{rec['error_pct']:+.2f} % (limit ±{rec['limit_pct']:.2f} %): {verdict}"
                bg = FAIL_BG if rec["defective"] else PASS_BG
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if bg:
                item.setBackground(QBrush(QColor(bg)))
            t.setItem(r, 7, item)
            self._result_rows.append((m, rec))
        t.resizeColumnsToContents()
        t.horizontalHeader().setStretchLastSection(True)

    def _points_text(self, meter_id: int) -> str:
        p = self.points.get(meter_id)
        return f"{len(p['points'])} points…" if p else "Points…"

    def _fill_verdict(self, lot: dict) -> None:
        cons = lot.get("consequences")
        vr = lot.get("verdict_record")
        plan = lot.get("plan") or {}
        p = self.verdict_panel
        if cons is None:
            p.set_verdict("Not drawn yet", "")
            p.set_rows([("Plan", f"n = {plan.get('sample_size')}, Ac {plan.get('acceptance_number')}, "
                                 f"Re {plan.get('rejection_number')}")])
            p.set_note("Draw the sample, enter the results, then decide.")
            return
        v = cons["verdict"]
        if vr is not None:
            text = {"pass": "PASS", "fail": "FAIL"}.get(v, v.upper()) + f" — decided on {vr['decided_on']}"
            state = "pass" if v == "pass" else "fail"
        elif v == "incomplete":
            text, state = f"Incomplete: {cons['tested']} of {cons['sample_size']} tested", "warn"
        else:
            text = f"So far: {'PASS' if v == 'pass' else 'FAIL'} (not decided yet)"
            state = "warn"
        p.set_verdict(text, state)
        d, ac = cons["defectives"], cons["acceptance_number"]
        rows = [
            ("Tested / sample", f"{cons['tested']} / {cons['sample_size']}"),
            ("Defective (> 2 × MPE)", f"{d}", "fail" if d > ac else ("pass" if cons["tested"] else None)),
            ("Accept with at most", f"{ac} (reject at {cons['rejection_number']})"),
        ]
        obs = lot.get("observed")
        if obs:
            rows.append(("Pa at this lot's p", f"{obs['pa_binomial']:.3f} (p = {obs['p']:.3g})"))
        p.set_rows(rows)
        members = cons.get("members") or []
        if v == "pass":
            dates = sorted(m["retain_until"] for m in members if m.get("retain_until"))
            note = (f"All {len(members)} members may stay in service to {cons['action'].split('_')[2]} years after "
                    f"their clock start (first on {dates[0] if dates else '—'}).")
            if cons.get("sampling_round") == 9:
                note += " Next: sample them again at 13 years."
        elif v == "fail":
            dates = sorted(m["replace_by"] for m in members if m.get("replace_by"))
            note = (f"All {len(members)} members go on the replacement list: recalibrate or replace by "
                    f"{cons['action'].rsplit('_', 2)[-2]} years (first by {dates[0] if dates else '—'}).")
        else:
            note = f"{cons.get('missing', cons['sample_size'] - cons['tested'])} more meters to test before a verdict."
        p.set_note(note + " Each member's consequence is listed under Plan and members.")

    def _member_colour(self, row: dict, key: str):
        if key == "consequence" and row.get("action"):
            a = row["action"]
            return (PASS_BG if a.startswith("retain") else FAIL_BG if a.startswith("recal") else None), False
        if key == "drawn" and row.get("drawn"):
            return None, True
        return None, False

    def _draw_colour(self, row: dict, key: str):
        if key == "status":
            return {"tested": (PASS_BG, False), "inaccessible": (GREY_BG, False)}.get(row.get("status"), (None, False))
        return None, False
