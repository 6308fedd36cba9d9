"""Entry point of the ``heatmeter`` command."""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from app import __version__
from app.cli import commands as _commands
from app.cli.errors import UserError


def _command_modules(argv: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(_commands.__path__) if not m.name.startswith("_"))
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None:
        wanted = first.replace("-", "_")
        if wanted in names:
            return [wanted]
    return names


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other user mistake
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    argv = sys.argv[1:] if argv is None else argv
    parser = _Parser(prog="heatmeter", description="Heat meter tool: M-Bus readout, meter register, maintenance planning, metrology.")
    parser.add_argument("--version", action="version", version=f"heatmeter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _command_modules(argv):
        importlib.import_module(f"{_commands.__name__}.{name}").register(sub)
    return parser


#: Exit status of an unexpected error (a bug): EX_SOFTWARE of sysexits.h.
INTERNAL_ERROR = 70


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run one command. Whatever happens, the user sees at most one line on stderr, never a traceback:
    a ``UserError`` with its status, Ctrl-C (130), and, as the last resort, any unexpected exception
    as "internal error" (status 70) naming the exception (the bug to report)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help(sys.stderr)
            return 2
        from app.cli.options import check_user

        check_user(args)
        status = func(args)
    except UserError as exc:
        print(f"heatmeter: {_one_line(exc)}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("heatmeter: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except SystemExit:
        raise  # argparse's own exit (help, version, a usage error: already one line)
    except RecursionError:
        print("heatmeter: the input is nested too deeply to read", file=sys.stderr)
        return 2
    except MemoryError:
        print("heatmeter: out of memory: the input is too large for this computer", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, reported in one line
        where = _origin(exc)
        print(f"heatmeter: internal error: {type(exc).__name__}: {_one_line(exc, 160)}{where} "
              "(a bug: please report this line)", file=sys.stderr)
        return INTERNAL_ERROR
    return int(status or 0)


def _origin(exc: BaseException) -> str:
    """`` at module.py:123``: the innermost frame of the project's own code (for the bug report)."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        f = tb.tb_frame.f_code.co_filename
        if "/app/" in f.replace("\\", "/") or "/drivers/" in f.replace("\\", "/"):
            where = f" at {os.path.basename(f)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


if __name__ == "__main__":
    sys.exit(main())
