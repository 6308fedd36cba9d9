"""Desktop app benchmarks: start-up to first window, and the live plot's update cost.

    .venv/bin/python bench/gui.py            # writes the "gui" section of docs/benchmarks.md
    .venv/bin/python bench/gui.py --quick    # fewer runs, prints only

1. Start: ``heatmeter-gui --exit-when-shown`` as a fresh process (offscreen, a
   throw-away settings folder) until the window has been rendered once; the
   median of several runs. The floor, measured in the same run, is the least
   any PySide6 app pays: start Python, import QtWidgets, show and render an
   empty QMainWindow.
2. Live plot: 24 hours of 1-second samples (86,400 per series, with a few
   gaps) in the plot, then the time of one ``add_sample`` plus the repaint it
   causes, median and 95th percentile, for the view following the last 15
   minutes and for all 24 hours in view; with the app's settings (clip to view
   + peak downsampling) and, as the comparison, with both off.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench._report import machine_line, md_table, write_section  # noqa: E402

FLOOR = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow(); w.resize(1366, 768); w.show()
def done():
    w.grab(); print("shown", flush=True); app.quit()
QTimer.singleShot(0, done)
app.exec()
"""


def _time_process(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds until the window was rendered, CPU seconds of the whole process)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if line.startswith("shown"):
            elapsed = time.perf_counter() - t0
            break
    else:
        p.wait()
        raise RuntimeError(f"{cmd} never showed its window (exit {p.returncode})")
    p.wait(timeout=60)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return elapsed, cpu


def bench_start(runs: int) -> list[list[object]]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    rows = []
    cases = [
        ("floor: empty PySide6 QMainWindow", [sys.executable, "-c", FLOOR]),
        ("heatmeter-gui (Connect page)", [sys.executable, "-m", "app.ui.main", "--exit-when-shown",
                                          "--page", "connect"]),
        ("heatmeter-gui --page live (pyqtgraph)", [sys.executable, "-m", "app.ui.main", "--exit-when-shown",
                                                   "--page", "live"]),
    ]
    walls: dict[str, list[float]] = {label: [] for label, _ in cases}
    cpus: dict[str, list[float]] = {label: [] for label, _ in cases}
    for _ in range(runs):  # round-robin, so that load from elsewhere falls on every case alike
        for label, cmd in cases:
            with tempfile.TemporaryDirectory() as settings:
                env["HEATMETER_SETTINGS_DIR"] = settings
                wall, cpu = _time_process(cmd, env)
            walls[label].append(wall)
            cpus[label].append(cpu)
    for label, _ in cases:
        w = walls[label]
        rows.append([label, runs, f"{statistics.median(w):.2f}", f"{min(w):.2f}", f"{max(w):.2f}",
                     f"{statistics.median(cpus[label]):.2f}"])
        print(rows[-1], flush=True)
    return rows


class _PaintCounter:
    """Counts paint events of a widget (an event filter)."""

    def __new__(cls):
        from PySide6.QtCore import QEvent, QObject

        class Counter(QObject):
            paints = 0

            def eventFilter(self, obj, event):  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Paint:
                    self.paints += 1
                return False

        return Counter()


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bench_plot(updates: int) -> list[list[object]]:
    from PySide6.QtWidgets import QApplication

    from app.ui import theme
    from app.ui.demo import demo_history
    from app.ui.widgets.liveplot import LivePlot

    app = QApplication.instance() or QApplication([])
    theme.apply_theme(app, 1.0)
    end = float(int(time.time()))
    history = list(demo_history(end_epoch_s=end, duration_s=86400,
                                gaps=((3600, 60), (20000, 300), (50000, 30), (80000, 120))))
    rows = []
    cases = [("clip + peak downsampling", True, "follow 15 min", 600),
             ("clip + peak downsampling", True, "all 24 h", 600),
             ("clip + peak downsampling, 2-px lines kept", True, "follow 15 min", 10**9),
             ("neither (all points drawn)", False, "follow 15 min", 600),
             ("neither (all points drawn)", False, "all 24 h", 600)]
    for label, optimised, view, thin_above in cases:
        plot = LivePlot(downsample=optimised, clip_to_view=optimised, thin_above_points=thin_above)
        plot.resize(1100, 620)
        plot.show()
        app.processEvents()
        plot.add_samples(history)
        plot.refresh()
        if view == "all 24 h":
            plot.show_all()
        else:
            plot.set_window(900)
        counter = _PaintCounter()
        vp = plot.glw.viewport()
        vp.installEventFilter(counter)
        times, cpu_times, paint_counts = [], [], []
        n = updates if optimised else max(10, updates // 10)
        for i in range(n + 3):
            app.processEvents()          # nothing pending before the clock starts
            before = counter.paints
            t = end + 1 + i
            t0, c0 = time.perf_counter(), time.process_time()
            plot.add_sample(t, 40.0 + (i % 7), 1.5, 70.0, 41.0)
            deadline = t0 + 5
            quiet = 0                    # until painted and nothing more happens
            while quiet < 3 and time.perf_counter() < deadline:
                seen = counter.paints
                app.processEvents()      # the coalesced refresh (setData), then the paint(s)
                quiet = quiet + 1 if counter.paints == seen and counter.paints > before else 0
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if i >= 3:                   # the first updates warm caches
                times.append(dt * 1000)
                cpu_times.append(dc * 1000)
                paint_counts.append(counter.paints - before)
        vp.removeEventFilter(counter)
        x, _ = plot.curves["power_kw"].getData()
        blocks = [cpu_times[k::4] for k in range(4)] if len(cpu_times) >= 40 else [cpu_times]
        rows.append([label, view,
                     len(plot), len(x), n, f"{sum(paint_counts) / len(paint_counts):.2f}",
                     f"{statistics.median(cpu_times):.1f}",
                     f"{min(statistics.median(b) for b in blocks):.1f}",
                     f"{statistics.median(times):.1f}", f"{_percentile(times, 0.95):.1f}"])
        print(rows[-1], flush=True)
        plot.close()
        plot.deleteLater()
        app.processEvents()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs; print, do not write the report")
    args = ap.parse_args()
    runs, updates = (3, 40) if args.quick else (7, 200)
    load_before = os.getloadavg()[0]
    start = bench_start(runs)
    plot = bench_plot(updates)
    load_after = os.getloadavg()[0]
    text = "\n\n".join([
        "Desktop app (`bench/gui.py`). " + machine_line() + " Qt offscreen platform (software rendering); "
        f"1-minute load average {load_before:.1f} before and {load_after:.1f} after the run "
        "(other work shared the machine, so the p95 columns carry its noise).",
        "**Start to first window rendered** (a fresh process each run, warm disk cache; goal < 2 s):",
        md_table(["what", "runs", "median s", "min s", "max s", "median CPU s"], start),
        "**Live plot update with 24 h of 1-second data** (86,400 samples per series plus gaps; one "
        "`add_sample` until every repaint it causes is done, for a 1100x620 plot; goal < 16 ms):",
        md_table(["curves", "view", "samples", "points drawn per curve", "updates", "paints per update",
                  "median CPU ms", "best quarter's median CPU ms",
                  "median wall ms", "p95 wall ms"], plot),
        "CPU time is the work the update costs this process (what the goal is about); wall time "
        "adds waiting for a core while other processes ran. The updates are dealt round-robin into "
        "four quarters; the best quarter's median shows the cost with the least interference.",
        "The app uses clip-to-view + peak downsampling to one bin per pixel column (first two rows). "
        "Samples are kept in preallocated numpy arrays grown by doubling, so appending is O(1); the "
        "cost per update is pyqtgraph re-deriving the visible, downsampled points of five curves and "
        "painting them. Three choices brought it under the goal: the grid is drawn as opaque 1-px "
        "rectangles (pyqtgraph's translucent grid lines took ~50 ms a repaint in Qt's raster engine); "
        "the y ranges are fitted before painting (otherwise every update paints twice); and curves "
        "are drawn 2 px wide only while at most 600 samples are in view (5-second polls over 50 "
        "minutes), 1 px when denser, where a thick line is a smeared band anyway (the third row "
        "shows what 2-px lines would cost at 900 samples in view).",
    ])
    if args.quick:
        print(text)
    else:
        write_section("gui", text)
        print("written to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
