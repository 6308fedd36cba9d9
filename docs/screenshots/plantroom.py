"""Screenshots of the plant-room states the user manual shows (docs/manual.md), at 1366x768.

    .venv/bin/python docs/screenshots/plantroom.py [--larger-text] [NAME ...]

Demo mode in a throw-away folder (the simulated bus, the demo register); each state is reached through the
pages' own methods, as a technician's clicks would, then the window (or the dialog, or the drop-down) is
grabbed into docs/screenshots/NAME.png (NAME-larger.png with --larger-text). The certificate of the
commissioning shown is written too (commission-certificate.pdf; ``pdftoppm -png -r 60`` makes its pages).
The page screenshots of every page (docs/architecture-ui.md's loop over ``heatmeter-gui --screenshot``) are separate.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
HERE = Path(__file__).resolve().parent
KAM = "71234567.KAM.08.04"


class Shots:
    def __init__(self, larger: bool) -> None:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from app.ui import theme
        from app.ui.context import AppContext
        from app.ui.demo import connect_demo_bus
        from app.ui.mainwindow import MainWindow
        from app.ui.settings import Settings

        self.larger = larger
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.tmp = tempfile.TemporaryDirectory(prefix="heatmeter-shot-")
        settings = Settings(QSettings(os.path.join(self.tmp.name, "s.ini"), QSettings.Format.IniFormat))
        self.ctx = AppContext(settings, demo=True, screenshot=True, text_scale=theme.text_scale(larger))
        self.ctx.demo_dir = self.tmp.name
        connect_demo_bus(self.ctx)
        self.win = MainWindow(self.ctx, initial_page="connect")
        self.win.resize(1366, 768)
        self.win.show()
        self.bus = self.ctx.bus

    def wait(self, cond=None, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while not (cond() if cond is not None else self.ctx.tasks.is_idle()):
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {cond}")
            self.app.processEvents()
            self.ctx.tasks.pool.waitForDone(10)
        for _ in range(5):
            self.app.processEvents()

    def settle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            self.ctx.tasks.pool.waitForDone(10)

    def save(self, widget, name: str, idle: bool = True) -> None:
        if idle:
            self.wait()
        else:
            self.settle(0.5)
        path = HERE / (f"{name}-larger.png" if self.larger else f"{name}.png")
        if not widget.grab().save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")
        print(path.relative_to(ROOT))

    def page(self, name: str):
        page = self.win.show_page(name)
        self.wait()
        return page

    def scanned(self) -> None:
        """The simulated bus scanned once (primary 1..9), as a technician starts."""
        if self.bus.meter(KAM) is None:
            task = self.bus.scan_primary(1, 9)
            self.wait(lambda: not task.running)
            self.wait()

    # -- the states ---------------------------------------------------------------------------
    def scan(self) -> None:
        """A primary scan of the simulated bus in which one meter no longer answered (greyed)."""
        from app.ui.demo import sim_meter

        page = self.page("scan")
        page.primary_radio.setChecked(True)
        page.first_spin.setValue(1)
        page.last_spin.setValue(9)
        page.start_scan()
        self.wait()
        sim_meter(self.bus.sim, "62100015").cfg.faults = {"silent": True}
        page.start_scan()
        self.wait()
        sim_meter(self.bus.sim, "62100015").cfg.faults = {}
        self.bus.select(KAM)
        self.save(self.win, "scan-stale")

    def scan_settings(self) -> None:
        """The Address / baud dialog after a confirmed address change."""
        self.scanned()
        page = self.page("scan")
        self.bus.select("62100014.ACW.09.04")
        page.change_selected()
        dlg = page.settings_dialog
        dlg.show()
        dlg.address.setValue(12)
        dlg.address_button.click()
        self.wait(lambda: dlg.task is not None and not dlg.task.running)
        self.wait()
        dlg.address.setValue(dlg.free_address())
        self.save(dlg, "scan-settings")
        dlg.close()

    def readout_failed(self) -> None:
        """A read that failed: the previous readout stays, marked as not current."""
        from app.ui.demo import sim_meter

        self.scanned()
        page = self.page("readout")
        self.bus.select(KAM)
        page.read_now()
        self.wait()
        sim_meter(self.bus.sim, "71234567").cfg.faults = {"silent": True}
        page.read_now()
        self.wait()
        sim_meter(self.bus.sim, "71234567").cfg.faults = {}
        page.banner.clear()
        self.save(self.win, "readout-failed")

    def live_reconnect(self) -> None:
        """Live polling through an unplugged head and a reconnect."""
        self.scanned()
        page = self.page("live")
        self.bus.select(KAM)
        page.interval.setValue(1)
        page.start_polling()
        self.wait(lambda: page.polls >= 4)
        self.bus.transport.unplug()
        self.wait(lambda: page.down_misses >= 3)
        self.bus.connect_simulator()
        self.wait(lambda: page.polls >= page.down_misses + 8)
        page.stop_polling()
        self.wait(lambda: not page.running)
        self.save(self.win, "live-reconnect")

    def commission(self) -> None:
        """Steps 1 (read: model from the scan), 2 (monitoring points), 5 (window running) and 6 (signed)."""
        self.scanned()
        page = self.page("commission")
        self.wait()
        page.banner.clear()
        self.bus.select(KAM)
        page.read_for_identify()
        self.wait(lambda: page.identify_step.fields["serial"].text() == "71234567")
        self.save(self.win, "commission-identify")
        page.demo_walkthrough()
        self.wait(lambda: page.state.step == 4 and len(page.state.readouts_with("check")) == 2)
        page.go_to(2)
        self.wait()
        combo = page.place_step.point
        combo.showPopup()
        self.wait()
        view = combo.view()
        view.setCurrentIndex(view.model().index(3, 0))
        self.save(view.window(), "commission-monitoring-points")
        combo.hidePopup()
        page.go_next()                          # back through the steps to 4, then on to 5
        self.wait(lambda: page.state.step == 3)
        page.go_next()
        self.wait(lambda: page.state.step == 4)
        page.go_next()
        self.wait(lambda: page.state.step == 5)
        self._observation(page)
        self.save(self.win, "commission-observe", idle=False)     # its polling goes on
        page.observe_step.reason.setText("demo: ten minutes shown")
        page.end_observation_early()
        self.wait(lambda: bool(page.state.observation.get("kpis")))
        page.go_next()
        self.wait(lambda: page.state.step == 6)
        page.sign_step.technician.setText("A. Technician")
        page.sign()
        self.wait(lambda: page.state.signed)
        import shutil

        if not self.larger:
            shutil.copyfile(page.certificate_path, HERE / "commission-certificate.pdf")
        self.save(self.win, "commission-signed")

    def _observation(self, page) -> None:
        """Ten minutes of 5-second polls of the simulated meter on its fast-forwarded clock, in a window
        of 15 minutes that goes on polling: what step 5 shows part-way through."""
        from app.core import commissioning as cm
        from app.services.commissioning import MeterReadout

        page.observation_seconds = 900
        page.observe_step.interval.setValue(5)
        page.start_observation()
        self.wait(lambda: page._obs is not None and len(page._obs["samples"]) >= 1)
        o = page._obs
        page.poller.stop()
        self.wait(lambda: not page.poller.running)
        line, reader = self.bus.transport, self.bus.reader(self.bus.meter(KAM))
        rows = []

        def history(link, progress, cancel):
            pace, line.pace = line.pace, 0.0
            try:
                for _i in range(120):
                    line.advance(5)
                    rows.append(reader(link))
            finally:
                line.pace = pace
        self.bus.run("Demo: ten minutes of polls", history)
        self.wait()
        now = time.time()
        o["start"] = now - 600
        o["samples"].clear()
        page.observe_step.plot.clear()
        for i, ro in enumerate(rows):
            t = now - 600 + 5 * i
            readout = MeterReadout.from_readout(ro)
            v = cm.readout_values(readout.telegrams, readout.read_at, page.state.kind)
            o["samples"].append(cm.ObservationSample(t, v.flow_m3h, v.t_flow_c, v.t_return_c, v.power_kw,
                                                     v.energy_kwh, v.volume_m3, v.dtheta_k))
            o["first"] = o["first"] or readout
            o["last"] = readout
            page.observe_step.plot.add_sample(t, v.power_kw, v.flow_m3h, v.t_flow_c, v.t_return_c,
                                              dtheta_k=v.dtheta_k)
        page.start_observation()                # its polling goes on (resumed)
        page.banner.clear()
        page._observation_tick()
        page.observe_step.show_plot()


STATES = ("scan", "scan_settings", "readout_failed", "live_reconnect", "commission")


def main() -> int:
    larger = "--larger-text" in sys.argv
    wanted = [a for a in sys.argv[1:] if not a.startswith("--")] or list(STATES)
    shots = Shots(larger)
    try:
        for name in wanted:
            getattr(shots, name)()
    finally:
        shots.win.close()
        shots.ctx.tasks.shutdown(5.0)
        shots.tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
