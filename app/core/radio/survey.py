"""The connectivity survey of MMS 2.1.9: is every radio meter received reliably, and from where?

The technician names a location (floor, flat, riser), listens there for a set time, moves on. The survey
keeps every telegram heard at each location with its RSSI (:class:`Location`), and :func:`assess` judges
each meter at each location and overall (its best location):

* **RSSI margin.** The median RSSI of the meter's telegrams at the location minus the receiver's
  sensitivity in the radio mode (:mod:`drivers.receivers.sensitivity`) must be at least the *required
  margin*: ``margin_db`` (10 dB by default), or 1.28 times the standard deviation of the RSSI measured
  there when that is larger. Why: a fixed link's level still varies from telegram to telegram (people,
  doors, other radios); for a level that varies log-normally with standard deviation s, a median k*s
  above the sensitivity keeps a share Phi(k) of telegrams above it: 10 dB keeps 90 % (k = 1.28) for s up
  to 7.8 dB and 95 % (k = 1.645) for s up to 6 dB, the spread indoor 868 MHz links usually show; a
  location where the spread is measured larger asks for 1.28 s.
* **Heard vs expected.** At least ``min_ratio`` (80 %) of the telegrams the meter should have sent while
  the receiver listened there (listening time / send interval). Judged only once at least
  ``min_expected`` (5) telegrams were expected: a count over a short time is off by up to one telegram at
  either end, so 5 expected and none lost still scores 4/5 = 80 %. The send interval is estimated from
  the gaps between the meter's telegrams at each location (:func:`~app.core.radio.heard.estimate_interval`).

Verdicts: ``reliable`` (both hold; with an uncalibrated receiver, rtl-wmbus, the ratio alone, said so),
``marginal`` (heard, one fails: the reason says which), ``listen longer`` (heard, margin fine, too few
telegrams expected to judge the ratio), ``not heard``. A meter's overall verdict is the one at its best
location (reliable first, then the largest margin). Everything here is plain data: the register stores
it (:meth:`Survey.to_document`), the report shows it (:func:`csv_rows`).
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from statistics import median, pstdev

from app.core.radio.heard import estimate_interval
from app.core.radio.reception import Reception

__all__ = ["Location", "Survey", "SurveySettings", "MeterAtLocation", "MeterVerdict", "SurveyResult", "assess",
           "csv_rows", "CSV_COLUMNS", "MARGIN_DB", "MIN_RATIO", "MIN_EXPECTED", "SPREAD_FACTOR", "VERDICTS"]

MARGIN_DB = 10.0        # required median RSSI above the sensitivity (dB)
SPREAD_FACTOR = 1.28    # ... or this many standard deviations of the RSSI measured, when more
MIN_RATIO = 0.8         # telegrams heard / expected
MIN_EXPECTED = 5.0      # telegrams expected before the ratio is judged
VERDICTS = ("reliable", "marginal", "listen longer", "not heard")
_RANK = {v: i for i, v in enumerate(VERDICTS)}


@dataclass
class SurveySettings:
    dongle: str | None = None            # im871a, amb8465, rtl-wmbus, simulator
    mode: str = "t1"
    sensitivity_dbm: float | None = None
    margin_db: float = MARGIN_DB
    min_ratio: float = MIN_RATIO
    min_expected: float = MIN_EXPECTED

    def to_json(self) -> dict:
        return {"dongle": self.dongle, "mode": self.mode, "sensitivity_dbm": self.sensitivity_dbm,
                "margin_db": self.margin_db, "min_ratio": self.min_ratio, "min_expected": self.min_expected}


@dataclass
class Location:
    """Where the technician listened, and what was heard there."""

    name: str
    floor: str = ""
    flat: str = ""
    riser: str = ""
    note: str = ""
    started_at: _dt.datetime | None = None
    ended_at: _dt.datetime | None = None
    receptions: list[Reception] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    def label(self) -> str:
        parts = [self.name] + [f"{k} {v}" for k, v in (("floor", self.floor), ("flat", self.flat),
                                                       ("riser", self.riser)) if v]
        return ", ".join(p for p in parts if p)


@dataclass
class Survey:
    site: str
    name: str = ""
    technician: str = ""
    notes: str = ""
    settings: SurveySettings = field(default_factory=SurveySettings)
    locations: list[Location] = field(default_factory=list)

    @property
    def started_at(self) -> _dt.datetime | None:
        times = [loc.started_at for loc in self.locations if loc.started_at]
        return min(times) if times else None

    @property
    def ended_at(self) -> _dt.datetime | None:
        times = [loc.ended_at for loc in self.locations if loc.ended_at]
        return max(times) if times else None

    # -- the register's form -------------------------------------------------------------
    def to_document(self) -> dict:
        """Plain data for the register (``Register.save_survey``): settings, locations, telegrams."""
        return {"site": self.site, "name": self.name, "technician": self.technician, "notes": self.notes,
                "settings": self.settings.to_json(),
                "locations": [{"name": loc.name, "floor": loc.floor, "flat": loc.flat, "riser": loc.riser,
                               "note": loc.note, "started_at": loc.started_at, "ended_at": loc.ended_at,
                               "telegrams": [_telegram_doc(r) for r in loc.receptions]}
                              for loc in self.locations]}

    @classmethod
    def from_document(cls, doc: dict) -> Survey:
        st = doc.get("settings") or {}
        settings = SurveySettings(**{k: st[k] for k in SurveySettings.__dataclass_fields__ if k in st})
        locs = [Location(d["name"], d.get("floor") or "", d.get("flat") or "", d.get("riser") or "",
                         d.get("note") or "", _aware(d.get("started_at")), _aware(d.get("ended_at")),
                         [_reception(t) for t in d.get("telegrams") or ()]) for d in doc.get("locations") or ()]
        return cls(doc["site"], doc.get("name") or "", doc.get("technician") or "", doc.get("notes") or "",
                   settings, locs)


def _aware(v):
    if isinstance(v, str):
        v = _dt.datetime.fromisoformat(v)
    if isinstance(v, _dt.datetime) and v.tzinfo is None:
        v = v.replace(tzinfo=_dt.timezone.utc)
    return v


def _telegram_doc(r: Reception) -> dict:
    return {"received_at": r.received_at, "raw": r.raw, "crc": r.crc, "rssi_dbm": r.rssi_dbm, "rssi_raw": r.rssi_raw,
            "mode": r.mode, "manufacturer": r.manufacturer, "identification": r.identification,
            "version": r.version, "medium": r.medium, "security": None if r.security is None else str(r.security),
            "status": r.status}


def _reception(d: dict) -> Reception:
    man, ident = d.get("manufacturer"), d.get("identification")
    sec = d.get("security")
    if isinstance(sec, str) and sec.isdigit():
        sec = int(sec)
    return Reception(_aware(d["received_at"]), bytes(d["raw"]), d.get("crc") or "none", d.get("rssi_dbm"),
                     d.get("rssi_raw"), d.get("mode"), f"{man} {ident}" if ident else None, man, ident,
                     d.get("version"), d.get("medium"), sec, d.get("status") or "plain")


# -- judging ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MeterAtLocation:
    meter: str
    location: int                      # index into Survey.locations
    telegrams: int
    rssi_min_dbm: float | None
    rssi_median_dbm: float | None
    rssi_max_dbm: float | None
    rssi_sd_db: float | None
    interval_s: float | None
    expected: float | None
    ratio: float | None
    margin_db: float | None            # median RSSI - sensitivity
    required_margin_db: float | None
    verdict: str
    reason: str


@dataclass(frozen=True)
class MeterVerdict:
    meter: str
    manufacturer: str | None
    identification: str | None
    medium: str | None
    status: str                        # key status of its last telegram (plain, decrypted, no key ...)
    interval_s: float | None
    best: MeterAtLocation | None       # None: heard nowhere
    at: tuple[MeterAtLocation, ...]    # one per location, in survey order

    @property
    def verdict(self) -> str:
        return self.best.verdict if self.best is not None else "not heard"


@dataclass(frozen=True)
class SurveyResult:
    survey: Survey
    meters: tuple[MeterVerdict, ...]   # by meter key

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in VERDICTS}
        for m in self.meters:
            out[m.verdict] += 1
        return out

    def location_counts(self, index: int) -> dict[str, int]:
        out = {v: 0 for v in VERDICTS}
        for m in self.meters:
            out[m.at[index].verdict] += 1
        return out


def _judge(meter: str, index: int, loc: Location, recs: list[Reception], interval: float | None,
           st: SurveySettings) -> MeterAtLocation:
    if not recs:
        return MeterAtLocation(meter, index, 0, None, None, None, None, interval, None, None, None, None,
                               "not heard", "no telegram heard here")
    rssi = sorted(float(r.rssi_dbm) for r in recs if r.rssi_dbm is not None)
    lo = med = hi = sd = margin = required = None
    if rssi:
        lo, med, hi = rssi[0], median(rssi), rssi[-1]
        sd = pstdev(rssi) if len(rssi) >= 3 else None
    expected = ratio = None
    if interval and loc.duration_s > 0:
        expected = loc.duration_s / interval
        ratio = min(1.0, len(recs) / expected) if expected > 0 else None
    reasons = []
    ok_rssi: bool | None = None
    if med is not None and st.sensitivity_dbm is not None:
        margin = med - st.sensitivity_dbm
        required = max(st.margin_db, SPREAD_FACTOR * sd) if sd is not None else st.margin_db
        ok_rssi = margin >= required
        if not ok_rssi:
            reasons.append(f"median RSSI {med:.1f} dBm is {margin:.1f} dB above the sensitivity, "
                           f"{required:.1f} dB needed")
    judged = expected is not None and expected >= st.min_expected
    ok_ratio: bool | None = None
    if judged:
        ok_ratio = ratio >= st.min_ratio
        if not ok_ratio:
            reasons.append(f"heard {len(recs)} of {expected:.1f} expected ({ratio:.0%}, "
                           f"{st.min_ratio:.0%} needed)")
    if ok_rssi is False or ok_ratio is False:
        verdict = "marginal"
    elif not judged:
        verdict = "listen longer"
        why = "send interval not known yet" if interval is None else \
            f"{expected:.1f} telegrams expected in {loc.duration_s:.0f} s, {st.min_expected:g} needed to judge"
        reasons.append(why)
    else:
        verdict = "reliable"
        if ok_rssi is None:
            reasons.append("judged by telegrams heard only (RSSI not in dBm)" if med is None else
                           "judged by telegrams heard only (sensitivity not known)")
    return MeterAtLocation(meter, index, len(recs), lo, med, hi, sd, interval, expected, ratio, margin, required,
                           verdict, "; ".join(reasons))


def _better(a: MeterAtLocation, b: MeterAtLocation) -> bool:
    """True when ``a`` is a better place for the meter than ``b``."""
    ka = (-_RANK[a.verdict], a.margin_db if a.margin_db is not None else -math.inf, a.ratio or 0.0, a.telegrams)
    kb = (-_RANK[b.verdict], b.margin_db if b.margin_db is not None else -math.inf, b.ratio or 0.0, b.telegrams)
    return ka > kb


def assess(survey: Survey, expected_meters=()) -> SurveyResult:
    """Judge every meter heard (and every meter of ``expected_meters``, "FLAG id" keys, heard or not)."""
    st = survey.settings
    by_meter: dict[str, list[list[Reception]]] = {}
    info: dict[str, Reception] = {}
    n = len(survey.locations)
    for m in expected_meters:
        by_meter.setdefault(m, [[] for _ in range(n)])
    for i, loc in enumerate(survey.locations):
        for r in loc.receptions:
            if r.meter is None:
                continue
            by_meter.setdefault(r.meter, [[] for _ in range(n)])[i].append(r)
            if r.ok or r.meter not in info:
                info[r.meter] = r
    out = []
    for meter in sorted(by_meter):
        per_loc = by_meter[meter]
        gaps = []
        for recs in per_loc:
            times = sorted(r.received_at for r in recs)
            gaps += [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        interval = estimate_interval(gaps)
        at = tuple(_judge(meter, i, survey.locations[i], recs, interval, st) for i, recs in enumerate(per_loc))
        best = None
        for a in at:
            if a.telegrams and (best is None or _better(a, best)):
                best = a
        r = info.get(meter)
        man, _, ident = meter.partition(" ")
        out.append(MeterVerdict(meter, r.manufacturer if r else man, r.identification if r else ident,
                                r.medium if r else None, r.status if r else "", interval, best, at))
    return SurveyResult(survey, tuple(out))


CSV_COLUMNS = ("site", "survey", "location", "floor", "flat", "riser", "listened_from", "listened_s", "meter",
               "manufacturer", "identification", "medium", "key_status", "telegrams", "interval_s", "expected",
               "heard_ratio", "rssi_min_dbm", "rssi_median_dbm", "rssi_max_dbm", "rssi_sd_db", "sensitivity_dbm",
               "margin_db", "required_margin_db", "verdict", "reason", "best_location", "overall_verdict")


def _num(v, digits: int = 1):
    return None if v is None else round(float(v), digits)


def csv_rows(result: SurveyResult) -> list[dict]:
    """One row per meter and location (the survey's CSV), numbers rounded as shown in the report."""
    s = result.survey
    rows = []
    for m in result.meters:
        for a in m.at:
            loc = s.locations[a.location]
            rows.append({
                "site": s.site, "survey": s.name, "location": loc.name, "floor": loc.floor, "flat": loc.flat,
                "riser": loc.riser, "listened_from": loc.started_at.isoformat(timespec="seconds")
                if loc.started_at else None, "listened_s": _num(loc.duration_s, 0), "meter": m.meter,
                "manufacturer": m.manufacturer, "identification": m.identification, "medium": m.medium,
                "key_status": m.status, "telegrams": a.telegrams, "interval_s": _num(a.interval_s),
                "expected": _num(a.expected), "heard_ratio": _num(a.ratio, 2), "rssi_min_dbm": _num(a.rssi_min_dbm),
                "rssi_median_dbm": _num(a.rssi_median_dbm), "rssi_max_dbm": _num(a.rssi_max_dbm),
                "rssi_sd_db": _num(a.rssi_sd_db), "sensitivity_dbm": s.settings.sensitivity_dbm,
                "margin_db": _num(a.margin_db), "required_margin_db": _num(a.required_margin_db),
                "verdict": a.verdict, "reason": a.reason,
                "best_location": "yes" if m.best is not None and m.best.location == a.location else "",
                "overall_verdict": m.verdict})
    return rows


def _cell(v) -> str:
    """A CSV cell that no spreadsheet runs as a formula: text starting with = + - @ (or a tab / carriage
    return) gets a leading apostrophe; numbers stay numbers."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    s = str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def write_csv(path: str, result: SurveyResult) -> int:
    """The survey as CSV (UTF-8 with BOM, one row per meter and location); returns the row count.

    Every cell goes through one function (:func:`_cell`), so that text from a telegram or a location name
    can never become a live spreadsheet formula."""
    import csv

    rows = csv_rows(result)
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in CSV_COLUMNS])
    return len(rows)


__all__ += ["write_csv"]
