"""The planner's "Due" view: counts per month and per site over the next years, and the meters behind a bar."""
from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QDialog, QFileDialog, QFrame, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QScrollArea, QSplitter, QTableView, QVBoxLayout,
                               QWidget)

from app.ui.calculators.look import restyle, styled
from app.services import planner as service
from app.ui.planner.charts import OVERDUE_KEY, STATE_COLORS, DueByMonthChart, SiteChartPanel, month_label
from app.ui.planner.models import DictTableModel
from app.services.planner import DUE_STATES, STATE_TITLES

YEARS = (1, 2, 3, 5, 10)
BUTTON_TITLES = {"recalibrate_or_replace_due": "Recalibrate/replace"}
LIST_HEADERS = (("manufacturer", "Make"), ("serial", "Serial"), ("model", "Model"), ("site", "Site"),
                ("state_text", "State"), ("due_date", "Due"), ("reason_text", "Reason"), ("clock_start", "Clock start"),
                ("lot_id", "Lot"), ("lot_verdict", "Lot verdict"), ("flags_text", "Flags"),
                ("deadlines_text", "Every deadline"))
COUNT_MODES = (("meters", "Meters"), ("deadlines", "Deadlines"))


def qdate(d: dt.date) -> QDate:
    return QDate(d.year, d.month, d.day)


def pydate(q: QDate) -> dt.date:
    return dt.date(q.year(), q.month(), q.day())


class DueView(QWidget):
    """Controls, totals, the two charts and the list (see the module docstring)."""

    def __init__(self, page, parent=None) -> None:
        super().__init__(parent)
        self.page = page
        self.ctx = page.ctx
        self.data: service.DueData | None = None
        self.selection: dict[str, Any] = {}
        self.list_rows: list[dict[str, Any]] = []
        self.loading = False
        self.last_job_lists: Any = None      # the outcome of the last job lists written / results imported
        self.last_import: Any = None
        scale = self.ctx.text_scale
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(self.scroll)
        self.inner = QWidget()
        lay = QVBoxLayout(self.inner)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(QLabel("As of", self))
        self.as_of = QDateEdit(self)
        self.as_of.setCalendarPopup(True)
        self.as_of.setDisplayFormat("yyyy-MM-dd")
        self.as_of.setDate(qdate(page.default_as_of()))
        self.as_of.setToolTip("The day the schedule is worked out for")
        bar.addWidget(self.as_of)
        self.years = QComboBox(self)
        for y in YEARS:
            self.years.addItem(f"next {y} year{'s' if y > 1 else ''}", y)
        self.years.setCurrentIndex(self.years.findData(page.setting("years", 3, int)) if
                                   self.years.findData(page.setting("years", 3, int)) >= 0 else 2)
        bar.addWidget(self.years)
        bar.addWidget(QLabel("Site", self))
        self.site = QComboBox(self)
        self.site.addItem("All sites", None)
        self.site.setMinimumContentsLength(10)
        self.site.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        bar.addWidget(self.site)
        self.plan_sampling = QCheckBox("Sampling planned", self)
        self.plan_sampling.setChecked(bool(page.setting("plan_sampling", True, bool)))
        self.plan_sampling.setToolTip("Off: every meter is recalibrated or replaced at 10 years, no lot sampling")
        if scale > 1.0:   # larger text: the controls take two lines
            bar.addStretch(1)
            lay.addLayout(bar)
            bar = QHBoxLayout()
            bar.setSpacing(8)
        bar.addWidget(self.plan_sampling)
        bar.addWidget(QLabel("Count", self))
        self.count_mode = QComboBox(self)
        for k, text in COUNT_MODES:
            self.count_mode.addItem(text, k)
        self.count_mode.setToolTip("What the per-month chart counts. Meters: each meter once, at its first "
                                   "deadline, by state. Deadlines: every deadline of every meter, by kind (a meter "
                                   "due for sampling and for its battery counts twice)")
        self.count_mode.currentIndexChanged.connect(lambda _i: self._draw_month_chart())
        bar.addWidget(self.count_mode)
        bar.addStretch(1)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Work the schedule out again (F5)")
        self.refresh_button.clicked.connect(self.load)
        bar.addWidget(self.refresh_button)
        lay.addLayout(bar)
        for w in (self.as_of, self.years, self.site):
            w.setMinimumHeight(self.ctx.metrics.input_height)
        # a change of the controls reads the schedule again a moment later (typing a date is many changes)
        from PySide6.QtCore import QTimer

        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(300)
        self._reload.timeout.connect(self.load)
        self._generation = 0
        self.as_of.dateChanged.connect(lambda _d: self._reload.start())
        self.years.currentIndexChanged.connect(lambda _i: self._reload.start())
        self.site.currentIndexChanged.connect(lambda _i: None if self._filling_sites else self._reload.start())
        self.plan_sampling.toggled.connect(lambda _b: self._reload.start())
        self._filling_sites = False

        totals = QHBoxLayout()
        totals.setSpacing(6)
        self.total_buttons: dict[str, QPushButton] = {}
        for state in DUE_STATES:
            b = QPushButton(STATE_TITLES[state], self)
            b.setToolTip(f"List the meters: {STATE_TITLES[state].lower()}")
            b.clicked.connect(lambda _c=False, s=state: self.select(state=s))
            self.total_buttons[state] = b
            totals.addWidget(b, 1)
        self.in_service_label = QLabel(self)
        totals.addWidget(self.in_service_label, 1)
        lay.addLayout(totals)

        split = QSplitter(Qt.Orientation.Vertical, self)
        charts = QSplitter(Qt.Orientation.Horizontal, split)
        self.month_chart = DueByMonthChart(charts, scale)
        self.site_panel = SiteChartPanel(charts, scale)
        self.site_chart = self.site_panel.chart
        charts.setStretchFactor(0, 3)
        charts.setStretchFactor(1, 2)
        self.month_chart.barClicked.connect(self._month_clicked)
        self.site_chart.barClicked.connect(self._site_clicked)
        lower = QWidget(split)
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 4, 0, 0)
        ll.setSpacing(4)
        head = QHBoxLayout()
        self.list_title = QLabel("", lower)
        styled(self.list_title, "section", scale)
        self.list_title.setWordWrap(True)
        head.addWidget(self.list_title, 1)
        if scale > 1.0:   # larger text: the title on its line, the four buttons on the next
            ll.addLayout(head)
            head = QHBoxLayout()
            head.addStretch(1)
        self.export_button = QPushButton("Export this list (CSV)", lower)
        self.export_button.setToolTip("The meters listed here, with the reason for each, as CSV")
        self.export_button.clicked.connect(lambda: self.ask_export(all_rows=False))
        head.addWidget(self.export_button)
        self.export_all_button = QPushButton("Export all (CSV)", lower)
        self.export_all_button.setToolTip("Every meter's state, due date and reason, as CSV")
        self.export_all_button.clicked.connect(lambda: self.ask_export(all_rows=True))
        head.addWidget(self.export_all_button)
        self.jobs_button = QPushButton("Job lists…", lower)
        self.jobs_button.setToolTip("Per site, what each technician must do (CSV, XLSX, printable PDF) with room "
                                    "for the result")
        self.jobs_button.clicked.connect(self.ask_job_lists)
        head.addWidget(self.jobs_button)
        self.import_button = QPushButton("Import results…", lower)
        self.import_button.setToolTip("Record a filled-in job list (CSV or XLSX): all of it, or nothing with the "
                                      "line at fault named")
        self.import_button.clicked.connect(self.ask_import_results)
        head.addWidget(self.import_button)
        ll.addLayout(head)
        self.model = DictTableModel(list(LIST_HEADERS), self, colour=self._colour)
        self.table = QTableView(lower)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(round(30 * scale))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setResizeContentsPrecision(200)   # 100,000 rows: never measure them all
        ll.addWidget(self.table, 1)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay.addWidget(split, 1)
        self.split = split
        split.setSizes([560, 440])   # proportions: the charts a little more than the list
        self.scroll.setWidget(self.inner)
        self._fit_height(scale)
        self._style_totals({})

    def _fit_height(self, scale: float) -> None:
        # with larger text the view scrolls rather than squash its charts and list
        self.inner.setMinimumHeight(0 if scale <= 1.0 else round(640 * scale / 1.4))

    # -- loading ---------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        return {"as_of": pydate(self.as_of.date()), "horizon_months": 12 * int(self.years.currentData()),
                "site": self.site.currentData(), "plan_sampling": self.plan_sampling.isChecked()}

    def load(self):
        """Work the schedule out in a worker (the register may be opened, migrated or built there)."""
        self._reload.stop()
        p = self.params()
        self.page.set_setting("years", int(self.years.currentData()))
        self.page.set_setting("plan_sampling", p["plan_sampling"])
        self.loading = True
        self._generation += 1
        gen = self._generation
        return self.page.run_db("Due schedule", service.load_due, p["as_of"], p["horizon_months"], p["site"],
                                p["plan_sampling"], on_done=lambda d: self._loaded(d, gen))

    def _loaded(self, data, generation: int | None = None) -> None:
        if generation is not None and generation != self._generation:
            return   # a later read is on its way: this one is stale
        self.loading = False
        if isinstance(data, service.Failure):
            self.page.show_error(f"The schedule could not be worked out: {data.message}")
            return
        self.data = data
        self._fill_sites(data.sites)
        self._draw_month_chart()
        self.site_chart.set_data({s: {k: v for k, v in st.items() if k != "in_service"} for s, st in data.by_site.items()})
        self._style_totals(data.totals)
        self.select(**self.selection) if self.selection else self.select()
        self.page.lots_changed(data.lots)

    def _draw_month_chart(self) -> None:
        data = self.data
        if data is None:
            return
        if self.count_mode.currentData() == "deadlines":
            by_month, overdue = service.deadlines_as_states(data)
            self.month_chart._left = "deadlines"   # the axis title, drawn by set_data
            self.month_chart.set_data(data.months(), by_month, overdue)
        else:
            self.month_chart._left = "meters due"
            self.month_chart.set_data(data.months(), data.by_month, data.totals.get("overdue", 0))

    def _fill_sites(self, sites: list[str]) -> None:
        cur = self.site.currentData()
        self._filling_sites = True
        try:
            self.site.clear()
            self.site.addItem("All sites", None)
            for s in sites:
                self.site.addItem(s, s)
            i = self.site.findData(cur)
            self.site.setCurrentIndex(max(0, i))
        finally:
            self._filling_sites = False

    def _style_totals(self, totals: dict[str, int]) -> None:
        scale = self.ctx.text_scale
        for state, b in self.total_buttons.items():
            n = totals.get(state, 0)
            b.setText(f"{BUTTON_TITLES.get(state, STATE_TITLES[state])}\n{n:,}")
            b.setStyleSheet(f"QPushButton {{ background: {STATE_COLORS[state] if n else '#e4e4e4'}; "
                            f"color: {'#ffffff' if n else '#000000'}; font-weight: bold; "
                            f"font-size: {self.ctx.metrics.point_size * 1.05:.1f}pt; min-height: {round(48 * scale)}px; "
                            "border: 2px solid #303030; border-radius: 4px; }"
                            "QPushButton:focus { border: 3px solid #000000; }")
        self.in_service_label.setText(f"In service\n{totals.get('in_service', 0):,}")
        self.in_service_label.setToolTip("Nothing due before the end of the horizon")
        styled(self.in_service_label, "value-small", scale)

    # -- the list behind a bar -------------------------------------------------------------
    def select(self, *, month: str | None = None, site: str | None = None, state: str | None = None) -> list[dict]:
        """Show the meters behind a bar in the list (no argument: every meter due or overdue)."""
        self.selection = {k: v for k, v in (("month", month), ("site", site), ("state", state)) if v is not None}
        if self.data is None:
            return []
        rows = self.data.select(month=month, site=site, state=state)   # in due-date order already
        self.list_rows = rows
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()   # measures the first rows only (resize precision)
        parts = []
        if state:
            parts.append(STATE_TITLES[state].lower())
        if month:
            parts.append(f"due in {month_label(month, short=False)}")
        if site is not None:
            parts.append(f"at {site or '(no site)'}")
        what = ", ".join(parts) if parts else (f"due by {self.data.horizon_end.isoformat()} or overdue")
        counts = {}
        for r in rows:
            counts[r["state"]] = counts.get(r["state"], 0) + 1
        detail = ", ".join(f"{STATE_TITLES[s].lower()} {counts[s]}" for s in DUE_STATES if counts.get(s))
        self.list_title.setText(f"{len(rows):,} meters {what}")
        self.list_title.setToolTip(detail)
        return rows

    def _month_clicked(self, key: str, state: str) -> None:
        if self.count_mode.currentData() == "deadlines" and self.data is not None:
            self.select_deadlines(month=None if key == OVERDUE_KEY else key, state=state or None,
                                  overdue=key == OVERDUE_KEY)
        elif key == OVERDUE_KEY:
            self.select(state="overdue")
        else:
            self.select(month=key, state=state or None)

    def select_deadlines(self, *, month: str | None = None, state: str | None = None,
                         overdue: bool = False) -> list[dict]:
        """The meters behind a bar of the deadline chart: a deadline of that kind in that month (or overdue)."""
        if self.data is None:
            return []
        rows = service.select_deadlines(self.data, month=month, state=state, overdue=overdue)
        self.selection = {}
        self.list_rows = rows
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        kind = {"recalibrate_or_replace_due": "recalibrate or replace", "sampling_due": "sampling",
                "battery_due": "battery"}.get(state or "", "any")
        when = "overdue" if overdue else f"in {month_label(month, short=False)}" if month else "within the horizon"
        self.list_title.setText(f"{len(rows):,} meters with a {kind} deadline {when}")
        return rows

    def _site_clicked(self, site: str, state: str) -> None:
        self.select(site=site, state=state or None)

    def _colour(self, row: dict, key: str):
        return None, key == "state_text" and row.get("state") in STATE_COLORS

    # -- export ----------------------------------------------------------------------------
    def ask_export(self, all_rows: bool) -> None:
        if self.data is None:
            self.page.show_warning("Nothing to export yet: the schedule is still being worked out.")
            return
        if not self.ctx.mode.interactive:
            return
        name = f"due-{self.data.as_of.isoformat()}{'-all' if all_rows else ''}.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export as CSV", name, "CSV files (*.csv)")
        if path:
            self.export(path, all_rows=all_rows)

    def export(self, path: str, all_rows: bool = False):
        """Write the list shown (or every meter) as CSV, in a worker."""
        rows = list(self.data.rows if all_rows else self.list_rows)
        return self.page.run_task("Export CSV", service.write_rows_csv, path, rows,
                                  on_finished=lambda n: self.page.show_info(f"Saved {n:,} meters to {path}."))

    # -- job lists --------------------------------------------------------------------------
    def job_list_dialog(self, lot_id: int | None = None):
        import os

        from app.ui.planner.joblist import JobListDialog

        return JobListDialog(self, sites=list(self.data.sites if self.data else []), lots=list(self.page.lots.lots),
                             as_of=pydate(self.as_of.date()), plan_sampling=self.plan_sampling.isChecked(),
                             folder=self.page.setting("jobs_folder", os.path.expanduser("~"), str),
                             scale=self.ctx.text_scale, lot_id=lot_id)

    def ask_job_lists(self, lot_id: int | None = None) -> None:
        if not self.ctx.mode.interactive:
            return
        dlg = self.job_list_dialog(lot_id)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.write_job_lists(dlg.request())

    def write_job_lists(self, req):
        """Write the job lists ``req`` (a ``JobListRequest``) in a worker; the outcome in the banner."""
        from app.ui.planner.joblist import write_job_lists

        self.page.set_setting("jobs_folder", req.folder)

        def done(r):
            if isinstance(r, service.Failure):
                self.page.show_error(f"No job list written: {r.message}")
            elif r["jobs"] == 0:
                self.page.show_info("No job: nothing is due within the horizon (no file written).")
            else:
                self.page.show_info(f"Wrote {r['jobs']:,} jobs at {len(r['sites'])} site(s): {len(r['files'])} "
                                    f"files in {req.folder}.")
            self.last_job_lists = r

        return self.page.run_db("Writing job lists", write_job_lists, req, on_done=done)

    def ask_import_results(self) -> None:
        if not self.ctx.mode.interactive:
            return
        path, _ = QFileDialog.getOpenFileName(self, "A filled-in job list", self.page.setting(
            "jobs_folder", "", str), "Job lists (*.csv *.xlsx);;All files (*)")
        if path:
            self.import_results(path)

    def import_results(self, path: str):
        """Record a filled-in job list in a worker, all or nothing; the schedule is worked out again."""
        from app.ui.planner.joblist import import_job_results

        def done(r):
            if isinstance(r, service.Failure):
                self.page.show_error(f"Nothing recorded: {r.message}")
            else:
                counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(r["counts"].items()))
                self.page.show_info(f"{r['file']}: {r['results']} result(s) recorded ({counts}).")
                self.page.schedule_changed()
            self.last_import = r

        return self.page.run_db("Importing results", import_job_results, path, user=self.page.user(),
                                on_done=done)

    def set_text_scale(self, scale: float) -> None:
        restyle(self, scale)
        self._fit_height(scale)
        self.month_chart.scale = self.site_chart.scale = scale
        self.month_chart.set_text_scale(scale)
        self.site_chart.set_text_scale(scale)
        self._style_totals(self.data.totals if self.data else {})
        self.table.verticalHeader().setDefaultSectionSize(round(30 * scale))
