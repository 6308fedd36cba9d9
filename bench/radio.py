"""Radio page benchmark: the GUI thread's update cost with 1,000 meters heard at 100 telegrams/s.

    .venv/bin/python bench/radio.py            # prints the figures
    .venv/bin/python bench/radio.py --quick    # shorter runs
    .venv/bin/python bench/radio.py --write    # also writes the "radio" section of docs/benchmarks.md

The real window on the Radio page (offscreen, 1366x768), receiving from the simulated radio in its worker
task: 1,000 simulated meters (the simulator's six makes, AES keys in a throw-away key store, so telegrams
are decrypted in the worker), the simulated clock sped up so that about 100 telegrams a second are heard.
First the table is filled: 300 simulated seconds through the same page (every meter heard at least once).
Then, for each case, the time of one update on the GUI thread -- the radio service's batch handler (the
heard table), the Radio page's (model signals, the filter and sort, the selected meter's telegrams, the
survey), then the repaint they asked for, done at once (the cells whose data changed, the whole table
after a re-sort, the telegram list when it grew: what the event loop would paint) -- median, 95th
percentile and maximum.
Target: median under 16 ms (one frame at 60 Hz). The floor, measured in the same run, is a forced repaint
of both whole tables with nothing changed (what any change costs at most to paint).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench._report import machine_line, md_table, write_section  # noqa: E402

METERS = 1000
RATE = 100.0          # telegrams per second wanted


def heard_rate(meters, sensitivity_dbm: float = -105.0, shadow_db: float = 4.0) -> float:
    """Telegrams per simulated second the field's meters send that are above the sensitivity."""
    total = 0.0
    for m in meters:
        z = (m.mean_rssi_dbm() - sensitivity_dbm) / shadow_db
        total += 0.5 * (1 + math.erf(z / math.sqrt(2))) / m.interval_s
    return total


def pct(values, q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", action="store_true", help="write the radio section of docs/benchmarks.md")
    args = ap.parse_args()
    seconds = 8.0 if args.quick else 25.0

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    tmp = tempfile.TemporaryDirectory(prefix="heatmeter-bench-")
    os.environ["HEATMETER_KEYSTORE"] = os.path.join(tmp.name, "keys.json")
    os.environ["HEATMETER_KEYRING"] = "0"
    from app.ui.context import AppContext
    from app.ui.mainwindow import MainWindow
    from app.ui.settings import Settings
    from drivers.simulator.wmbus import RadioField, default_field, keys_csv

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Settings(QSettings(os.path.join(tmp.name, "s.ini"), QSettings.Format.IniFormat))
    ctx = AppContext(settings, screenshot=True)
    win = MainWindow(ctx, initial_page="radio")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()
    meters = default_field(METERS, 1)
    ctx.keys.set_passphrase("bench passphrase")
    ctx.keys.import_text_now(keys_csv(meters))
    page._select_source("simulator")

    def wait(cond, timeout=300):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("timed out")
            app.processEvents()
            time.sleep(0.002)

    # fill: 300 simulated seconds at once (virtual clock)
    page.service.field = RadioField(meters, 1)
    task = page.start(clock="virtual", seconds=300)
    wait(lambda: not task.running and not page.service.running)
    wait(lambda: ctx.tasks.is_idle())
    app.processEvents()
    heard_fill = len(page.table)
    sim_rate = heard_rate(meters)
    speed = RATE / sim_rate

    def repaint() -> float:
        """A forced full repaint of both tables (the floor, and the worst case)."""
        t0 = time.perf_counter()
        page.view.viewport().repaint()
        page.tg_view.viewport().repaint()
        return (time.perf_counter() - t0) * 1000.0

    from PySide6.QtGui import QRegion

    dirty = {"region": QRegion(), "tg": False}

    def note_rows(top, bottom) -> None:
        """What the view repaints for changed cells: their rectangles (as QAbstractItemView collects them)."""
        vp = page.view.viewport().rect()
        first, last = page.view.rowAt(0), page.view.rowAt(vp.height() - 1)
        first = 0 if first < 0 else first
        last = page.model.rowCount() - 1 if last < 0 else last
        for r in range(max(top.row(), first), min(bottom.row(), last) + 1):
            rect = page.view.visualRect(page.model.index(r, top.column())).united(
                page.view.visualRect(page.model.index(r, bottom.column())))
            if rect.intersects(vp):
                dirty["region"] = dirty["region"].united(rect)

    def note_all(*_a) -> None:
        dirty["region"] = QRegion(page.view.viewport().rect())

    page.model.dataChanged.connect(lambda a, b, _roles=(): note_rows(a, b))
    page.model.layoutChanged.connect(note_all)
    page.model.rowsInserted.connect(note_all)
    page.telegrams.rowsInserted.connect(lambda *_a: dirty.update(tg=True))

    def paint_pending() -> float:
        """The repaint the update asked for, done at once: the changed cells of the meters table (the whole
        table after a re-sort), and the telegram list when it grew."""
        t0 = time.perf_counter()
        if not dirty["region"].isEmpty():
            page.view.viewport().repaint(dirty["region"])
        if dirty["tg"]:
            page.tg_view.viewport().repaint()
        dirty["region"], dirty["tg"] = QRegion(), False
        return (time.perf_counter() - t0) * 1000.0

    floor = [repaint() for _ in range(50)]
    rows = []
    cases = [("sorted by meter id, no filter", 0, ""),
             ("sorted by heard %, filtered to heat meters", 8, "heat")]
    for name, sort_col, filt in cases:
        page.view.sortByColumn(sort_col, Qt.SortOrder.AscendingOrder)
        page.filter_edit.setText(filt)
        page.select_meter(page.table.order[0])
        page.service.field = RadioField(meters, 7 + sort_col)     # the same meters, sending on from now
        page.service.sim_speed = speed
        page.update_ms.clear()
        paints: list[float] = []
        conn = page.service.batch.connect(lambda *_a: paints.append(paint_pending()))   # after the page's slot
        t_total0 = page.table.total
        task = page.start()
        t0 = time.monotonic()
        wait(lambda: time.monotonic() - t0 >= seconds)
        page.stop()
        wait(lambda: not page.service.running and ctx.tasks.is_idle())
        page.service.batch.disconnect(conn)
        elapsed = time.monotonic() - t0
        n = min(len(page.update_ms), len(paints))
        upd = list(page.update_ms)[:n]          # the service's handler, the page's, and the paint: all inside it
        got = page.table.total - t_total0
        rows.append([name, len(page.table), f"{got / elapsed:.0f}", n, f"{statistics.median(upd):.2f}",
                     f"{pct(upd, 0.95):.2f}", f"{max(upd):.2f}",
                     f"{statistics.median(upd) - statistics.median(paints[:n]):.2f} + "
                     f"{statistics.median(paints[:n]):.2f}"])
    rows.append(["floor: forced repaint of both whole tables, nothing changed", len(page.table), "", len(floor),
                 f"{statistics.median(floor):.2f}", f"{pct(floor, 0.95):.2f}", f"{max(floor):.2f}", ""])
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    headers = ["case", "meters heard", "telegrams/s", "updates", "median ms", "p95 ms", "max ms",
               "median: handlers + paint ms"]
    load = os.getloadavg()[0]
    text = (f"{machine_line()} 1-minute load average {load:.1f} at the end. 1,000 simulated meters ({heard_fill} heard after filling), simulated clock x"
            f"{speed:.2f} for about {RATE:.0f} telegrams/s, {seconds:.0f} s per case; one update = the radio "
            "service's batch handler (heard table) and the Radio page's (table model, selected meter, survey), "
            "then the repaint they caused, done at once.\n\n" + md_table(headers, rows))
    print(text)
    if args.write:
        write_section("radio", "### Radio page: update cost\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
