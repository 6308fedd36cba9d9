"""Meter sizing for the real load (MMS 1.1.7) and the built-in meter catalogue."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from app.core.errors import InputError
from app.core.water import DEFAULT_PRESSURE_MPA, heat_coefficient_kj_m3k


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    qp_m3h: float
    ratio: float
    dn: int
    dp_at_qp_bar: float | None = None
    manufacturer: str | None = None
    family: str | None = None
    source: str | None = None

    @property
    def qi_m3h(self) -> float:
        return self.qp_m3h / self.ratio


@lru_cache(maxsize=2)
def builtin_catalogue(include_moving_parts: bool = False) -> tuple[CatalogueEntry, ...]:
    """The catalogue shipped in ``resources/meter_catalogue.csv``.

    Meters with moving parts (mechanical single- or multi-jet) are left out
    unless asked for: MMS 1.1.11 excludes them from heat networks.
    """
    import resources

    with open(resources.path("meter_catalogue.csv"), newline="", encoding="utf-8") as fh:
        return tuple(
            CatalogueEntry(qp_m3h=float(r["qp_m3h"]), ratio=float(r["ratio"]), dn=int(r["dn"]),
                           dp_at_qp_bar=float(r["dp_at_qp_bar"]) if r["dp_at_qp_bar"] else None,
                           manufacturer=r["manufacturer"], family=r["family"], source=r["source"])
            for r in csv.DictReader(fh)
            if include_moving_parts or not r["technology"].startswith("mechanical")
        )


def flow_m3h(power_kw: float, flow_temp_c: float, return_temp_c: float, meter_position: str,
             application: str = "heating", p_mpa: float = DEFAULT_PRESSURE_MPA) -> float:
    """Volume flow at the meter for a thermal power: q = P·3600/(k·Δθ).

    The flow pipe is the hot one for heating and the cold one for cooling;
    k comes from IAPWS-IF97 with the density at the meter's pipe.
    """
    dtheta = abs(flow_temp_c - return_temp_c)
    hot, cold = max(flow_temp_c, return_temp_c), min(flow_temp_c, return_temp_c)
    if application == "heating":
        hot_is_flow = True
    else:
        hot_is_flow = False
    at_hot = (meter_position == "flow") == hot_is_flow
    k = heat_coefficient_kj_m3k(hot, cold, "flow" if at_hot else "return", p_mpa)
    return power_kw * 3600.0 / (k * dtheta)


@dataclass(frozen=True, slots=True)
class SizingResult:
    q_max_m3h: float
    q_min_m3h: float
    chosen: CatalogueEntry | None
    reasons: tuple[str, ...]
    rejected_smaller: tuple[tuple[CatalogueEntry, tuple[str, ...]], ...]
    fallback_qp_m3h: float | None
    dp_at_q_max_bar: float | None
    needs_reducer: bool | None

    @property
    def turndown_needed(self) -> float:
        return self.q_max_m3h / self.q_min_m3h

    def rejected_ranges(self) -> list[dict]:
        """The smaller ranges passed over, once per (qp, ratio, reasons) with the meter families that
        offer it (a catalogue lists one range for several makes and pipe sizes)."""
        out: dict[tuple, dict] = {}
        for e, why in self.rejected_smaller:
            g = out.setdefault((e.qp_m3h, e.ratio, why),
                               {"qp_m3h": e.qp_m3h, "ratio": e.ratio, "reasons": list(why), "families": []})
            name = " ".join(x for x in (e.manufacturer, e.family) if x)
            if name and name not in g["families"]:
                g["families"].append(name)
        return list(out.values())

    def as_dict(self, max_dp_given: bool, pipe_dn_given: bool) -> dict:
        c = self.chosen
        out: dict = {
            "q_max_m3h": self.q_max_m3h,
            "q_min_m3h": self.q_min_m3h,
            "turndown_needed": self.turndown_needed,
            "chosen": None if c is None else {"qp_m3h": c.qp_m3h, "ratio": c.ratio, "qi_m3h": c.qi_m3h, "dn": c.dn},
            "reasons": list(self.reasons),
            "rejected_smaller": self.rejected_ranges(),
        }
        if c is None:
            out["fallback_qp_m3h"] = self.fallback_qp_m3h
        if c is not None and c.manufacturer:
            out["chosen_family"] = {"manufacturer": c.manufacturer, "family": c.family, "source": c.source}
        if max_dp_given and c is not None:
            out["dp_at_q_max_bar"] = self.dp_at_q_max_bar
        if pipe_dn_given:
            out["needs_reducer"] = self.needs_reducer
        return out


def turndown_text(ratio: float) -> str:
    """A turndown as people write it: ``1:7.4`` for 7.44, one decimal below 100 (``1:20`` when it is
    whole), whole numbers from 100 (``1:250``)."""
    t = f"{ratio:.1f}" if ratio < 99.95 else f"{ratio:.0f}"
    return f"1:{t[:-2] if t.endswith('.0') else t}"


def select_meter(q_max_m3h: float, q_min_m3h: float, catalogue: list[CatalogueEntry] | tuple[CatalogueEntry, ...],
                 max_dp_bar: float | None = None, pipe_dn: int | None = None) -> SizingResult:
    """First catalogue entry, sorted by (qp, ratio), with q_max ≤ qp, q_min ≥ qi and Δp(q_max) ≤ max_dp_bar.

    Δp(q) = Δp(qp)·(q/qp)². An entry without a pressure loss passes the Δp test
    (it cannot be checked) and then ``dp_at_q_max_bar`` is null.
    """
    if not catalogue:
        raise InputError("catalogue", "has no entries")
    entries = sorted(catalogue, key=lambda e: (e.qp_m3h, e.ratio))
    rejected: list[tuple[CatalogueEntry, tuple[str, ...]]] = []
    chosen = None
    for e in entries:
        why = []
        if q_max_m3h > e.qp_m3h:
            why.append("q_max_above_qp")
        if q_min_m3h < e.qi_m3h:
            why.append("q_min_below_qi")
        if max_dp_bar is not None and e.dp_at_qp_bar is not None:
            if e.dp_at_qp_bar * (q_max_m3h / e.qp_m3h) ** 2 > max_dp_bar:
                why.append("dp_above_limit")
        if not why:
            chosen = e
            break
        rejected.append((e, tuple(why)))
    if chosen is not None:
        reasons = ("covers_q_max_with_qp", "covers_q_min_with_qi")
        fallback = None
        dp = None
        if max_dp_bar is not None and chosen.dp_at_qp_bar is not None:
            dp = chosen.dp_at_qp_bar * (q_max_m3h / chosen.qp_m3h) ** 2
        reducer = None if pipe_dn is None else chosen.dn < pipe_dn
    else:
        largest = entries[-1].qp_m3h
        reasons = ("q_max_above_largest_qp",) if q_max_m3h > largest else ("no_meter_covers_q_min_and_q_max",)
        bigger = [e.qp_m3h for e in entries if e.qp_m3h >= q_max_m3h]
        fallback = min(bigger) if bigger else None
        dp = None
        reducer = None
    return SizingResult(q_max_m3h=q_max_m3h, q_min_m3h=q_min_m3h, chosen=chosen, reasons=reasons,
                        rejected_smaller=tuple(rejected), fallback_qp_m3h=fallback,
                        dp_at_q_max_bar=dp, needs_reducer=reducer)


def size_meter(application: str, design_power_kw: float, flow_temp_c: float, return_temp_c: float,
               min_power_kw: float, meter_position: str, catalogue=None,
               min_load_flow_temp_c: float | None = None, min_load_return_temp_c: float | None = None,
               pipe_dn: int | None = None, max_dp_bar: float | None = None) -> SizingResult:
    """Flows at design and minimum load, then the smallest catalogue meter that covers both."""
    if application not in ("heating", "cooling"):
        raise InputError("application", f"must be 'heating' or 'cooling', not {application!r}")
    if meter_position not in ("flow", "return"):
        raise InputError("meter_position", f"must be 'flow' or 'return', not {meter_position!r}")
    if not design_power_kw > 0:
        raise InputError("design_power_kw", "must be positive")
    if not min_power_kw > 0:
        raise InputError("min_power_kw", "must be positive")
    if min_power_kw > design_power_kw:
        raise InputError("min_power_kw", "is above design_power_kw")
    if max_dp_bar is not None and not max_dp_bar > 0:
        raise InputError("max_dp_bar", "must be positive")
    mf = flow_temp_c if min_load_flow_temp_c is None else min_load_flow_temp_c
    mr = return_temp_c if min_load_return_temp_c is None else min_load_return_temp_c
    for fk, rk, f, r in (("flow_temp_c", "return_temp_c", flow_temp_c, return_temp_c),
                         ("min_load_flow_temp_c", "min_load_return_temp_c", mf, mr)):
        if application == "heating" and not f > r:
            raise InputError(rk, f"heating needs the flow pipe hotter than the return ({f:g} °C vs {r:g} °C)")
        if application == "cooling" and not f < r:
            raise InputError(rk, f"cooling needs the flow pipe colder than the return ({f:g} °C vs {r:g} °C)")
    q_max = flow_m3h(design_power_kw, flow_temp_c, return_temp_c, meter_position, application)
    q_min = flow_m3h(min_power_kw, mf, mr, meter_position, application)
    cat = builtin_catalogue() if catalogue is None else catalogue
    return select_meter(q_max, q_min, cat, max_dp_bar=max_dp_bar, pipe_dn=pipe_dn)
