"""Sampling lots (MMS 1.3.3-1.3.5): formation, reproducible draw, results, verdict.

Pure functions over plain dataclasses; the register (database) layer feeds
them and stores what they return.

Lot formation (maintenance spec; MMS sets no rule): by default meters of the
same manufacturer, model (type approval), qp and install calendar year form a
lot. Meters with an unknown install date, re-installed after repair, or
missing a key field are listed apart, never pooled.

The draw (documented in docs/metrology.md, "Reproducible draw") uses only
``random.Random(seed).random()``, whose sequence Python guarantees across
versions: members sorted by id as text, then a partial Fisher-Yates shuffle.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, NamedTuple, Sequence

from app.core.errors import InputError
from app.core.lot_keys import ModelAliases, make_key
from app.core.sampling import SamplingPlan, sampling_plan

#: Default lot key of the maintenance spec.
DEFAULT_LOT_KEY: tuple[str, ...] = ("manufacturer", "model", "qp_m3h", "install_year")
#: Fields a lot key may use.
LOT_KEY_FIELDS: tuple[str, ...] = ("manufacturer", "model", "qp_m3h", "install_year", "site", "accuracy_class")
DRAW_ALGORITHM = "heatmeter-draw-1: ids sorted as text; random.Random(seed); for i < k: j = i + int(random() * (N - i)); swap"
#: MMS 1.3.3 sampling rounds (years after installation) and the age a passing lot may reach.
RETAIN_AFTER_PASS = {9: 14, 13: 18}
DEADLINE_WITHOUT_PASS = {9: 10, 13: 14}


class MeterInfo(NamedTuple):
    """What planning needs to know of one meter of the register.

    Immutable. A NamedTuple rather than a frozen dataclass: the register builds
    100,000 of these per schedule, and a tuple is built about 6x faster. Change
    a field with ``m._replace(...)``.
    """

    id: str
    manufacturer: str | None = None
    model: str | None = None
    qp_m3h: float | None = None
    install_date: date | None = None
    install_year_only: bool = False       # only the year is known (MMS 1.2.8); the date is 1 January
    reinstalled_after_repair: bool = False
    site: str | None = None
    serial: str | None = None
    accuracy_class: int | None = None
    battery_powered: bool = False
    battery_date: date | None = None      # battery fitted (default: the install date)
    battery_life_years: float | None = None  # expected life (e.g. from calc battery)
    cycle_start_date: date | None = None  # last recalibration: restarts the 10-year clock
    battery_expiry: date | None = None    # expected battery end of life as recorded (wins over battery_life_years)
    mbus_manufacturer: str | None = None  # FLAG code of the make: lots compare makes by it
    restricted: bool = False              # processing restricted (MMS 2.2.5): scheduled, never drawn
    failed_recalibration_on: date | None = None  # latest recalibration failed (MMS 1.2.6): replace at once
    defective_on: date | None = None      # sampled, beyond the in-service limit, in a lot that passed (verdict date)
    at_lab: bool = False                  # drawn for a lot and sent to the lab, not back yet

    @property
    def install_year(self) -> int | None:
        return None if self.install_date is None else self.install_date.year


@dataclass(frozen=True, slots=True)
class Lot:
    key: tuple[tuple[str, object], ...]   # field -> value as shown (the commonest spelling of the members)
    members: tuple[str, ...]  # sorted by id as text
    # field -> every spelling the members had (manufacturer and model only), commonest first
    spellings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    norm_key: tuple[tuple[str, object], ...] = ()   # field -> the value compared (FLAG code, normalised model)

    @property
    def lot_id(self) -> str:
        return "|".join(f"{v:g}" if isinstance(v, float) else str(v) for _, v in self.key)

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def merged(self) -> dict[str, list[str]]:
        """The fields whose members were spelt more than one way, with the spellings."""
        return {f: list(v) for f, v in self.spellings if len(v) > 1}

    def plan(self, level: str = "II", aql: float = 4.0, inspection: str = "normal") -> SamplingPlan:
        return sampling_plan(self.size, level, aql, inspection)


@dataclass(frozen=True, slots=True)
class LotFormation:
    key_fields: tuple[str, ...]
    lots: tuple[Lot, ...]
    apart: tuple[tuple[str, str], ...]  # (meter id, reason), never pooled


def _sort_ids(ids: Iterable) -> list[str]:
    return sorted((str(i) for i in ids))


def _commonest(counts: dict[str, int]) -> tuple[str, ...]:
    return tuple(sorted(counts, key=lambda s: (-counts[s], s)))


def form_lots(meters: Iterable[MeterInfo], key: Sequence[str] = DEFAULT_LOT_KEY,
              aliases: ModelAliases | None = None) -> LotFormation:
    """Group meters into lots by ``key``; meters that cannot be pooled are listed apart with the reason.

    The manufacturer compares by its FLAG code (``mbus_manufacturer``, else the
    make without case, punctuation and company form), the model after
    normalisation and through ``aliases`` (``app.core.lot_keys``). Each lot is
    shown with the commonest spelling of its members and lists every spelling
    it merged.
    """
    key = tuple(key)
    if not key:
        raise InputError("key", "a lot key needs at least one field")
    for f in key:
        if f not in LOT_KEY_FIELDS:
            raise InputError("key", f"{f!r} is not a lot key field ({', '.join(LOT_KEY_FIELDS)})")
    aliases = aliases if aliases is not None else ModelAliases()
    groups: dict[tuple, list[str]] = {}
    shown: dict[tuple, dict[str, dict[str, int]]] = {}
    written: dict[tuple, dict[str, dict[str, int]]] = {}
    apart: list[tuple[str, str]] = []
    canon_cache: dict[tuple[str, str], tuple[str, str | None]] = {}
    make_cache: dict[tuple, str] = {}
    # (key, shown values, make as written, model as written) -> meters: counted once per combination
    tally: dict[tuple, int] = {}
    for m in meters:
        mid = str(m.id)
        if m.install_date is None:
            apart.append((mid, "install_date_unknown"))
            continue
        if m.reinstalled_after_repair:
            apart.append((mid, "reinstalled_after_repair"))
            continue
        values = []
        show = []
        mkk = (m.manufacturer, m.mbus_manufacturer)
        mk = make_cache.get(mkk)
        if mk is None:
            mk = make_cache[mkk] = make_key(*mkk) if m.manufacturer or m.mbus_manufacturer else ""
        for f in key:
            if f == "install_year":
                v = sv = m.install_date.year
            elif f == "manufacturer":
                v, sv = (mk or None), m.manufacturer
            elif f == "model":
                if not m.model or not m.model.strip():
                    v = sv = None
                else:
                    ck = (mk, m.model)
                    c = canon_cache.get(ck)
                    if c is None:
                        c = canon_cache[ck] = aliases.canonical(mk, m.model)
                    v, sv = (c[0] or None), (c[1] or m.model)
            else:
                v = sv = getattr(m, f)
            if v is None or v == "":
                break
            values.append(v)
            show.append(sv)
        else:
            k = tuple(values)
            g = groups.get(k)
            if g is None:
                g = groups[k] = []
            g.append(mid)
            t = (k, tuple(show), m.manufacturer, m.model)
            tally[t] = tally.get(t, 0) + 1
            continue
        apart.append((mid, f"{f}_unknown"))
    for (k, show, man, model), n in tally.items():
        sh = shown.setdefault(k, {})
        wr = written.setdefault(k, {})
        for f, sv in zip(key, show):
            d = sh.setdefault(f, {})
            d[sv] = d.get(sv, 0) + n
        for f, w in (("manufacturer", man), ("model", model)):
            if f in key and w:
                d = wr.setdefault(f, {})
                d[w] = d.get(w, 0) + n
    lots = []
    for k, v in groups.items():
        disp = tuple((f, _commonest(shown[k][f])[0]) for f in key)
        spell = tuple((f, _commonest(written[k][f])) for f in ("manufacturer", "model") if f in written[k])
        lots.append(Lot(key=disp, members=tuple(sorted(v)), spellings=spell, norm_key=tuple(zip(key, k))))
    lots.sort(key=lambda lot: tuple(str(v) for _, v in lot.key))
    apart.sort()
    return LotFormation(key_fields=key, lots=tuple(lots), apart=tuple(apart))


# ----------------------------------------------------------------------------- draw

def default_spares(sample_size: int, lot_size: int) -> int:
    """Spares drawn beside the sample for meters found inaccessible: a quarter of n, at least 2, within the lot."""
    return max(0, min(lot_size - sample_size, max(2, math.ceil(sample_size / 4))))


@dataclass(frozen=True, slots=True)
class Draw:
    seed: int
    members: tuple[str, ...]
    sample: tuple[str, ...]
    spares: tuple[str, ...]
    algorithm: str = DRAW_ALGORITHM


def draw_sample(members: Iterable, sample_size: int, seed: int, spares: int | None = None) -> Draw:
    """Reproducible random draw of ``sample_size`` meters plus ``spares`` (same seed and members → same meters)."""
    pool = _sort_ids(members)
    if len(set(pool)) != len(pool):
        raise InputError("members", "meter ids are not unique")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError("seed", f"must be an integer, not {seed!r}")
    if sample_size < 1:
        raise InputError("sample_size", "must be at least 1")
    n = min(sample_size, len(pool))
    s = default_spares(n, len(pool)) if spares is None else min(max(0, spares), len(pool) - n)
    k = n + s
    rng = random.Random(seed)
    order = list(pool)
    size = len(order)
    for i in range(k):
        j = i + int(rng.random() * (size - i))
        order[i], order[j] = order[j], order[i]
    return Draw(seed=seed, members=tuple(pool), sample=tuple(order[:n]), spares=tuple(order[n:k]))


# ----------------------------------------------------------------------------- results and verdict

@dataclass(frozen=True, slots=True)
class MeterTestResult:
    """The test result of one drawn meter: defective or not, and why."""

    meter_id: str
    defective: bool | None          # None: not tested (inaccessible)
    basis: str                      # calibration_points | single_error | inaccessible
    worst_error_pct: float | None = None
    limit_pct: float | None = None


def result_from_single_error(meter_id: str, error_pct: float, mpe_initial_pct: float) -> MeterTestResult:
    """MMS 1.3.5: defective when |error| exceeds twice the initial-verification MPE (equality passes)."""
    if not mpe_initial_pct > 0:
        raise InputError("mpe_initial_pct", "must be positive")
    limit = 2.0 * mpe_initial_pct
    return MeterTestResult(str(meter_id), abs(error_pct) > limit, "single_error", error_pct, limit)


def result_from_calibration(meter_id: str, subassembly: str, spec, points, **kw) -> MeterTestResult:
    """Defective when the in-service verdict of the calibration calculator is ``fail``."""
    from app.core.metrology import evaluate_calibration

    res = evaluate_calibration(subassembly, spec, points, **kw)
    worst = max(points, key=lambda p: abs(p.error_pct)).error_pct
    return MeterTestResult(str(meter_id), res.in_service_verdict == "fail", "calibration_points", worst, None)


def inaccessible(meter_id: str) -> MeterTestResult:
    return MeterTestResult(str(meter_id), None, "inaccessible")


@dataclass(frozen=True, slots=True)
class LotVerdict:
    verdict: str                 # pass | fail | incomplete
    sampling_round: int          # 9 or 13 (years after installation)
    sample_size: int
    tested: int
    defectives: int
    acceptance_number: int
    rejection_number: int
    counted: tuple[str, ...]     # meters whose results were counted, in draw order
    retain_until_years: int | None   # age the lot may reach (14 or 18) when it passes
    replace_by_years: int | None     # age by which a failed lot must be recalibrated or replaced (10 or 14)
    replacement_list: tuple[str, ...] = field(default=())
    decided_on: date | None = None

    @property
    def action(self) -> str:
        if self.verdict == "pass":
            return f"retain_until_{self.retain_until_years}_years"
        if self.verdict == "fail":
            return f"recalibrate_or_replace_by_{self.replace_by_years}_years"
        return "complete_the_sample"


def lot_verdict(plan: SamplingPlan, draw: Draw, results: Iterable[MeterTestResult], sampling_round: int = 9,
                decided_on: date | None = None) -> LotVerdict:
    """Verdict per MMS 1.3.5: the lot passes when defectives ≤ Ac among n tested meters.

    Results are taken in draw order (sample, then spares standing in for
    inaccessible meters) until n meters are tested. Fewer than n tested: the
    verdict is ``fail`` if the defectives already reach Re, else ``incomplete``.
    A failed lot's members all go on the replacement list.
    """
    if sampling_round not in RETAIN_AFTER_PASS:
        raise InputError("sampling_round", "must be 9 or 13 (years after installation, MMS 1.3.3)")
    drawn = draw.sample + draw.spares
    by_id: dict[str, MeterTestResult] = {}
    for r in results:
        if r.meter_id not in drawn:
            raise InputError("results", f"meter {r.meter_id} was not drawn for this lot")
        by_id[r.meter_id] = r
    n = plan.sample_size
    counted: list[str] = []
    defectives = 0
    for mid in drawn:
        if len(counted) >= n:
            break
        r = by_id.get(mid)
        if r is None or r.defective is None:
            continue
        counted.append(mid)
        defectives += bool(r.defective)
    ac, re_ = plan.acceptance_number, plan.rejection_number
    if len(counted) >= n:
        verdict = "pass" if defectives <= ac else "fail"
    else:
        verdict = "fail" if defectives >= re_ else "incomplete"
    return LotVerdict(
        verdict=verdict, sampling_round=sampling_round, sample_size=n, tested=len(counted),
        defectives=defectives, acceptance_number=ac, rejection_number=re_, counted=tuple(counted),
        retain_until_years=RETAIN_AFTER_PASS[sampling_round] if verdict == "pass" else None,
        replace_by_years=DEADLINE_WITHOUT_PASS[sampling_round] if verdict == "fail" else None,
        replacement_list=draw.members if verdict == "fail" else (),
        decided_on=decided_on,
    )
