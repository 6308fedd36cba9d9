"""``heatmeter-gui`` as a process: screenshot mode for every page, bad options, lazy imports."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtGui import QImage

from app.ui.pages import BUILTIN_PAGES

pytestmark = pytest.mark.gui

NAMES = [s.name for s in BUILTIN_PAGES]


def _env(tmp_path):
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["HEATMETER_SETTINGS_DIR"] = str(tmp_path / "settings")
    return env


def _gui(*args):
    return [sys.executable, "-m", "app.ui.main", *args]


def test_screenshot_of_every_page(tmp_path):
    """Every page renders with demo data at 1366x768 (and one with larger text); exit 0."""
    jobs = {}
    for name in NAMES:
        out = tmp_path / f"{name}.png"
        jobs[name] = (out, subprocess.Popen(_gui("--demo", "--page", name, "--screenshot", str(out)),
                                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            text=True))
    larger = tmp_path / "live-larger.png"
    jobs["live-larger"] = (larger, subprocess.Popen(
        _gui("--demo", "--larger-text", "--page", "live", "--screenshot", str(larger)),
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for name, (out, proc) in jobs.items():
        _stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name}: {stderr}"
        assert "Traceback" not in stderr, f"{name}: {stderr}"
        img = QImage(str(out))
        assert not img.isNull(), name
        assert (img.width(), img.height()) == (1366, 768), name
        colours = {img.pixel(x, y) for x in range(0, 1366, 17) for y in range(0, 768, 17)}
        assert len(colours) > 8, f"{name}: the picture is (nearly) blank"
    assert not (tmp_path / "settings").exists() or not any((tmp_path / "settings").rglob("*.ini"))


def test_screenshot_size_option(tmp_path):
    out = tmp_path / "small.png"
    p = subprocess.run(_gui("--page", "register", "--size", "1024x640", "--screenshot", str(out)),
                       env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1024, 640)


@pytest.mark.parametrize("args, words", [
    (["--page", "nowhere"], "invalid choice"),
    (["--size", "big"], "WIDTHxHEIGHT"),
    (["--screenshot", "/no/such/folder/x.png"], "no folder"),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, args, words):
    p = subprocess.run(_gui(*args), env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and words in p.stderr and "Traceback" not in p.stderr


def test_start_imports_no_heavy_module(tmp_path):
    """The first window (Connect page) comes up without pyqtgraph, numpy, scipy or SQLAlchemy;
    the Live page brings pyqtgraph in when it is first shown."""
    script = textwrap.dedent("""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from app.ui.context import AppContext
        from app.ui.mainwindow import MainWindow
        from app.ui.settings import Settings
        win = MainWindow(AppContext(Settings()), initial_page="connect")
        win.show(); app.processEvents(); win.grab()
        heavy = ("pyqtgraph", "numpy", "scipy", "sqlalchemy", "pandas")
        print("start:", sorted(m for m in heavy if m in sys.modules))
        win.show_page("live")
        print("live:", "pyqtgraph" in sys.modules)
        win.close()
    """)
    p = subprocess.run([sys.executable, "-c", script], env=_env(tmp_path), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "start: []" in p.stdout
    assert "live: True" in p.stdout


def test_exit_when_shown_reports_start_time(tmp_path):
    p = subprocess.run(_gui("--exit-when-shown"), env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("shown ")]
    assert line and float(line[0].split()[1]) > 0


def test_help_names_the_gateway_forms_the_app_takes():
    """--help used to advertise tcp://host:port, which nothing accepts."""
    from app.ui.main import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "socket://HOST:PORT" in text and "rfc2217://HOST:PORT" in text and "tcp://" not in text
