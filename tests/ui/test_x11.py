"""The real app on a real X server (Xvfb) with Qt's xcb platform, as on a technician's laptop.

Every other GUI test runs on Qt's offscreen platform, which needs none of the X11 libraries; this one
proves that the system packages installed by ``packaging/system-deps.sh`` are all that Qt's xcb platform
needs on a fresh Debian machine (a missing ``libxcb-icccm4`` used to abort the first ``make run`` with a
misleading "xcb-cursor0 is needed"). ``.ci/run`` installs Xvfb: in CI its absence fails the test;
elsewhere the test is skipped without it.
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def x_display(tmp_path):
    """A fresh Xvfb server; yields its DISPLAY (":N")."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if IN_CI:
            pytest.fail("Xvfb is missing in CI: .ci/run installs the xvfb package")
        pytest.skip("no Xvfb on this machine (apt-get install xvfb; .ci/run installs it)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1366x768x24", "-nolisten", "tcp",
                             "-noreset"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number:
            proc.kill()
            _out, err = proc.communicate()
            pytest.fail(f"Xvfb did not start: {err.decode(errors='replace').strip()[-300:]}")
        yield f":{number}"
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stderr.close()


@pytest.mark.timeout(180)
def test_the_app_opens_its_window_on_x11(x_display, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "WAYLAND"))}
    env.update(DISPLAY=x_display, QT_QPA_PLATFORM="xcb", HEATMETER_SETTINGS_DIR=str(tmp_path / "settings"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_RUNTIME_DIR=str(tmp_path))
    os.chmod(tmp_path, 0o700)
    p = subprocess.run([sys.executable, "-m", "app.ui.main", "--demo", "--page", "scan", "--exit-when-shown"],
                       env=env, capture_output=True, text=True, timeout=150)
    assert "could not load the Qt platform plugin" not in p.stderr.lower(), p.stderr[-2000:]
    assert p.returncode == 0, p.stderr[-2000:]
    shown = [ln for ln in p.stdout.splitlines() if ln.startswith("shown ")]
    assert shown, p.stdout + p.stderr[-2000:]
