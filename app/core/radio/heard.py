"""The meters a receiver hears: per meter the telegrams, RSSI now/min/median, heard vs expected.

:class:`HeardTable` takes :class:`~app.core.radio.reception.Reception` s one by one (cheap: a few
microseconds each) and keeps per meter a :class:`HeardMeter`: counts, RSSI statistics (the median over
every telegram, kept in a sorted list), the send interval estimated from the gaps between telegrams, the
key status of the last telegram, its current values, and the last ``max_log`` telegrams themselves.

Expected telegrams: a meter that sends every I seconds should have been heard about T / I times in T
seconds of listening. The interval is not announced in the telegram, so it is estimated from the gaps
(:func:`estimate_interval`): the gaps are multiples of the interval (a lost telegram makes a double gap),
so each gap is divided by its multiple of a short reference gap and the median is taken. It needs at
least three telegrams; meters send with a few per cent of jitter (EN 13757-4 asks for it against
collisions), which the rounding absorbs.

Nothing here knows about Qt or threads: the Radio page feeds it on the GUI thread, the survey in a worker.
"""
from __future__ import annotations

import bisect
import datetime as _dt
from collections import deque
from dataclasses import dataclass, field
from statistics import median

from app.core.radio.reception import Reception

__all__ = ["HeardMeter", "HeardTable", "estimate_interval", "MIN_GAPS"]

MIN_GAPS = 2            # gaps (three telegrams) before an interval is estimated
MAX_GAPS = 256          # gaps kept per meter for the estimate


def estimate_interval(gaps) -> float | None:
    """The send interval (s) behind these gaps between consecutive telegrams, or None with too few.

    Reference: the gap at the 20th percentile (a single interval unless most telegrams are lost); each
    gap divided by its whole multiple of the reference; the median of those."""
    g = sorted(x for x in gaps if x > 0)
    if len(g) < MIN_GAPS:
        return None
    ref = g[len(g) // 5]
    return median(x / max(1, round(x / ref)) for x in g)


@dataclass
class HeardMeter:
    """One meter heard. RSSI figures are dBm (None with an uncalibrated receiver: ``rssi_raw_last``)."""

    key: str                                   # "KAM 12345678"
    manufacturer: str | None
    identification: str | None
    version: int | None = None
    medium: str | None = None
    make: str = ""
    count: int = 0                             # telegrams heard (decoded or not)
    errors: int = 0                            # telegrams that did not decode
    first_at: _dt.datetime | None = None
    last_at: _dt.datetime | None = None
    rssi_now: float | None = None
    rssi_min: float | None = None
    rssi_max: float | None = None
    rssi_median: float | None = None
    rssi_raw_last: int | None = None
    status: str = ""                           # key status of the last telegram (Reception.status)
    security: int | str | None = None
    detail: str = ""
    values: tuple = ()                         # the last current values decoded
    modes: set = field(default_factory=set)
    link: str | None = None
    log: deque = field(default_factory=deque)  # the last telegrams (Reception), oldest first
    _rssi: list = field(default_factory=list, repr=False)
    _gaps: deque = field(default_factory=lambda: deque(maxlen=MAX_GAPS), repr=False)
    _interval: float | None = field(default=None, repr=False)
    _dirty: bool = field(default=False, repr=False)

    @property
    def interval_s(self) -> float | None:
        """The estimated send interval (s), None before three telegrams."""
        if self._dirty:
            self._interval = estimate_interval(self._gaps)
            self._dirty = False
        return self._interval

    def expected(self, since: _dt.datetime | None, now: _dt.datetime | None) -> float | None:
        """Telegrams expected between ``since`` (listening began) and ``now`` at the estimated interval."""
        iv = self.interval_s
        if iv is None or since is None or now is None:
            return None
        return max((now - since).total_seconds(), 0.0) / iv

    def ratio(self, since: _dt.datetime | None, now: _dt.datetime | None) -> float | None:
        """Heard / expected, at most 1 (a boundary telegram can make it slightly more)."""
        exp = self.expected(since, now)
        if not exp:
            return None
        return min(1.0, self.count / exp)

    def rssi_values(self) -> list[float]:
        """Every RSSI heard (dBm), sorted."""
        return list(self._rssi)

    def add(self, rec: Reception, max_log: int) -> None:
        if self.last_at is not None:
            gap = (rec.received_at - self.last_at).total_seconds()
            if gap > 0:
                self._gaps.append(gap)
                self._dirty = True
        if self.first_at is None:
            self.first_at = rec.received_at
        self.last_at = rec.received_at
        self.count += 1
        if rec.mode:
            self.modes.add(rec.mode)
        if rec.rssi_dbm is not None:
            v = float(rec.rssi_dbm)
            self.rssi_now = v
            self.rssi_min = v if self.rssi_min is None else min(self.rssi_min, v)
            self.rssi_max = v if self.rssi_max is None else max(self.rssi_max, v)
            bisect.insort(self._rssi, v)
            n = len(self._rssi)
            self.rssi_median = self._rssi[n // 2] if n % 2 else (self._rssi[n // 2 - 1] + self._rssi[n // 2]) / 2
        self.rssi_raw_last = rec.rssi_raw
        if rec.ok:
            self.status, self.security, self.detail = rec.status, rec.security, rec.detail
            if rec.values:
                self.values = rec.values
            if rec.version is not None:
                self.version = rec.version
            if rec.medium:
                self.medium = rec.medium
            if rec.link:
                self.link = rec.link
        else:
            self.errors += 1
            if not self.status or rec.status == "wrong key":
                self.status, self.detail = rec.status, rec.detail
        self.log.append(rec)
        while len(self.log) > max_log:
            self.log.popleft()


class HeardTable:
    """Every meter heard since :meth:`start` (or :meth:`clear`). ``add(rec)`` returns ``(meter, new)``."""

    def __init__(self, *, max_log: int = 2000, make_name=None) -> None:
        self.max_log = max_log
        self.meters: dict[str, HeardMeter] = {}
        self.order: list[str] = []             # keys in the order first heard (row order of a table)
        self.started_at: _dt.datetime | None = None
        self.now: _dt.datetime | None = None
        self.total = 0
        self.errors = 0
        self.unnamed = 0                       # telegrams too broken to name a meter
        if make_name is None:
            from drivers.makes import make_name
        self._make_name = make_name

    def start(self, at: _dt.datetime) -> None:
        """Listening begins (again) at ``at``: counts go on, expected telegrams count from here."""
        if self.started_at is None:
            self.started_at = at
        self.now = at

    def clear(self) -> None:
        self.meters.clear()
        self.order.clear()
        self.started_at = self.now = None
        self.total = self.errors = self.unnamed = 0

    def tick(self, now: _dt.datetime) -> None:
        """The receiver's clock moved on (expected telegrams grow while nothing is heard)."""
        if self.now is None or now > self.now:
            self.now = now

    def add(self, rec: Reception) -> tuple[HeardMeter | None, bool]:
        self.total += 1
        if not rec.ok:
            self.errors += 1
        if self.started_at is None:
            self.started_at = rec.received_at
        self.tick(rec.received_at)
        if rec.meter is None:
            self.unnamed += 1
            return None, False
        m = self.meters.get(rec.meter)
        new = m is None
        if new:
            make = ""
            if self._make_name is not None and rec.manufacturer:
                make = self._make_name(rec.manufacturer) or ""
            m = HeardMeter(rec.meter, rec.manufacturer, rec.identification, rec.version, rec.medium,
                           make or rec.manufacturer or "")
            self.meters[rec.meter] = m
            self.order.append(rec.meter)
        m.add(rec, self.max_log)
        return m, new

    def __len__(self) -> int:
        return len(self.order)

    def meter_at(self, row: int) -> HeardMeter:
        return self.meters[self.order[row]]
