"""The CLI's last resort: an unexpected exception (a bug) is one line on stderr and exit 70, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main as cli_main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("exc", [KeyError("x"), ZeroDivisionError("division by zero"), AssertionError("unreachable"),
                                 RuntimeError("multi\nline\nmessage")])
def test_an_unexpected_exception_is_one_line_and_exit_70(monkeypatch, capsys, exc):
    import app.cli.commands.sample_plan as sp

    def boom(args):
        raise exc

    monkeypatch.setattr(sp, "run", boom)
    status = cli_main.main(["sample-plan", "--lot-size", "5"])
    out, err = capsys.readouterr()
    assert status == cli_main.INTERNAL_ERROR == 70
    assert err.count("\n") == 1 and err.startswith("heatmeter: internal error: ")
    assert type(exc).__name__ in err and "test_last_resort.py" not in err and "Traceback" not in err
    assert out == ""


def test_recursion_and_memory_errors_are_input_errors(monkeypatch, capsys):
    import app.cli.commands.sample_plan as sp

    for exc, words in ((RecursionError(), "nested too deeply"), (MemoryError(), "out of memory")):
        monkeypatch.setattr(sp, "run", lambda args, exc=exc: (_ for _ in ()).throw(exc))
        assert cli_main.main(["sample-plan", "--lot-size", "5"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err


def test_in_a_real_process_too():
    code = ("import sys, app.cli.commands.sample_plan as m\n"
            "def boom(a):\n    return {}['missing']\n"
            "m.run = boom\n"
            "from app.cli.main import main\n"
            "sys.exit(main(['sample-plan', '--lot-size', '5']))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == 70
    assert p.stderr.count("\n") == 1 and "internal error: KeyError" in p.stderr and "Traceback" not in p.stderr


def test_a_closed_pipe_is_silent():
    """``heatmeter ... | head -1``: the reader goes away; no "Exception ignored" on the way out."""
    hexfile = REPO / "tests" / "data" / "mbus-corpus" / "Elster-F2.hex"  # about 2 kB of JSON each time
    p = subprocess.Popen([sys.executable, "-m", "app", "decode", "--jsonl", *[str(hexfile)] * 400], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # 800 kB: far more than a pipe holds
    assert p.stdout is not None and p.stderr is not None
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=60) == 0 and err == ""
