"""Entry point of the ``heatmeter`` command."""
from __future__ import annotations

import argparse
import importlib
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
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    argv = sys.argv[1:] if argv is None else argv
    parser = _Parser(prog="heatmeter", description="Heat meter tool: M-Bus readout, meter register, maintenance planning, metrology.")
    parser.add_argument("--version", action="version", version=f"heatmeter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _command_modules(argv):
        importlib.import_module(f"{_commands.__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        from app.cli.options import check_user

        check_user(args)
        status = func(args)
    except UserError as exc:
        print(f"heatmeter: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("heatmeter: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
