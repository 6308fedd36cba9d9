"""The one-folder app that ``make package`` builds (PyInstaller) starts and renders a page.

Built once per test session into a temporary folder (a few minutes: this is the
suite's single packaging check), then run as a user would run it.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BUILD_TIMEOUT_S = 900      # make package: about 1.5 min on 2 shared cores
RUN_TIMEOUT_S = 180        # one run of the packaged app
# The first test builds (in its set-up, which pytest-timeout counts): its limit must leave the
# build its own timeout plus a run, or the subprocess timeout could never fire.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT_S + 2 * RUN_TIMEOUT_S)]


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> Path:
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    out = tmp_path_factory.mktemp("package")
    p = subprocess.run(["make", "-C", str(ROOT), "package", f"PACKAGE_DIST={out / 'dist'}",
                        f"PACKAGE_WORK={out / 'work'}"], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    app = out / "dist" / "heatmeter"
    shutil.rmtree(out / "work", ignore_errors=True)
    return app


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(QT_QPA_PLATFORM="offscreen", HEATMETER_SETTINGS_DIR=str(tmp_path / "settings"),
               XDG_DATA_HOME=str(tmp_path / "data"), HEATMETER_DB="")
    return env


def test_packaged_app_renders_the_register_page(packaged, tmp_path):
    from PySide6.QtGui import QImage

    entry = (packaged / "heatmeter.desktop").read_text().splitlines()
    assert entry[0] == "[Desktop Entry]" and "Exec=heatmeter-gui %F" in entry and "Icon=heatmeter" in entry
    assert QImage(str(packaged / "heatmeter.png")).width() == 256
    shot = tmp_path / "register.png"
    p = subprocess.run([str(packaged / "heatmeter-gui"), "--demo", "--page", "register", "--screenshot", str(shot)],
                       env=_env(tmp_path), capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    img = QImage(str(shot))
    assert (img.width(), img.height()) == (1366, 768)
    colours = {img.pixel(x, y) for x in range(0, 1366, 17) for y in range(0, 768, 17)}
    assert len(colours) > 8
    # screenshot mode keeps its demo register (made from the bundled schema) in a throw-away folder
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("register.db"))


def test_packaged_command_line(packaged, tmp_path):
    env = _env(tmp_path)
    cli = str(packaged / "heatmeter")
    p = subprocess.run([cli, "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("heatmeter ")
    # the metrology core with its data (IAPWS-IF97, the meter catalogue)
    sizing = {"application": "heating", "design_power_kw": 20, "flow_temp_c": 70, "return_temp_c": 40,
              "min_power_kw": 1, "meter_position": "return"}
    p = subprocess.run([cli, "calc", "sizing", "--input", "-", "--json"], input=json.dumps(sizing), env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["chosen"]["qp_m3h"] > 0
    # the register: a new one (the bundled schema), an old one migrated (the bundled Alembic migrations),
    # and a bad input's one-line error
    db = f"sqlite:///{tmp_path / 'r.db'}"
    p = subprocess.run([cli, "db", "upgrade", "--db", db, "--json"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    from app.storage import migrate
    from app.storage.db import make_engine

    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(old, "0001")
    old.dispose()
    p = subprocess.run([cli, "db", "upgrade", "--db", f"sqlite:///{tmp_path / 'old.db'}", "--json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with sqlite3.connect(tmp_path / "old.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.HEAD,)]
    p = subprocess.run([cli, "meters", "import", str(tmp_path / "missing.csv"), "--db", db], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "no such file" in p.stderr
