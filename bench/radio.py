"""Radio page benchmark: the GUI thread's update cost with 1,000 meters heard at 100 telegrams/s.

    .venv/bin/python bench/radio.py            # prints the figures
    .venv/bin/python bench/radio.py --quick    # shorter runs
    .venv/bin/python bench/radio.py --write    # also writes the "radio" section of docs/benchmarks.md

The real window on the Radio page (offscreen, 1366x768), receiving from the simulated radio in its worker
task: 1,000 simulated meters (the simulator's six makes, AES keys in a throw-away key store, so telegrams
are decrypted in the worker), the simulated clock sped up so that about 100 telegrams a second are heard.
First the table is filled: 300 simulated seconds through the same page (every meter heard at least once).
Then, for each case, the time of one update on the GUI thread -- the service's batch handler (heard table, then the page:
model signals, the filter and sort, the selected meter's telegrams, the survey) plus a synchronous
repaint of both tables -- median, 95th percentile and maximum. Target: median under 16 ms (one frame at
60 Hz). The floor, measured in the same run, is a repaint of the same tables with nothing changed.
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
        t0 = time.perf_counter()
        page.view.viewport().repaint()
        page.tg_view.viewport().repaint()
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
        conn = page.service.batch.connect(lambda *_a: paints.append(repaint()))
        t_total0 = page.table.total
        task = page.start()
        t0 = time.monotonic()
        wait(lambda: time.monotonic() - t0 >= seconds)
        page.stop()
        wait(lambda: not page.service.running and ctx.tasks.is_idle())
        page.service.batch.disconnect(conn)
        elapsed = time.monotonic() - t0
        n = min(len(page.update_ms), len(paints))
        upd = [page.update_ms[i] + paints[i] for i in range(n)]
        got = page.table.total - t_total0
        rows.append([name, len(page.table), f"{got / elapsed:.0f}", n, f"{statistics.median(upd):.2f}",
                     f"{pct(upd, 0.95):.2f}", f"{max(upd):.2f}"])
    rows.append(["floor: repaint of both tables, nothing changed", len(page.table), "", len(floor),
                 f"{statistics.median(floor):.2f}", f"{pct(floor, 0.95):.2f}", f"{max(floor):.2f}"])
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    headers = ["case", "meters heard", "telegrams/s", "updates", "median ms", "p95 ms", "max ms"]
    text = (f"{machine_line()} 1,000 simulated meters ({heard_fill} heard after filling), simulated clock x"
            f"{speed:.2f} for about {RATE:.0f} telegrams/s, {seconds:.0f} s per case; one update = the Radio "
            "page's batch handler + a synchronous repaint of its two tables.\n\n" + md_table(headers, rows))
    print(text)
    if args.write:
        write_section("radio", "### Radio page: update cost\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
