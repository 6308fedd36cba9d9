"""The CLI's shape: subcommands are found, bad input is one line and exit 2."""
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True)


def test_help_lists_commands():
    p = run("--help")
    assert p.returncode == 0
    assert "COMMAND" in p.stdout


def test_unknown_command_is_one_line_error():
    p = run("no-such-command")
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_version():
    p = run("--version")
    assert p.returncode == 0 and p.stdout.startswith("heatmeter ")
