"""The register package is the only writer of its tables: nothing outside it uses Register's private members.

Read from the source with ``ast``: an attribute access ``x._name`` where
``_name`` is a private member of ``Register`` (its transactions ``_read`` /
``_write``, the event-log entry ``_log``, and every other ``_`` method or
attribute of the classes it is composed of), a ``getattr(x, "_name")``, or a
private name imported from ``app.storage.register``. ``self._name`` / ``cls._name``
are left alone: outside the package they are some other class's own members.
Other modules read in ``Register.reading()`` and write through the public methods.
"""
from __future__ import annotations

import ast
from pathlib import Path

from app.storage.register import Register

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "app" / "storage" / "register"
#: Where a Register can be used (drivers cannot import the application at all: import-linter).
SCANNED = ("app", "bench", "tests")


def private_members() -> set[str]:
    names = {name for cls in Register.__mro__ if cls is not object for name in vars(cls)
             if name.startswith("_") and not name.startswith("__")}
    for path in PACKAGE.glob("*.py"):  # instance attributes set in the package (self._x = ...)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name) and node.value.id == "self"
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                names.add(node.attr)
    return names


def uses(source: str, private: set[str]) -> list[tuple[int, str]]:
    """(line, what) for each use of a private member of Register in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in private:
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append((node.lineno, f".{node.attr}"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in private):
            found.append((node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.storage.register"):
            found += [(node.lineno, f"import {a.name} from {node.module}") for a in node.names
                      if a.name.startswith("_")]
    return found


def test_the_private_members_are_known():
    private = private_members()
    assert {"_read", "_write", "_log", "_errors", "_insert_meter", "_insert_calibration", "_key_cache"} <= private
    assert not {"reading", "create_lots", "record_draw", "import_file"} & private


def test_the_scan_finds_a_use_and_leaves_other_classes_alone():
    private = private_members()
    src = ("def f(reg):\n"
           "    with reg._write() as conn:\n"
           "        reg._log(conn, 'u', 'lots', 1, 'create')\n"
           "    getattr(reg, '_read')\n"
           "class Page:\n"
           "    def _write(self):\n"
           "        self._write()\n"
           "from app.storage.register.unit import _is_locked\n")
    assert sorted(line for line, _ in uses(src, private)) == [2, 3, 4, 8]


def test_no_module_outside_the_register_package_uses_its_private_members():
    private = private_members()
    offences = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if PACKAGE in path.parents or path == Path(__file__).resolve():
                continue
            for line, what in uses(path.read_text(encoding="utf-8"), private):
                offences.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not offences, "private members of Register used outside app/storage/register/:\n" + "\n".join(offences)


def test_no_two_parts_of_register_define_the_same_name():
    """Register is composed of one class per concern: a name defined twice would silently hide one of them."""
    seen: dict[str, str] = {}
    clashes = []
    for cls in Register.__mro__[1:-1]:  # the parts, without Register itself and object
        for name in vars(cls):
            if name.startswith("__"):
                continue
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {cls.__name__}")
            seen[name] = cls.__name__
    assert not clashes
    assert {"import_file", "create_lots", "erase_personal_data", "reading"} <= seen.keys()
