"""Battery life of a heat meter at the read frequency a monitoring point needs (MMS 1.1.8, 1.3.6).

Average current = standby + display + other continuous loads
                + charge per M-Bus readout × readouts per second
                + charge per optical readout × optical readouts per second
                + charge per radio telegram / radio interval.
Usable capacity = nominal capacity × derating factor (temperature, passivation,
end-of-life voltage of lithium thionyl chloride cells).
Self-discharge is a fixed share of the nominal capacity lost per year.

life [h] = usable [mAh] / (I_avg [mA] + self-discharge [mAh/h])

Charges are in mAs (milliampere-seconds = mA × s), currents in µA, capacity in
mAh. See docs/calc-battery.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from app.core.errors import InputError

REQUIRED_LIFE_YEARS = 10.0
HOURS_PER_YEAR = 8766.0  # 365.25 days
SECONDS_PER_YEAR = HOURS_PER_YEAR * 3600.0
DEFAULT_DERATING = 0.85
DEFAULT_SELF_DISCHARGE_PCT_PER_YEAR = 1.0

#: MMS 2025 draft, Annex A: minimum read frequency (minutes) per monitoring point.
MMS_ANNEX_A_READ_INTERVAL_MIN: dict[str, int] = {
    "EC1": 30, "EC2": 5, "EC3": 5, "EC4": 30, "EC5": 30, "EC6": 5, "EC7": 5, "EC8": 5,
    "DD1": 30, "DD2": 30, "DD3": 5,
    "SS1": 5, "SS2": 5, "SS3": 30, "SS4": 30, "SS5": 5, "SS6": 5, "SS7": 5,
    "CD1": 30, "CD2": 30, "CD3": 5,
    "CC1": 30,
}
_MP_RE = re.compile(r"^\s*(EC|DD|SS|CD|CC)\s*-?\s*(\d+)\b", re.IGNORECASE)


def read_interval_for_monitoring_point(point_id: str) -> tuple[str, int]:
    """(canonical id, minutes) from an MMS Annex A monitoring point id such as ``SS1`` or ``CC1-flat-12``."""
    m = _MP_RE.match(point_id or "")
    if m:
        canon = f"{m.group(1).upper()}{int(m.group(2))}"
        if canon in MMS_ANNEX_A_READ_INTERVAL_MIN:
            return canon, MMS_ANNEX_A_READ_INTERVAL_MIN[canon]
    raise InputError("monitoring_point", f"{point_id!r} is not an MMS Annex A monitoring point (EC1-8, DD1-3, SS1-7, CD1-3, CC1)")


def add_years(d: date, years: float) -> date:
    """``d`` plus a (fractional) number of Julian years of 365.25 days."""
    return d + timedelta(days=round(years * 365.25))


@dataclass(frozen=True, slots=True)
class BatteryInput:
    capacity_mah: float
    standby_current_ua: float
    read_interval_min: float
    mbus_charge_per_readout_mas: float = 0.0
    optical_charge_per_readout_mas: float = 0.0
    optical_readouts_per_year: float = 0.0
    radio_charge_per_telegram_mas: float = 0.0
    radio_interval_s: float | None = None
    display_current_ua: float = 0.0
    other_current_ua: float = 0.0
    derating_factor: float = DEFAULT_DERATING
    self_discharge_pct_per_year: float = DEFAULT_SELF_DISCHARGE_PCT_PER_YEAR
    battery_date: date | None = None


@dataclass(frozen=True, slots=True)
class BatteryResult:
    average_current_ua: float
    breakdown_ua: dict
    readouts_per_year: float
    usable_capacity_mah: float
    self_discharge_mah_per_year: float
    expected_life_years: float
    passed: bool
    expected_failure_date: date | None
    battery_replacement_date: date | None


def battery_life(b: BatteryInput) -> BatteryResult:
    if not b.capacity_mah > 0:
        raise InputError("capacity_mah", "must be positive")
    if not b.read_interval_min > 0:
        raise InputError("read_interval_min", "must be positive")
    if not 0 < b.derating_factor <= 1:
        raise InputError("derating_factor", "must be in (0, 1]")
    if not 0 <= b.self_discharge_pct_per_year < 100:
        raise InputError("self_discharge_pct_per_year", "must be in [0, 100)")
    readouts_per_year = 365.25 * 24 * 60 / b.read_interval_min
    mbus_ua = b.mbus_charge_per_readout_mas * readouts_per_year / SECONDS_PER_YEAR * 1000.0
    optical_ua = b.optical_charge_per_readout_mas * b.optical_readouts_per_year / SECONDS_PER_YEAR * 1000.0
    radio_ua = 0.0
    if b.radio_charge_per_telegram_mas:
        if not b.radio_interval_s:
            raise InputError("radio_interval_s", "missing: needed with radio_charge_per_telegram_mas")
        radio_ua = b.radio_charge_per_telegram_mas / b.radio_interval_s * 1000.0
    breakdown = {
        "standby_ua": b.standby_current_ua, "display_ua": b.display_current_ua, "other_ua": b.other_current_ua,
        "mbus_ua": mbus_ua, "optical_ua": optical_ua, "radio_ua": radio_ua,
    }
    avg_ua = sum(breakdown.values())
    usable = b.capacity_mah * b.derating_factor
    sd_mah_year = b.capacity_mah * b.self_discharge_pct_per_year / 100.0
    drain_mah_year = avg_ua / 1000.0 * HOURS_PER_YEAR + sd_mah_year
    if drain_mah_year <= 0:
        raise InputError("standby_current_ua", "no current drawn at all: the life is unbounded")
    life = usable / drain_mah_year
    fail = repl = None
    if b.battery_date is not None:
        fail = add_years(b.battery_date, life)
        repl = add_years(b.battery_date, life - 1.0)
    return BatteryResult(average_current_ua=avg_ua, breakdown_ua=breakdown, readouts_per_year=readouts_per_year,
                         usable_capacity_mah=usable, self_discharge_mah_per_year=sd_mah_year,
                         expected_life_years=life, passed=life >= REQUIRED_LIFE_YEARS,
                         expected_failure_date=fail, battery_replacement_date=repl)


def _date(d: dict, key: str) -> date | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise InputError(key, f"must be a date YYYY-MM-DD, not {v!r}")
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise InputError(key, f"must be a date YYYY-MM-DD, not {v!r}") from None


def battery_from_json(d: dict) -> dict:
    """The ``heatmeter calc battery`` contract (docs/calc-battery.md)."""
    from app.core.jsonin import _num

    basis = "input"
    mp = d.get("monitoring_point")
    mp_interval = None
    canon = None
    if mp is not None:
        if not isinstance(mp, str):
            raise InputError("monitoring_point", f"must be a string, not {mp!r}")
        canon, mp_interval = read_interval_for_monitoring_point(mp)
    interval = _num(d, "read_interval_min", required=False, positive=True)
    if interval is None:
        if mp_interval is None:
            raise InputError("read_interval_min", "missing (or give monitoring_point, e.g. SS1 or CC1)")
        interval = float(mp_interval)
        basis = f"mms_annex_a:{canon}"
    radio_q = _num(d, "radio_charge_per_telegram_mas", required=False, default=0.0, nonneg=True)
    b = BatteryInput(
        capacity_mah=_num(d, "capacity_mah", positive=True),
        standby_current_ua=_num(d, "standby_current_ua", nonneg=True),
        read_interval_min=interval,
        mbus_charge_per_readout_mas=_num(d, "mbus_charge_per_readout_mas", nonneg=True),
        optical_charge_per_readout_mas=_num(d, "optical_charge_per_readout_mas", required=False, default=0.0, nonneg=True),
        optical_readouts_per_year=_num(d, "optical_readouts_per_year", required=False, default=0.0, nonneg=True),
        radio_charge_per_telegram_mas=radio_q,
        radio_interval_s=_num(d, "radio_interval_s", required=bool(radio_q), positive=True),
        display_current_ua=_num(d, "display_current_ua", required=False, default=0.0, nonneg=True),
        other_current_ua=_num(d, "other_current_ua", required=False, default=0.0, nonneg=True),
        derating_factor=_num(d, "derating_factor", required=False, default=DEFAULT_DERATING, positive=True),
        self_discharge_pct_per_year=_num(d, "self_discharge_pct_per_year", required=False,
                                         default=DEFAULT_SELF_DISCHARGE_PCT_PER_YEAR, nonneg=True),
        battery_date=_date(d, "battery_date") or _date(d, "install_date"),
    )
    r = battery_life(b)
    out = {
        "read_interval_min": interval,
        "read_interval_basis": basis,
        "readouts_per_year": r.readouts_per_year,
        "average_current_ua": r.average_current_ua,
        "current_breakdown_ua": r.breakdown_ua,
        "usable_capacity_mah": r.usable_capacity_mah,
        "self_discharge_mah_per_year": r.self_discharge_mah_per_year,
        "expected_life_years": r.expected_life_years,
        "required_life_years": REQUIRED_LIFE_YEARS,
        "pass": r.passed,
        "expected_failure_date": None if r.expected_failure_date is None else r.expected_failure_date.isoformat(),
        "battery_replacement_date": None if r.battery_replacement_date is None else r.battery_replacement_date.isoformat(),
    }
    if mp_interval is not None:
        out["monitoring_point"] = canon
        out["monitoring_point_read_interval_min"] = mp_interval
        # A meter read less often than its monitoring point needs does not meet Annex A.
        out["meets_read_frequency"] = interval <= mp_interval
    return out
