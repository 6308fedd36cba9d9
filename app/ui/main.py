"""Entry point of ``heatmeter-gui``. A minimal window until the full app lands."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heatmeter-gui")
    parser.add_argument("--demo", action="store_true", help="run on the built-in simulated meter bus")
    parser.add_argument("--page", default="connect")
    parser.add_argument("--screenshot", metavar="FILE", help="render the page to FILE (PNG) and exit")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = QMainWindow()
    win.setWindowTitle("heatmeter")
    win.setCentralWidget(QLabel("heatmeter"))
    win.resize(1366, 768)
    win.show()
    if args.screenshot:
        app.processEvents()
        return 0 if win.grab().save(args.screenshot) else 1
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
