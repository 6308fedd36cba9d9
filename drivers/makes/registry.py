"""The make registry: every make module, found by itself, and the questions asked of them.

A make is one module of ``drivers/makes/`` with a module-level ``MAKE``
(:class:`drivers.makes.base.Make`); the registry imports the package's modules
on first use and registers each ``MAKE`` it finds (python-can style: a backend
is one module plus its entry, here the entry is in the module). Makes from
elsewhere (a plug-in, a test) are added with :func:`register`, or with
:func:`discover` for a whole package of make modules.

It answers: which make sends a FLAG code (:func:`make_for`), its name and
models (:func:`make_name`, :func:`model_name`), the wake-up table
(:func:`profiles`: the generic profiles of :mod:`drivers.wakeup` and every
make's family profile), a profile by name (:func:`get_profile`) or for a
FLAG code (:func:`profile_for_manufacturer`), and the simulator's record
layouts (:func:`simulator_layouts`). Names of FLAG codes no make module claims
come from ``resources/mbus_manufacturers.csv``.
"""
from __future__ import annotations

import csv
import functools
import importlib
import pkgutil
import sys
import threading
from dataclasses import replace

from drivers.makes.base import Make, SimRecord
from drivers.wakeup import GENERIC, GENERIC_OPTICAL, WakeupProfile

_PACKAGE = "drivers.makes"
_NOT_MAKES = {"base", "registry", "volume"}

_lock = threading.RLock()
_makes: dict[str, Make] = {}
_by_flag: dict[str, Make] = {}
_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        # the package's own path list (a frozen app lists its bundled modules through it too);
        # the package is imported before this module, so it is in sys.modules
        path = sys.modules[_PACKAGE].__path__
        for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
            if info.name.startswith("_") or info.name in _NOT_MAKES:
                continue
            module = importlib.import_module(f"{_PACKAGE}.{info.name}")
            make = getattr(module, "MAKE", None)
            if isinstance(make, Make):
                _add(make, replace_existing=False)
        _loaded = True


def _add(make: Make, *, replace_existing: bool) -> Make:
    old = _makes.get(make.key)
    if old is not None and not replace_existing:
        raise ValueError(f"a make {make.key!r} is already registered")
    for flag in make.flags:
        other = _by_flag.get(flag)
        if other is not None and other.key != make.key:
            raise ValueError(f"FLAG code {flag} already belongs to make {other.key!r}")
    if make.wakeup is not None:
        generic = {p.name: p for p in GENERIC}
        if make.wakeup.name in generic:
            if make.wakeup != generic[make.wakeup.name]:       # adopting a generic profile: as it is
                raise ValueError(f"make {make.key}: the wake-up profile {make.wakeup.name!r} is a generic "
                                 "one; adopt it unchanged or give the family profile its own name")
        elif make.wakeup.name in _profile_names(exclude=make.key):
            raise ValueError(f"make {make.key}: a wake-up profile {make.wakeup.name!r} exists already")
    taken = {name for m in _makes.values() if m.key != make.key for name in m.simulator}
    clash = sorted(taken & set(make.simulator))
    if clash:
        raise ValueError(f"make {make.key}: simulator layout {clash[0]!r} exists already")
    if old is not None:
        _drop(old)
    _makes[make.key] = make
    for flag in make.flags:
        _by_flag[flag] = make
    _cache_clear()
    return make


def _drop(make: Make) -> None:
    _makes.pop(make.key, None)
    for flag in make.flags:
        if _by_flag.get(flag) is make:
            del _by_flag[flag]
    _cache_clear()


def _profile_names(exclude: str = "") -> set[str]:
    """The names taken by the generic profiles and by the other makes' own family profiles."""
    names = {p.name for p in GENERIC}
    names.update(m.wakeup.name for m in _makes.values() if m.wakeup is not None and m.key != exclude)
    return names


def _cache_clear() -> None:
    _profiles.cache_clear()
    _layouts.cache_clear()


# --- adding makes ----------------------------------------------------------------------------

def register(make: Make, *, replace_existing: bool = False) -> Make:
    """Add ``make`` (e.g. from a plug-in or a test). Its FLAG codes and profile name must be free."""
    if not isinstance(make, Make):
        raise TypeError("register() takes a drivers.makes.base.Make")
    _load_builtin()
    with _lock:
        return _add(make, replace_existing=replace_existing)


def unregister(key: str) -> None:
    """Remove the make ``key`` (no error when it is not there)."""
    _load_builtin()
    with _lock:
        make = _makes.get(key)
        if make is not None:
            _drop(make)


def discover(package: str) -> list[Make]:
    """Register the ``MAKE`` of every module of ``package`` (an importable package of make modules)."""
    pkg = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        make = getattr(importlib.import_module(f"{package}.{info.name}"), "MAKE", None)
        if isinstance(make, Make):
            found.append(register(make))
    return found


# --- questions ------------------------------------------------------------------------------------

def makes() -> list[Make]:
    """Every registered make, by name."""
    _load_builtin()
    with _lock:
        return sorted(_makes.values(), key=lambda m: m.name.casefold())


def get(key: str) -> Make:
    _load_builtin()
    try:
        return _makes[key]
    except KeyError:
        raise KeyError(f"no make {key!r} (one of {', '.join(sorted(_makes))})") from None


def make_for(flag: str | None) -> Make | None:
    """The make whose meters send the FLAG code ``flag`` (None when no make module claims it)."""
    if not flag:
        return None
    _load_builtin()
    return _by_flag.get(flag.strip().upper())


@functools.lru_cache(maxsize=1)
def _csv_names() -> dict[str, str]:
    import resources

    out: dict[str, str] = {}
    try:
        with open(resources.path("mbus_manufacturers.csv"), newline="", encoding="utf-8") as f:
            rows = csv.DictReader(line for line in f if line.strip() and not line.lstrip().startswith("#"))
            for row in rows:
                flag = (row.get("flag") or "").strip().upper()
                make = (row.get("make") or "").strip()
                if flag and make and flag not in out:
                    out[flag] = make
    except OSError:
        pass
    return out


def make_name(flag: str | None) -> str | None:
    """The make for a FLAG code (``"KAM"`` -> ``"Kamstrup"``), None when nothing knows the code.

    A make module's name comes first; other codes are named by the first make
    ``resources/mbus_manufacturers.csv`` lists for them."""
    if not flag:
        return None
    code = flag.strip().upper()
    make = make_for(code)
    if make is not None:
        return make.name_for(code)
    return _csv_names().get(code)


def model_name(flag: str | None, version: int | None) -> str | None:
    """The model a (FLAG, version byte) pair is known to be, else None."""
    make = make_for(flag)
    if make is None or version is None:
        return None
    return make.model(flag.strip().upper(), version)


# --- the wake-up table ----------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _profiles() -> dict[str, WakeupProfile]:
    table = {p.name: p for p in GENERIC}
    family = sorted((m.wakeup for m in _makes.values() if m.wakeup is not None), key=lambda p: p.name)
    table.update((p.name, p) for p in family)
    return table


def profiles() -> dict[str, WakeupProfile]:
    """The wake-up table, name -> profile: the generic profiles, then each make's family profile (by name)."""
    _load_builtin()
    with _lock:
        return dict(_profiles())


def get_profile(name: str) -> WakeupProfile:
    table = profiles()
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown wake-up profile {name!r} (one of {', '.join(table)})") from None


def profile_for_manufacturer(code: str | None, optical: bool = True) -> WakeupProfile | None:
    """The profile a meter of this make needs through an optical head, or None when nothing is known."""
    make = make_for(code)
    if make is None or make.wakeup is None:
        return None
    p = make.wakeup
    return p if optical else p.without_preamble()


def resolve_profile(name: str | None, *, wakeup: bool = False, preamble_ms: int | None = None
                    ) -> WakeupProfile | None:
    """The profile a connection asks for: ``name`` (None/"none": wired M-Bus, no profile),
    ``wakeup`` forces a 0x55 preamble (the generic optical head when the profile has none),
    ``preamble_ms`` sets the preamble's length. ValueError for an unknown name."""
    prof = get_profile(name or "none")
    if wakeup and not prof.has_preamble:
        generic = get_profile(GENERIC_OPTICAL)
        prof = generic if prof.name == "none" else replace(prof, preamble_byte=generic.preamble_byte,
                                                          preamble_ms=generic.preamble_ms)
    if preamble_ms is not None and prof.has_preamble:
        prof = prof.with_length(int(preamble_ms))
    return None if prof.name == "none" and not prof.has_preamble else prof


def family_profile(profile: WakeupProfile | None, manufacturer: str | None) -> WakeupProfile | None:
    """Through a generic optical head, the family's own profile once the make is known (with the
    generic preamble's length); any other profile stays as chosen."""
    if profile is None or not profile.has_preamble or profile.name != GENERIC_OPTICAL:
        return profile
    fam = profile_for_manufacturer(manufacturer)
    if fam is not None and fam.has_preamble:
        return fam.with_length(profile.preamble_ms)
    return profile


# --- optical ports -----------------------------------------------------------------------------

def optical_protocol(flag: str | None) -> str | None:
    """What the optical port of this make's meters speaks when it is not M-Bus ("iec62056-21",
    "kmp"), None when it is M-Bus through the head (or nothing is known)."""
    make = make_for(flag)
    return make.optical_protocol if make is not None else None


def optical_protocols() -> dict[str, list[Make]]:
    """Protocol name -> the makes whose optical port speaks it (for the protocol table)."""
    out: dict[str, list[Make]] = {}
    for make in makes():
        if make.optical_protocol:
            out.setdefault(make.optical_protocol, []).append(make)
    return out


# --- the simulator's layouts ----------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _layouts() -> dict[str, tuple[SimRecord, ...]]:
    out: dict[str, tuple[SimRecord, ...]] = {}
    for make in sorted(_makes.values(), key=lambda m: m.key):
        for name, records in make.simulator.items():
            out[name] = tuple(records)
    return out


def simulator_layouts() -> dict[str, tuple[SimRecord, ...]]:
    """Layout name -> the records of a simulated meter's first telegram, from every make."""
    _load_builtin()
    with _lock:
        return dict(_layouts())


__all__ = ["register", "unregister", "discover", "makes", "get", "make_for", "make_name", "model_name",
           "profiles", "get_profile", "profile_for_manufacturer", "resolve_profile", "family_profile",
           "optical_protocol", "optical_protocols", "simulator_layouts"]
