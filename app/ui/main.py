"""Entry point of ``heatmeter-gui``.

Imports only the standard library at module level; Qt comes in ``main`` and the
heavy modules (pyqtgraph, numpy, scipy, SQLAlchemy) only with the pages that
need them, so the first window shows quickly.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

_T0 = time.perf_counter()

SCREENSHOT_SIZE = (1366, 768)
SCREENSHOT_TIMEOUT_S = 30.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other user mistake
        self.exit(2, f"{self.prog}: error: {message}\n")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1366x768, not {text!r}") from None
    if not (320 <= w <= 10000 and 240 <= h <= 10000):
        raise argparse.ArgumentTypeError(f"size {w}x{h} is out of range (320x240 to 10000x10000)")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    from app.ui.pages import page_specs

    names = [s.name for s in page_specs()]
    p = _Parser(prog="heatmeter-gui", description="The heatmeter desktop app.")
    p.add_argument("--demo", action="store_true",
                   help="run on the built-in simulated meter bus with demo data (marked SIMULATION)")
    p.add_argument("--page", metavar="NAME", choices=names, help=f"page to open: {', '.join(names)}")
    p.add_argument("--screenshot", metavar="FILE",
                   help=f"render the page to FILE (PNG, {SCREENSHOT_SIZE[0]}x{SCREENSHOT_SIZE[1]} unless --size) and exit")
    p.add_argument("--larger-text", action="store_true", help="larger text and targets for this run")
    p.add_argument("--size", metavar="WxH", type=_size, help="window size, e.g. 1366x768")
    p.add_argument("--db", metavar="URL", help="register database (SQLAlchemy URL or a SQLite file)")
    p.add_argument("--port", metavar="URL",
                   help="serial port (/dev/ttyUSB0, COM3) or gateway (socket://HOST:PORT, rfc2217://HOST:PORT)")
    p.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    return p


def _wait_idle(app, ctx, timeout_s: float) -> bool:
    """Process events until no task runs (screenshot mode only: no window is interactive)."""
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    while not ctx.tasks.is_idle():
        if time.monotonic() > deadline:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        ctx.tasks.pool.waitForDone(20)
    for _ in range(3):
        app.processEvents()
    return True


def install_excepthook(ctx) -> None:
    """Unexpected errors in the GUI thread go to the log and the current page's banner."""
    import logging

    from app.ui.workers import one_line

    log = logging.getLogger("heatmeter.ui")

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        try:
            ctx.show_message(f"Unexpected error: {one_line(exc)}", "error")
        except Exception:  # noqa: BLE001 - never fail inside the hook
            pass

    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot:
        # a screenshot never needs a screen, and must not flash a window on one
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        out_dir = os.path.dirname(os.path.abspath(args.screenshot))
        if not os.path.isdir(out_dir):
            print(f"heatmeter-gui: cannot write {args.screenshot}: no folder {out_dir}", file=sys.stderr)
            return 2

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui import settings as hm_settings
    from app.ui import theme
    from app.ui.context import AppContext

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(hm_settings.ORGANISATION)
    app.setApplicationName(hm_settings.APPLICATION)
    app.setApplicationDisplayName("heatmeter")

    tmp = None
    if args.screenshot:
        import tempfile

        tmp = tempfile.TemporaryDirectory(prefix="heatmeter-shot-")
        settings = hm_settings.Settings(QSettings(os.path.join(tmp.name, "settings.ini"), QSettings.Format.IniFormat))
    else:
        settings = hm_settings.Settings()
    larger = args.larger_text or (settings.larger_text and not args.screenshot)
    ctx = AppContext(settings, demo=args.demo, screenshot=bool(args.screenshot), db_url=args.db,
                     port_url=args.port, text_scale=theme.text_scale(larger))
    if tmp is not None:
        ctx.demo_dir = tmp.name
    if args.port:
        ctx.connection.update(port=args.port, baud=settings.baud)
    if args.demo:
        from app.ui.demo import connect_demo_bus

        connect_demo_bus(ctx)

    from app.ui.mainwindow import MainWindow

    win = MainWindow(ctx, initial_page=args.page)
    if args.screenshot:
        win.resize(*(args.size or SCREENSHOT_SIZE))
        return _screenshot(app, ctx, win, args.screenshot, tmp)
    if args.size:
        win.resize(*args.size)
    install_excepthook(ctx)
    win.show()
    from app.ui.demo import start_first_run_check

    start_first_run_check(ctx)        # not in demo mode (the run mode says)
    ctx.mode.prepare(win.current_page())
    if args.exit_when_shown:
        def report():
            win.grab()  # the first complete render of the window
            print(f"shown {time.perf_counter() - _T0:.3f}", flush=True)
            win.close()
            app.quit()
        QTimer.singleShot(0, report)
    return app.exec()


def _screenshot(app, ctx, win, path: str, tmp) -> int:
    win.show()
    page = win.current_page()
    ctx.mode.prepare(page)
    idle = _wait_idle(app, ctx, SCREENSHOT_TIMEOUT_S)
    image = win.grab()
    ok = image.save(path, "PNG")
    win.close()
    if tmp is not None:
        tmp.cleanup()
    if not idle:
        print("heatmeter-gui: demo data did not finish loading in time; screenshot taken anyway", file=sys.stderr)
    if not ok:
        print(f"heatmeter-gui: cannot write {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
