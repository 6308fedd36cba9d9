"""Job lists for technicians from the Planner: per site as CSV, XLSX and a printable PDF, and the
filled-in list read back (the same workflow as ``heatmeter jobs export|import``, in the page's worker)."""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app.ui.calculators.look import restyle

FORMATS = (("csv", "CSV (a spreadsheet to fill in)"), ("xlsx", "XLSX (one sheet per site)"),
           ("pdf", "PDF (printable, room for the result)"))


@dataclass
class JobListRequest:
    folder: str
    as_of: dt.date
    horizon_months: int = 3
    site: str | None = None
    lot_id: int | None = None
    plan_sampling: bool = True
    formats: tuple[str, ...] = ("csv", "xlsx", "pdf")
    per_site: bool = True


def slug(text: str) -> str:
    """A file-name-safe form of a site's name (``Riverside Heat Network`` -> ``Riverside-Heat-Network``)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "no-site"


def write_job_lists(reg, req: JobListRequest) -> dict[str, Any]:
    """Work out the jobs and write the files (run in a worker): one set per site when ``per_site``, else
    one set for every site (the XLSX with a sheet per site, the PDF a section per site)."""
    from app.services import joblists
    from app.storage.errors import ValidationError
    from app.ui.reports.render import jobs_pdf

    if not os.path.isdir(req.folder):
        raise ValidationError(f"no folder {req.folder}")
    jobs = joblists.job_list(reg, as_of=req.as_of, horizon_months=req.horizon_months, site=req.site,
                             lot_id=req.lot_id, plan_sampling=req.plan_sampling)
    sites = joblists.by_site(jobs)
    stem = f"jobs-lot-{req.lot_id}" if req.lot_id is not None else f"jobs-{req.as_of.isoformat()}"
    groups = ({f"{stem}-{slug(site)}": js for site, js in sites.items()} if req.per_site and sites
              else {stem + (f"-{slug(req.site)}" if req.site else ""): jobs})
    files = []
    for name, js in groups.items():
        base = os.path.join(req.folder, name)
        joblists.write_jobs(js, csv_path=base + ".csv" if "csv" in req.formats else None,
                            xlsx_path=base + ".xlsx" if "xlsx" in req.formats else None)
        files += [base + "." + f for f in ("csv", "xlsx") if f in req.formats]
        if "pdf" in req.formats:
            jobs_pdf(base + ".pdf", joblists.pdf_data(js, as_of=req.as_of, lot_id=req.lot_id))
            files.append(base + ".pdf")
    return {"jobs": len(jobs), "sites": {k: len(v) for k, v in sites.items()}, "files": files}


def import_job_results(reg, path: str, user: str | None = None) -> dict[str, Any]:
    from app.services import joblists

    return joblists.import_results(reg, path, user=user)


class JobListDialog(QDialog):
    """What to put in the job lists and where: the schedule (as the Planner shows it) or a drawn lot."""

    def __init__(self, parent: QWidget | None, *, sites: list[str], lots: list[dict], as_of: dt.date,
                 folder: str, plan_sampling: bool = True, scale: float = 1.0, lot_id: int | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Job lists for technicians")
        self.as_of, self.plan_sampling = as_of, plan_sampling
        lay = QVBoxLayout(self)
        intro = QLabel("A list per site of what to do at each meter — address, location, meter, the job — with "
                       "room for the result. Technicians fill it in; <b>Import results…</b> on the Planner "
                       "records it all (or nothing, naming the line at fault).", self)
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.source = QComboBox(self)
        self.source.addItem(f"The schedule on {as_of.isoformat()}: due within the horizon or overdue", None)
        for lt in lots:
            if lt.get("status") in ("drawn", "testing"):
                self.source.addItem(f"Lot {lt['id']}: its drawn meters (sample and spares)", lt["id"])
        if lot_id is not None and self.source.findData(lot_id) >= 0:
            self.source.setCurrentIndex(self.source.findData(lot_id))
        form.addRow("Jobs from", self.source)
        self.horizon = QSpinBox(self)
        self.horizon.setRange(0, 36)
        self.horizon.setValue(3)
        self.horizon.setSuffix(" months")
        self.horizon.setToolTip("Meters whose next deadline falls within this many months, and every overdue one")
        form.addRow("Due within", self.horizon)
        self.site = QComboBox(self)
        self.site.addItem("All sites", None)
        for s in sites:
            self.site.addItem(s or "(no site)", s)
        form.addRow("Site", self.site)
        fmt_row = QHBoxLayout()
        self.formats: dict[str, QCheckBox] = {}
        for key, text in FORMATS:
            b = QCheckBox(text, self)
            b.setChecked(True)
            b.toggled.connect(self._check)
            self.formats[key] = b
            fmt_row.addWidget(b)
        form.addRow("Write", fmt_row)
        self.per_site = QCheckBox("One set of files per site", self)
        self.per_site.setChecked(True)
        form.addRow("", self.per_site)
        folder_row = QHBoxLayout()
        self.folder = QLineEdit(folder, self)
        self.folder.textChanged.connect(self._check)
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._browse)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form.addRow("Into folder", folder_row)
        lay.addLayout(form)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #a61b0f; font-weight: bold")
        lay.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.write_button = self.buttons.addButton("Write the job lists", QDialogButtonBox.ButtonRole.AcceptRole)
        self.write_button.setProperty("primary", True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.source.currentIndexChanged.connect(lambda _i: self.horizon.setEnabled(self.source.currentData() is None))
        self.horizon.setEnabled(self.source.currentData() is None)     # a lot's list has no horizon
        restyle(self, scale)
        self._check()

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder for the job lists", self.folder.text())
        if d:
            self.folder.setText(d)

    def _check(self) -> None:
        why = ("Tick at least one kind of file." if not any(b.isChecked() for b in self.formats.values()) else
               "Choose a folder that exists." if not os.path.isdir(self.folder.text()) else "")
        self.problem.setText(why)
        self.problem.setVisible(bool(why))
        self.write_button.setEnabled(not why)

    def request(self) -> JobListRequest:
        return JobListRequest(folder=self.folder.text(), as_of=self.as_of, horizon_months=self.horizon.value(),
                              site=self.site.currentData(), lot_id=self.source.currentData(),
                              plan_sampling=self.plan_sampling,
                              formats=tuple(k for k, b in self.formats.items() if b.isChecked()),
                              per_site=self.per_site.isChecked())
