"""What a make module declares: :class:`Make` (and :class:`SimRecord` for its simulated meters).

A make module is one file in ``drivers/makes/`` with a module-level ``MAKE``;
the registry (:mod:`drivers.makes.registry`) finds it by itself. Everything a
make brings is plain data here, so the registry, the wake-up table, the
simulator and the front ends read it without knowing the make.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drivers.wakeup import WakeupProfile

# where a simulated record takes its value from (see SimRecord.source)
SIM_SOURCES = (
    "fabrication",          # the identification number (fabrication number record, VIF 0x78)
    "energy",               # the meter's register: heat energy, or cooling energy on a cooling meter (Wh)
    "power",                # W (negative on a cooling meter)
    "dtheta",               # K, flow minus return (negative on a cooling meter)
    "heat_energy", "heat_power", "heat_dtheta",   # the same on the heating side whatever the medium
    "cooling_energy",       # the cooling register (Wh)
    "volume",               # m3
    "flow",                 # m3/h
    "t_flow", "t_return",   # degC
    "on_time",              # s since the simulated meter started
    "flow_temp_volume",     # sum of flow temperature x volume, m3*degC
    "return_temp_volume",   # sum of return temperature x volume, m3*degC
    "datetime",             # the meter's clock (date-time record)
    "month_start",          # the first day of the meter's current month (date record)
)


@dataclass(frozen=True)
class SimRecord:
    """One record of a simulated telegram: which value of the meter's state, coded how.

    ``value = source value x factor + offset``, coded with ``vif`` (its scale
    decides the resolution) in ``coding`` (int8..int48, bcd2..bcd12, date,
    datetime). ``vif`` 0xFF is a manufacturer-specific record: the value, rounded
    to an integer, follows VIF 0xFF and the VIFEs ``vife``. ``modifiers`` (e.g.
    ``("accumulation_negative",)``: a cooling register) go with the VIF step
    ``scale`` in the record's unit.
    """

    source: str
    vif: int
    coding: str
    storage: int = 0
    factor: float = 1.0
    offset: float = 0.0
    vife: tuple[int, ...] = ()
    modifiers: tuple[str, ...] = ()
    scale: float | int | None = None

    def __post_init__(self) -> None:
        if self.source not in SIM_SOURCES:
            raise ValueError(f"unknown simulated record source {self.source!r} (one of {', '.join(SIM_SOURCES)})")


@dataclass(frozen=True)
class Make:
    """One meter make: what heatmeter knows about it beyond EN 13757-3.

    ``key``: short lower-case name (the module name). ``name``: the make as
    people write it. ``flags``: the M-Bus manufacturer FLAG codes its meters
    send; ``flag_names`` names a code differently where it is another brand of
    the make ("SPX": "Spanner-Pollux"). ``models``: FLAG -> {version byte ->
    model}, only versions seen in captured telegrams of a named model.
    ``wakeup``: the family's profile through an optical head (its ``name`` is
    the profile name users choose). ``volume_weighted``: VIF+VIFE bytes of a
    volume-weighted temperature register -> "flow" or "return", with
    ``register_names`` for the two. ``simulator``: record layouts of the
    simulated meters of this make, by layout name (telegram 1: current values).
    ``optical_protocol``: what the meters' optical port speaks when it is not
    M-Bus (``"iec62056-21"``, ``"kmp"``: a name of :mod:`drivers.protocols`);
    None: M-Bus through the optical head (with ``wakeup``), or no optical port
    known. ``optical_note`` says how (baud, wake-up) for the protocol list.
    ``wakeup`` may be one of the generic profiles of :mod:`drivers.wakeup`
    (e.g. ``NUL``): the make then adopts it as its family profile.
    ``sources``: where the facts above come from (for the docs and reviewers).
    """

    key: str
    name: str
    flags: tuple[str, ...]
    flag_names: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    wakeup: WakeupProfile | None = None
    volume_weighted: Mapping[bytes, str] = field(default_factory=dict)
    register_names: Mapping[str, str] = field(default_factory=dict)
    simulator: Mapping[str, tuple[SimRecord, ...]] = field(default_factory=dict)
    optical_protocol: str | None = None
    optical_note: str = ""
    sources: str = ""

    def __post_init__(self) -> None:
        if not self.key or not self.key.replace("_", "").isalnum() or self.key != self.key.lower():
            raise ValueError(f"a make key is a lower-case word: {self.key!r}")
        if not self.flags:
            raise ValueError(f"make {self.key}: give at least one FLAG code")
        for flag in self.flags:
            if len(flag) != 3 or not flag.isalpha() or flag != flag.upper():
                raise ValueError(f"make {self.key}: a FLAG code is three capital letters, not {flag!r}")
        for flag in (*self.flag_names, *self.models):
            if flag not in self.flags:
                raise ValueError(f"make {self.key}: {flag} is not one of its FLAG codes")
        if self.optical_protocol is not None and (not self.optical_protocol
                                                  or self.optical_protocol != self.optical_protocol.lower()
                                                  or self.optical_protocol == "mbus"):
            raise ValueError(f"make {self.key}: optical_protocol is a protocol name such as 'iec62056-21' "
                             f"or 'kmp', not {self.optical_protocol!r}")
        for which in self.volume_weighted.values():
            if which not in ("flow", "return") or which not in self.register_names:
                raise ValueError(f"make {self.key}: volume-weighted registers are 'flow' or 'return', "
                                 "each with a register name")

    def name_for(self, flag: str) -> str:
        """The make as written for meters sending ``flag``."""
        return self.flag_names.get(flag, self.name)

    def model(self, flag: str, version: int) -> str | None:
        return self.models.get(flag, {}).get(int(version))
