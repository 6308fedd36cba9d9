"""Cost-benefit of individual heat accounting: heat meters against heat cost allocators.

The method is the EN 15459 economic evaluation as applied to heat accounting
by Celenza, Dell'Isola, Ficco, Greco and Grimaldi, "Economic and technical
feasibility of metering and sub-metering systems for heat accounting" (§3,
equations 1-5), for one multi-apartment building:

    R_R     = (R - R_i) / (1 + R_i/100)                 real interest rate, %        (1)
    R_d(p)  = (1 / (1 + R_R/100))^p                      discount factor of year p    (2)
    f_pv(n) = (1 - (1 + R_R/100)^-n) / (R_R/100)         present value factor         (3)
    C_G(τ)  = C_I + Σ_j [Σ_i=1..τ C_a,i(j)·R_d(i) - V_f,τ(j)]   global cost           (4)
    a(n)    = 1 / f_pv(n)                                annuity factor               (5)

Capital and running costs are built per building, per apartment and per
heating element (radiator) as in the paper's Table 2. The benefit is the
expected saving EB (% of the energy cost) of an energy need EP_H (kWh/m² a
year) priced at T_e (€/kWh, e.g. a gas price over its gross heating value).
NPV(τ) = Σ_i (saving - C_a,i)·R_d(i) - C_I - replacements + final value
= saving·f_pv(τ) - C_G(τ).

Replacement and final value (EN 15459): a system whose lifetime L is shorter
than τ is bought again (its whole capital cost, in real terms) at L, 2L, …
before τ; the last one bought keeps the straight-line share of its cost that
is not used up at τ, discounted to year 0. With L = τ (the default, as in the
paper: τ = 10 years) there is neither.

Pure Python; ``app.core.calcjson`` reads the JSON contract
(docs/calc-costbenefit.md) into :func:`cost_benefit`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from app.core.errors import InputError

SYSTEMS = ("heat_meters", "heat_cost_allocators")
COST_FIELDS = ("capital_per_radiator", "capital_per_apartment", "capital_per_building",
               "running_per_radiator", "running_per_apartment", "running_per_building")
PRESETS = ("uk_2014", "germany_2013", "none")
#: Gross heating value of natural gas used by the paper (AEEGSI 2016), MJ/Sm³.
DEFAULT_GAS_GHV_MJ_SM3 = 38.52
DEFAULT_PERIOD_YEARS = 10
#: Discounted payback is searched this far (years) when it lies beyond the period.
PAYBACK_SEARCH_YEARS = 100


@dataclass(frozen=True)
class SystemCosts:
    """Unit costs of one accounting system (money per item, in the input's currency)."""

    capital_per_radiator: float = 0.0
    capital_per_apartment: float = 0.0
    capital_per_building: float = 0.0
    running_per_radiator: float = 0.0
    running_per_apartment: float = 0.0
    running_per_building: float = 0.0
    lifetime_years: float | None = None   # None: the calculation period (no replacement, no final value)

    def capex(self, n_apartments: int, radiators_per_apartment: float) -> float:
        return (self.capital_per_building + self.capital_per_apartment * n_apartments
                + self.capital_per_radiator * n_apartments * radiators_per_apartment)

    def opex(self, n_apartments: int, radiators_per_apartment: float) -> float:
        return (self.running_per_building + self.running_per_apartment * n_apartments
                + self.running_per_radiator * n_apartments * radiators_per_apartment)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in COST_FIELDS}
        out["lifetime_years"] = self.lifetime_years
        return out


# ----------------------------------------------------------------------------- cost presets

def uk_building_cost(n_apartments: int) -> float:
    """Per-building cost of the UK data (paper, Table 2, note 2), by number of apartments.

    The note's bands (≤ 8; 9 < N < 32; 33 < N < 64; > 65) leave gaps at 9, 32,
    64 and 65; they are read as ≤ 8, 9-32, 33-64, ≥ 65.
    """
    if n_apartments <= 8:
        return 837.95
    if n_apartments <= 32:
        return 1031.33
    if n_apartments <= 64:
        return 1224.70
    return 2578.32


def preset_costs(preset: str, n_apartments: int) -> dict[str, SystemCosts]:
    """Unit costs of the paper's Table 2 (in euro).

    ``uk_2014`` (Olloqui and Duckworth 2014, DECC viability test tool): a heat
    meter €257.83 plus €77.35 installation per apartment, a heat cost
    allocator €51.57 per radiator, a thermostatic valve €64.46 per radiator for
    both systems, the per-building cost of :func:`uk_building_cost` for both,
    running €90.24 per apartment a year for both. For 12 apartments of 5
    radiators this gives the paper's Table 6 (CAPEX €8,920.97 and €7,992.78,
    OPEX €1,082.89) to within €0.35, the rounding of the currency conversion.

    ``germany_2013`` (Felsmann and Schmidt 2013; no thermostatic valves): heat
    meter €314 per apartment + €21 per building, running €23.80 per apartment
    + €67.50 per building; allocator €39 per radiator + €126 per building,
    running €5.20 per radiator + €75.10 per building.

    ``none``: every cost 0 (give them all in ``costs``).
    """
    if preset == "uk_2014":
        building = uk_building_cost(n_apartments)
        trv = 64.46
        return {
            "heat_meters": SystemCosts(capital_per_radiator=trv, capital_per_apartment=257.83 + 77.35,
                                       capital_per_building=building, running_per_apartment=90.24),
            "heat_cost_allocators": SystemCosts(capital_per_radiator=51.57 + trv, capital_per_building=building,
                                                running_per_apartment=90.24),
        }
    if preset == "germany_2013":
        return {
            "heat_meters": SystemCosts(capital_per_apartment=314.0, capital_per_building=21.0,
                                       running_per_apartment=23.80, running_per_building=67.50),
            "heat_cost_allocators": SystemCosts(capital_per_radiator=39.0, capital_per_building=126.0,
                                                running_per_radiator=5.20, running_per_building=75.10),
        }
    if preset == "none":
        return {s: SystemCosts() for s in SYSTEMS}
    raise InputError("cost_preset", f"must be one of {', '.join(PRESETS)}, not {preset!r}")


# ----------------------------------------------------------------------------- EN 15459 factors

def real_interest_rate_pct(market_rate_pct: float, inflation_rate_pct: float) -> float:
    """Equation (1): R_R = (R - R_i) / (1 + R_i/100), in %."""
    if not inflation_rate_pct > -100:
        raise InputError("inflation_rate_pct", "must be above -100")
    return (market_rate_pct - inflation_rate_pct) / (1.0 + inflation_rate_pct / 100.0)


def discount_factor(rate_pct: float, year: float) -> float:
    """Equation (2): R_d(p) = (1 / (1 + R_R/100))^p."""
    return (1.0 + rate_pct / 100.0) ** -year


def present_value_factor(rate_pct: float, years: float) -> float:
    """Equation (3): f_pv(n) = (1 - (1 + R_R/100)^-n) / (R_R/100); n itself when R_R = 0."""
    r = rate_pct / 100.0
    if abs(r) < 1e-12:
        return float(years)
    return (1.0 - (1.0 + r) ** -years) / r


def gas_energy_price_per_kwh(gas_price_per_sm3: float, ghv_mj_sm3: float = DEFAULT_GAS_GHV_MJ_SM3) -> float:
    """T_e = T_gas / GHV, the GHV in kWh/Sm³ (3.6 MJ = 1 kWh): 0.80 €/Sm³ at 38.52 MJ/Sm³ gives 0.0748 €/kWh."""
    return gas_price_per_sm3 / (ghv_mj_sm3 / 3.6)


# ----------------------------------------------------------------------------- the building

@dataclass(frozen=True)
class Building:
    n_apartments: int
    radiators_per_apartment: float
    annual_energy_kwh: float                 # the building's heat need a year (EP_H × area)
    energy_price_per_kwh: float
    expected_benefit_pct: float              # EB: the saving, % of the energy cost
    real_interest_rate_pct: float
    period_years: int = DEFAULT_PERIOD_YEARS
    heated_area_m2: float | None = None      # total; gives break-even EP_H
    costs: dict[str, SystemCosts] = field(default_factory=dict)

    @property
    def annual_energy_cost(self) -> float:
        return self.annual_energy_kwh * self.energy_price_per_kwh

    @property
    def annual_saving(self) -> float:
        return self.annual_energy_cost * self.expected_benefit_pct / 100.0


@dataclass(frozen=True)
class SystemResult:
    name: str
    period_years: int
    costs: SystemCosts
    capex: float
    opex_per_year: float
    replacement_years: tuple[int, ...]
    replacement_cost_pv: float
    final_value_pv: float
    running_cost_pv: float
    global_cost: float
    annualised_cost_per_year: float
    savings_pv: float
    npv: float
    simple_payback_years: float | None
    payback_years: float | None
    break_even_annual_energy_kwh: float | None
    break_even_ep_h_kwh_m2: float | None
    break_even_expected_benefit_pct: float | None
    cumulative_npv_by_year: tuple[float, ...]

    @property
    def cost_efficient(self) -> bool:
        return self.npv >= 0.0

    def as_dict(self) -> dict:
        return {
            "costs": self.costs.as_dict(),
            "capex": self.capex,
            "opex_per_year": self.opex_per_year,
            "replacement_years": list(self.replacement_years),
            "replacement_cost_pv": self.replacement_cost_pv,
            "final_value_pv": self.final_value_pv,
            "running_cost_pv": self.running_cost_pv,
            "global_cost": self.global_cost,
            "annualised_cost_per_year": self.annualised_cost_per_year,
            "savings_pv": self.savings_pv,
            "npv": self.npv,
            "cost_efficient": self.cost_efficient,
            "simple_payback_years": self.simple_payback_years,
            "payback_years": self.payback_years,
            "payback_within_period": self.payback_years is not None and self.payback_years <= self.period_years,
            "break_even_annual_energy_kwh": self.break_even_annual_energy_kwh,
            "break_even_ep_h_kwh_m2": self.break_even_ep_h_kwh_m2,
            "break_even_expected_benefit_pct": self.break_even_expected_benefit_pct,
            "cumulative_npv_by_year": list(self.cumulative_npv_by_year),
        }


@dataclass(frozen=True)
class CostBenefitResult:
    building: Building
    present_value_factor: float
    annuity_factor: float
    discount_factor_end: float
    systems: dict[str, SystemResult]

    @property
    def recommendation(self) -> str:
        """EED art. 9(3): heat meters where cost-efficient; else allocators where cost-efficient; else neither."""
        if self.systems["heat_meters"].cost_efficient:
            return "heat_meters"
        if self.systems["heat_cost_allocators"].cost_efficient:
            return "heat_cost_allocators"
        return "neither"


def _replacements(lifetime: float, period: int) -> tuple[int | float, ...]:
    """Years (after 0) at which the system is bought again within the period (strictly before its end)."""
    out = []
    k = 1
    while k * lifetime < period - 1e-9:
        out.append(k * lifetime)
        k += 1
    return tuple(out)


def _final_value_share(lifetime: float, period: int) -> float:
    """Share of the last purchase's cost not used up at the end of the period (straight line)."""
    reps = _replacements(lifetime, period)
    last = reps[-1] if reps else 0.0
    used = period - last
    return max(0.0, (lifetime - used) / lifetime)


def _payback(capex: float, net_per_year: float, rate_pct: float, lifetime: float) -> float | None:
    """Discounted payback: the first time the cumulative discounted net cash flow (capital,
    replacements, saving minus running cost; no final value) reaches 0, linear within the year."""
    cum = -capex
    if cum >= 0:
        return 0.0
    tol = 1e-9 * capex  # rounding: the break-even input must pay back at the period's end
    reps = set()
    k = 1
    while k * lifetime <= PAYBACK_SEARCH_YEARS:
        reps.add(k * lifetime)
        k += 1
    for year in range(1, PAYBACK_SEARCH_YEARS + 1):
        flow = net_per_year * discount_factor(rate_pct, year)
        before = cum
        cum = before + flow
        if cum >= -tol and flow > 0:
            return year - 1 + min(1.0, -before / flow)
        # a replacement bought during this year (at its end) is paid after this year's flows
        for y in sorted(r for r in reps if year - 1 < r <= year):
            cum -= capex * discount_factor(rate_pct, y)
    return None


def evaluate_system(name: str, b: Building) -> SystemResult:
    c = b.costs[name]
    tau = b.period_years
    rate = b.real_interest_rate_pct
    capex = c.capex(b.n_apartments, b.radiators_per_apartment)
    opex = c.opex(b.n_apartments, b.radiators_per_apartment)
    lifetime = float(tau if c.lifetime_years is None else c.lifetime_years)
    reps = _replacements(lifetime, tau)
    replacement_pv = sum((capex * discount_factor(rate, y) for y in reps), 0.0)
    final_pv = capex * _final_value_share(lifetime, tau) * discount_factor(rate, tau)
    # Equation (4), the running costs summed year by year with R_d(i)
    running_pv = sum(opex * discount_factor(rate, i) for i in range(1, tau + 1))
    global_cost = capex + running_pv + replacement_pv - final_pv
    fpv = present_value_factor(rate, tau)
    saving = b.annual_saving
    savings_pv = sum(saving * discount_factor(rate, i) for i in range(1, tau + 1))
    npv = savings_pv - global_cost
    net = saving - opex
    simple = None if net <= 0 else capex / net
    payback = _payback(capex, net, rate, lifetime) if net > 0 else None
    cum = [-capex]
    for year in range(1, tau + 1):
        v = cum[-1] + net * discount_factor(rate, year)
        v -= sum(capex * discount_factor(rate, y) for y in reps if year - 1 < y <= year)
        cum.append(v)
    # NPV is linear in the energy cost: NPV = cost·EB/100·f_pv - C_G
    per_kwh_pv = b.energy_price_per_kwh * b.expected_benefit_pct / 100.0 * fpv
    be_energy = global_cost / per_kwh_pv if per_kwh_pv > 0 else None
    be_eph = None if be_energy is None or not b.heated_area_m2 else be_energy / b.heated_area_m2
    cost_pv = b.annual_energy_cost * fpv
    be_eb = 100.0 * global_cost / cost_pv if cost_pv > 0 else None
    return SystemResult(
        name=name, period_years=tau, costs=replace(c, lifetime_years=lifetime), capex=capex, opex_per_year=opex,
        replacement_years=tuple(int(y) if float(y).is_integer() else y for y in reps),
        replacement_cost_pv=replacement_pv, final_value_pv=final_pv, running_cost_pv=running_pv,
        global_cost=global_cost, annualised_cost_per_year=global_cost / fpv if fpv else math.inf,
        savings_pv=savings_pv, npv=npv, simple_payback_years=simple, payback_years=payback,
        break_even_annual_energy_kwh=be_energy, break_even_ep_h_kwh_m2=be_eph,
        break_even_expected_benefit_pct=be_eb, cumulative_npv_by_year=tuple(cum),
    )


def cost_benefit(b: Building) -> CostBenefitResult:
    """Global cost, NPV and payback of both systems for one building (see the module docstring)."""
    if b.n_apartments < 1:
        raise InputError("n_apartments", "must be at least 1")
    if b.period_years < 1:
        raise InputError("period_years", "must be at least 1")
    if not b.real_interest_rate_pct > -100:
        raise InputError("real_interest_rate_pct", "must be above -100")
    for s in SYSTEMS:
        if s not in b.costs:
            raise InputError(f"costs.{s}", "missing")
    fpv = present_value_factor(b.real_interest_rate_pct, b.period_years)
    return CostBenefitResult(
        building=b, present_value_factor=fpv, annuity_factor=1.0 / fpv,
        discount_factor_end=discount_factor(b.real_interest_rate_pct, b.period_years),
        systems={s: evaluate_system(s, b) for s in SYSTEMS},
    )


# ----------------------------------------------------------------------------- JSON

def _int(d: dict, key: str, *, required: bool = True, default: int | None = None, minimum: int = 1) -> int | None:
    from app.core.jsonin import _num

    v = _num(d, key, required=required, default=None)
    if v is None:
        return default
    if not float(v).is_integer():
        raise InputError(key, f"must be a whole number, got {v:g}")
    if v < minimum:
        raise InputError(key, f"must be at least {minimum}, got {v:g}")
    return int(v)


def cost_benefit_from_json(d: dict) -> dict:
    """The ``cost-benefit`` kind of ``heatmeter calc`` (docs/calc-costbenefit.md)."""
    from app.core.jsonin import _num, _str

    n = _int(d, "n_apartments")
    radiators = _num(d, "radiators_per_apartment", positive=True)
    period = _int(d, "period_years", required=False, default=DEFAULT_PERIOD_YEARS)
    if period > 100:
        raise InputError("period_years", f"must be at most 100, got {period}")

    area_each = _num(d, "area_per_apartment_m2", required=False, positive=True)
    area = None if area_each is None else area_each * n
    if d.get("annual_energy_kwh") is not None:
        energy = _num(d, "annual_energy_kwh", positive=True)
        energy_basis = "annual_energy_kwh"
    elif d.get("ep_h_kwh_m2") is not None:
        eph = _num(d, "ep_h_kwh_m2", positive=True)
        if area is None:
            raise InputError("area_per_apartment_m2", "missing (needed with ep_h_kwh_m2)")
        energy = eph * area
        energy_basis = "ep_h_kwh_m2"
    else:
        raise InputError("ep_h_kwh_m2", "missing (give ep_h_kwh_m2 with area_per_apartment_m2, or annual_energy_kwh)")

    if d.get("energy_price_per_kwh") is not None:
        price = _num(d, "energy_price_per_kwh", positive=True)
        price_basis = "energy_price_per_kwh"
    elif d.get("gas_price_per_sm3") is not None:
        gas = _num(d, "gas_price_per_sm3", positive=True)
        ghv = _num(d, "gas_ghv_mj_sm3", required=False, default=DEFAULT_GAS_GHV_MJ_SM3, positive=True)
        price = gas_energy_price_per_kwh(gas, ghv)
        price_basis = "gas_price_per_sm3"
    else:
        raise InputError("energy_price_per_kwh", "missing (or give gas_price_per_sm3)")

    eb = _num(d, "expected_benefit_pct", positive=True)
    if eb > 100:
        raise InputError("expected_benefit_pct", f"must be at most 100, got {eb:g}")

    if d.get("real_interest_rate_pct") is not None:
        rate = _num(d, "real_interest_rate_pct")
        if not rate > -100:
            raise InputError("real_interest_rate_pct", f"must be above -100, got {rate:g}")
        rate_basis = "real_interest_rate_pct"
    elif d.get("interest_rate_pct") is not None:
        market = _num(d, "interest_rate_pct")
        infl = _num(d, "inflation_rate_pct")
        if not infl > -100:
            raise InputError("inflation_rate_pct", f"must be above -100, got {infl:g}")
        rate = real_interest_rate_pct(market, infl)
        if not rate > -100:
            raise InputError("interest_rate_pct", f"gives a real rate of {rate:g} %, not above -100")
        rate_basis = "interest_and_inflation"
    else:
        raise InputError("real_interest_rate_pct", "missing (or give interest_rate_pct with inflation_rate_pct)")

    preset = _str(d, "cost_preset", PRESETS, required=False, default="uk_2014")
    costs = preset_costs(preset, n)
    given = d.get("costs")
    if given is not None:
        if not isinstance(given, dict):
            raise InputError("costs", "must be an object {heat_meters: {...}, heat_cost_allocators: {...}}")
        for s in SYSTEMS:
            sc = given.get(s)
            if sc is None:
                continue
            if not isinstance(sc, dict):
                raise InputError(f"costs.{s}", "must be an object of unit costs")
            changes = {}
            for k in COST_FIELDS:
                v = _num(sc, k, path=f"costs.{s}.", required=False, nonneg=True)
                if v is not None:
                    changes[k] = v
            life = _num(sc, "lifetime_years", path=f"costs.{s}.", required=False, positive=True)
            if life is not None:
                changes["lifetime_years"] = life
            costs[s] = replace(costs[s], **changes)

    currency = d.get("currency", "EUR")
    if not isinstance(currency, str) or not currency.strip():
        raise InputError("currency", f"must be a text label such as EUR or GBP, not {currency!r}")

    b = Building(n_apartments=n, radiators_per_apartment=radiators, annual_energy_kwh=energy,
                 energy_price_per_kwh=price, expected_benefit_pct=eb, real_interest_rate_pct=rate,
                 period_years=period, heated_area_m2=area, costs=costs)
    res = cost_benefit(b)
    return {
        "currency": currency.strip(),
        "cost_preset": preset,
        "n_apartments": n,
        "radiators": n * radiators,
        "heated_area_m2": area,
        "period_years": period,
        "real_interest_rate_pct": rate,
        "real_interest_rate_basis": rate_basis,
        "present_value_factor": res.present_value_factor,
        "annuity_factor": res.annuity_factor,
        "discount_factor_end": res.discount_factor_end,
        "energy_price_per_kwh": price,
        "energy_price_basis": price_basis,
        "annual_energy_kwh": energy,
        "annual_energy_basis": energy_basis,
        "annual_energy_cost": b.annual_energy_cost,
        "expected_benefit_pct": eb,
        "annual_saving": b.annual_saving,
        "systems": {s: r.as_dict() for s, r in res.systems.items()},
        "recommendation": res.recommendation,
    }
