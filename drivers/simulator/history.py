"""Monthly history of a simulated meter: month-start values that stay put.

A real meter stores its registers at each monthly set day (here the 1st of the
month, 00:00) and never changes them afterwards. :class:`MonthlyHistory` does the
same: values of the months before the simulation started are made up once
(backwards from the start registers with a seasonal consumption profile, seeded
by the meter's identity), values of month starts passed while the simulation
runs are the registers at the first moment the meter noticed the new month.
So a stored value is the same in every read, and never above the current
register (registers only grow).
"""
from __future__ import annotations

import datetime as _dt
import random

# share of a year's heat consumption per calendar month (northern heating season)
HEAT_PROFILE = (0.15, 0.13, 0.12, 0.08, 0.05, 0.03, 0.02, 0.02, 0.04, 0.08, 0.12, 0.16)
COOLING_PROFILE = tuple(HEAT_PROFILE[(m + 6) % 12] for m in range(12))
FLAT_PROFILE = (1 / 12,) * 12


def month_start(d: _dt.date, back: int = 0) -> _dt.date:
    """The 1st of the month ``back`` months before the month of ``d``."""
    y, m = divmod(d.year * 12 + d.month - 1 - back, 12)
    return _dt.date(y, m + 1, 1)


class MonthlyHistory:
    """Month-start values of energy (heat, cooling) and volume; see the module docstring.

    ``registers``: the register values at the start (``energy_wh``,
    ``cooling_energy_wh``, ``volume_m3``); ``years_of_use``: how many years of
    consumption the start registers hold (sets the yearly consumption);
    ``months``: how many month starts the meter keeps.
    """

    KEYS = ("energy_wh", "cooling_energy_wh", "volume_m3")

    def __init__(self, start: _dt.datetime, registers: dict, *, kind: str, seed: str, months: int = 24,
                 years_of_use: float = 6.0):
        self.months = months
        self.kind = kind
        self.values: dict[_dt.date, dict] = {}
        self.start_date = start.date()
        rng = random.Random(f"history:{seed}")
        profile = {"cooling": COOLING_PROFILE, "water": FLAT_PROFILE}.get(kind, HEAT_PROFILE)
        yearly = {k: max(0.0, float(registers.get(k, 0.0))) / years_of_use for k in self.KEYS}
        noise: dict = {}
        # walk back from the start: the value at a month start is the start register minus
        # what was used from that month start up to the start
        cur = dict((k, max(0.0, float(registers.get(k, 0.0)))) for k in self.KEYS)
        first = month_start(self.start_date)
        frac = (start - _dt.datetime.combine(first, _dt.time())).total_seconds() / \
            ((month_start(first, -1) - first).days * 86400.0)
        for back in range(0, months + 1):
            d = month_start(self.start_date, back)
            share = profile[d.month - 1]
            noise[d] = 1.0 + rng.uniform(-0.15, 0.15)
            part = noise[d] * (frac if back == 0 else 1.0)
            # volume flows all year (hot water, bypasses): half of it follows the season
            vshare = share if kind == "water" else 0.5 * share + 0.5 / 12
            for k in self.KEYS:
                cur[k] = max(0.0, cur[k] - yearly[k] * part * (vshare if k == "volume_m3" else share))
            self.values[d] = dict(cur)

    def observe(self, clock: _dt.datetime, registers: dict) -> None:
        """Store the registers for every month start passed (by the meter's clock) and not stored yet."""
        d = month_start(clock.date())
        while d > self.start_date and d not in self.values:
            self.values[d] = {k: float(registers.get(k, 0.0)) for k in self.KEYS}
            d = month_start(d, 1)
        # forget what is older than the meter keeps (plus the months of a clock set back)
        if len(self.values) > 4 * self.months:
            for old in sorted(self.values)[:len(self.values) - 4 * self.months]:
                del self.values[old]

    def stored(self, clock: _dt.datetime, registers: dict, storage: int) -> tuple[_dt.date, dict]:
        """The date and values of storage number ``storage`` (1: the latest month start)."""
        self.observe(clock, registers)
        d = month_start(clock.date(), storage - 1)
        vals = self.values.get(d)
        if vals is None:
            # before the made-up past (a clock set far back): the oldest values we have
            older = [k for k in self.values if k <= d]
            vals = self.values[max(older)] if older else {k: 0.0 for k in self.KEYS}
        # never above the current registers, whatever a clock write did
        return d, {k: min(v, float(registers.get(k, 0.0))) for k, v in vals.items()}
