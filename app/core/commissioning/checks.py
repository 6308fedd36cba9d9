"""Plausibility checks of a live readout, each returning a ``CheckResult`` with its numbers: temperature order,
Δθ and flow within the meter's range, the energy increment against k·V·Δθ (k from IAPWS-IF97), the clock and
the status byte; ``plausibility`` runs them on readouts (``readout_values``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.core import metrology
from app.core.commissioning.resolution import (conclusive_after_s, energy_registers, finest, human_duration,
                                               volume_registers)
from app.core.commissioning.verdict import FAIL, PASS, WARN, CheckResult, _f
from app.core.errors import InputError
from app.core.water import heat_coefficient_kj_m3k

# --------------------------------------------------------------------------- the meter


KIND_BY_MEDIUM = {"heat_outlet": "heat", "heat_inlet": "heat", "cooling_outlet": "cooling",
                  "cooling_inlet": "cooling", "heat_cooling": "heat_cooling"}
#: EN 13757-3 medium codes tell where the volume is measured: "outlet" = the
#: return pipe of a heat meter, "inlet" = the flow pipe.
POSITION_BY_MEDIUM = {"heat_outlet": "return", "heat_inlet": "flow", "cooling_outlet": "return",
                      "cooling_inlet": "flow"}


@dataclass(frozen=True)
class MeterRating:
    """What the checks need to know about the meter (from its rating plate / the register).

    ``kind``: ``heat``, ``cooling`` or ``heat_cooling``; ``flow_sensor_position``:
    the pipe the flow sensor sits in (``flow`` or ``return``). Unknown values are None.
    """

    kind: str = "heat"
    mid_class: int | None = None
    qp_m3h: float | None = None
    qi_m3h: float | None = None
    qs_m3h: float | None = None
    dtheta_min_k: float | None = None
    dtheta_max_k: float | None = None
    flow_sensor_position: str | None = None

    def metrology_spec(self) -> metrology.MeterSpec | None:
        """The MPE spec, or None when class, qp, qi or Δθmin is unknown (or impossible)."""
        if None in (self.mid_class, self.qp_m3h, self.qi_m3h, self.dtheta_min_k) or not self.qi_m3h:
            return None
        spec = metrology.MeterSpec(int(self.mid_class), float(self.qp_m3h), float(self.qp_m3h) / float(self.qi_m3h),
                                   float(self.dtheta_min_k), self.dtheta_max_k, self.qs_m3h)
        try:
            return spec.validate()
        except InputError:
            return None


def operating_point_mpe(rating: MeterRating, q_m3h: float | None, dtheta_k: float | None
                        ) -> metrology.MpeResult | None:
    """The complete meter's MPE (EN 1434-1) at the observed flow and Δθ, or None when
    the rating or the operating point does not allow it (no flow, no Δθ)."""
    spec = rating.metrology_spec()
    if spec is None or q_m3h is None or dtheta_k is None or q_m3h <= 0 or abs(dtheta_k) <= 0:
        return None
    return metrology.mpe(spec, float(q_m3h), abs(float(dtheta_k)))


# --------------------------------------------------------------------------- plausibility checks


def check_temperature_order(t_flow_c: float | None, t_return_c: float | None, kind: str = "heat") -> CheckResult:
    """Heat meter: flow warmer than return. Cooling meter: the reverse. A heat/cooling
    meter may see either (pass, saying which)."""
    title = "Flow and return temperatures"
    vals = {"t_flow_c": t_flow_c, "t_return_c": t_return_c, "kind": kind}
    if t_flow_c is None or t_return_c is None:
        return CheckResult("temperature_order", title, WARN,
                           "Not checked: the meter did not report both flow and return temperature.", vals)
    d = t_flow_c - t_return_c
    vals["difference_k"] = d
    if kind == "heat_cooling":
        mode = "heating" if d > 0 else "cooling" if d < 0 else "no temperature difference"
        st = PASS if d != 0 else WARN
        return CheckResult("temperature_order", title, st,
                           f"Flow {_f(t_flow_c)} °C, return {_f(t_return_c)} °C: {mode}.", vals)
    if kind == "cooling":
        ok = t_return_c > t_flow_c
        want = "return warmer than flow (cooling)"
    else:
        ok = t_flow_c > t_return_c
        want = "flow warmer than return (heating)"
    if ok:
        return CheckResult("temperature_order", title, PASS,
                           f"Flow {_f(t_flow_c)} °C, return {_f(t_return_c)} °C: {want}.", vals)
    hint = " Sensors swapped?" if d != 0 else ""
    return CheckResult("temperature_order", title, FAIL,
                       f"Flow {_f(t_flow_c)} °C, return {_f(t_return_c)} °C: expected {want}.{hint}", vals)


def check_dtheta_range(dtheta_k: float | None, dtheta_min_k: float | None,
                       dtheta_max_k: float | None) -> CheckResult:
    """|Δθ| inside the meter's Δθmin..Δθmax. Below Δθmin is a warning (low load: the
    meter still counts, outside its rated accuracy); above Δθmax is a failure (the
    meter is not rated for the network's temperatures)."""
    title = "Temperature difference in range"
    vals = {"dtheta_k": dtheta_k, "dtheta_min_k": dtheta_min_k, "dtheta_max_k": dtheta_max_k}
    if dtheta_k is None:
        return CheckResult("dtheta_range", title, WARN, "Not checked: no temperature difference reported.", vals)
    d = abs(dtheta_k)
    rng = f"{_f(dtheta_min_k, 1)}..{_f(dtheta_max_k, 1)} K"
    if dtheta_max_k is not None and d > dtheta_max_k:
        return CheckResult("dtheta_range", title, FAIL,
                           f"Δθ {_f(d)} K is above Δθmax {_f(dtheta_max_k, 1)} K (range {rng}).", vals)
    if dtheta_min_k is not None and d < dtheta_min_k:
        return CheckResult("dtheta_range", title, WARN,
                           f"Δθ {_f(d)} K is below Δθmin {_f(dtheta_min_k, 1)} K: low load, outside the rated "
                           f"range {rng}; check again under load.", vals)
    if dtheta_min_k is None or dtheta_max_k is None:
        missing = " and ".join(n for n, v in (("Δθmin", dtheta_min_k), ("Δθmax", dtheta_max_k)) if v is None)
        return CheckResult("dtheta_range", title, WARN,
                           f"Δθ {_f(d)} K; {missing} of the meter not known, so only partly checked.", vals)
    return CheckResult("dtheta_range", title, PASS, f"Δθ {_f(d)} K is inside {rng}.", vals)


def check_flow_range(flow_m3h: float | None, qi_m3h: float | None, qp_m3h: float | None = None,
                     qs_m3h: float | None = None) -> CheckResult:
    """Flow inside qi..qs. No flow or below qi: warning (no or low load now; MMS 1.1.7
    asks for a meter that measures the lowest flows, so check again under load).
    Between qp and qs: warning (qs is for short periods only). Above qs: failure."""
    title = "Flow rate in range"
    vals = {"flow_m3h": flow_m3h, "qi_m3h": qi_m3h, "qp_m3h": qp_m3h, "qs_m3h": qs_m3h}
    if flow_m3h is None:
        return CheckResult("flow_range", title, WARN, "Not checked: no flow rate reported.", vals)
    q = abs(flow_m3h)
    if q == 0:
        return CheckResult("flow_range", title, WARN,
                           "No flow now (0 m³/h): the range cannot be checked; open a valve or check under load.", vals)
    if qs_m3h is not None and q > qs_m3h:
        return CheckResult("flow_range", title, FAIL,
                           f"Flow {_f(q, 3)} m³/h is above qs {_f(qs_m3h, 3)} m³/h: the meter is too small.", vals)
    if qi_m3h is not None and q < qi_m3h:
        return CheckResult("flow_range", title, WARN,
                           f"Flow {_f(q, 3)} m³/h is below qi {_f(qi_m3h, 3)} m³/h: outside the rated range; "
                           "check again under load.", vals)
    if qp_m3h is not None and q > qp_m3h:
        return CheckResult("flow_range", title, WARN,
                           f"Flow {_f(q, 3)} m³/h is above qp {_f(qp_m3h, 3)} m³/h (allowed up to qs only for "
                           "short periods).", vals)
    if qi_m3h is None or qs_m3h is None:
        missing = " and ".join(n for n, v in (("qi", qi_m3h), ("qs", qs_m3h)) if v is None)
        return CheckResult("flow_range", title, WARN,
                           f"Flow {_f(q, 3)} m³/h; {missing} of the meter not known, so only partly checked.", vals)
    return CheckResult("flow_range", title, PASS,
                       f"Flow {_f(q, 3)} m³/h is inside qi..qs = {_f(qi_m3h, 3)}..{_f(qs_m3h, 3)} m³/h.", vals)


def heat_coefficient_kwh_m3k(t_flow_c: float, t_return_c: float, position: str, kind: str = "heat") -> float:
    """EN 1434-1 heat coefficient k in kWh/(m³·K) from IAPWS-IF97 at 1.6 MPa.

    ``position`` is the pipe the flow sensor sits in (``flow`` or ``return``).
    For a heat meter the flow pipe is the hot one; for a cooling meter the flow
    pipe is the cold one, so a cooling meter in the flow pipe measures its
    volume at the cold temperature.
    """
    if position not in ("flow", "return"):
        raise InputError("flow_sensor_position", f"must be 'flow' or 'return', not {position!r}")
    hot, cold = max(t_flow_c, t_return_c), min(t_flow_c, t_return_c)
    flow_is_hot = t_flow_c >= t_return_c if kind == "heat_cooling" else kind != "cooling"
    at_hot = (position == "flow") == flow_is_hot
    return heat_coefficient_kj_m3k(hot, cold, "flow" if at_hot else "return") / 3600.0


def check_energy_increment(energy_kwh: tuple[float, float] | None, volume_m3: tuple[float, float] | None, *,
                           t_flow_c: float | None, t_return_c: float | None, position: str | None,
                           kind: str = "heat", calculator_mpe_pct: float | None = None,
                           energy_step_kwh: float | None = None, volume_step_m3: float | None = None,
                           dtheta_spread_k: float = 0.0, duration_s: float | None = None,
                           power_kw: float | None = None, flow_m3h: float | None = None) -> CheckResult:
    """Energy increment between two readouts against k·ΔV·Δθ.

    ``energy_kwh`` and ``volume_m3`` are (first, second) register values;
    ``t_flow_c``/``t_return_c`` the mean temperatures over the interval
    (volume-weighted where samples allow); ``position`` the flow sensor's pipe.

    The meter computes its energy from its own volume and Δθ, so the sensors'
    errors are on both sides of the comparison and only the calculator's MPE
    (``calculator_mpe_pct``, Ec = 0.5 + Δθmin/Δθ) applies. To it are added the
    registers' resolution (each difference of two readings is uncertain by one
    step: 100·(step_E/ΔE_expected + step_V/ΔV) %) and the spread of Δθ over the
    interval (``dtheta_spread_k``, half the range of the samples: the mean of a
    sampled Δθ is known to that much). Pass when |deviation| is inside that
    tolerance; fail outside; warn when the registers moved too little to judge
    (their resolution alone is larger than the calculator's MPE).

    How long to observe for a conclusive result (``values["conclusive_after_s"]``,
    said in the message when it is not yet): from the registers' steps and
    ``power_kw`` and ``flow_m3h`` now
    (:func:`~app.core.commissioning.resolution.conclusive_after_s`); without them,
    from ``duration_s`` between the two readouts: ``duration_s`` × resolution / Ec
    (the registers must move that much more).
    """
    title = "Energy increment = k·V·Δθ"
    vals: dict[str, Any] = {"kind": kind, "position": position, "t_flow_c": t_flow_c, "t_return_c": t_return_c,
                            "energy_step_kwh": energy_step_kwh, "volume_step_m3": volume_step_m3}
    if energy_kwh is None or volume_m3 is None or None in energy_kwh or None in volume_m3:
        need = conclusive_after_s(energy_step_kwh=energy_step_kwh, volume_step_m3=volume_step_m3,
                                  power_kw=power_kw, flow_m3h=flow_m3h, mpe_pct=calculator_mpe_pct)
        vals["conclusive_after_s"] = need
        tail = "" if need is None else (f" At {abs(power_kw or 0):.1f} kW and {abs(flow_m3h or 0):.3f} m³/h, observe "
                                        f"at least {human_duration(need)} for a conclusive result.")
        return CheckResult("energy_increment", title, WARN,
                           "Not checked yet: needs energy and volume from two readouts." + tail, vals)
    if t_flow_c is None or t_return_c is None:
        return CheckResult("energy_increment", title, WARN, "Not checked: no flow and return temperatures.", vals)
    if position not in ("flow", "return"):
        return CheckResult("energy_increment", title, WARN,
                           "Not checked: the flow sensor's position (flow or return pipe) is not known.", vals)
    de = energy_kwh[1] - energy_kwh[0]
    dv = volume_m3[1] - volume_m3[0]
    dtheta = abs(t_flow_c - t_return_c)
    vals.update(delta_energy_kwh=de, delta_volume_m3=dv, dtheta_k=dtheta)
    if dv < 0 or de < 0:
        return CheckResult("energy_increment", title, FAIL,
                           f"A register went backwards: ΔE {de:.3f} kWh, ΔV {dv:.4f} m³.", vals)
    if dv == 0:
        return CheckResult("energy_increment", title, WARN,
                           f"No volume passed between the readouts (ΔE {de:.3f} kWh): read again under flow, "
                           "or later.", vals)
    if dtheta == 0:
        return CheckResult("energy_increment", title, WARN,
                           "No temperature difference: the energy increment cannot be checked.", vals)
    k = heat_coefficient_kwh_m3k(t_flow_c, t_return_c, position, kind)
    expected = k * dv * dtheta
    dev_pct = 100.0 * (de - expected) / expected
    res_pct = 100.0 * ((energy_step_kwh or 0.0) / expected + (volume_step_m3 or 0.0) / dv)
    spread_pct = 100.0 * abs(dtheta_spread_k) / dtheta
    ec = calculator_mpe_pct
    tol = (ec if ec is not None else 0.0) + res_pct + spread_pct
    other = "flow" if position == "return" else "return"
    k_other = heat_coefficient_kwh_m3k(t_flow_c, t_return_c, other, kind)
    dev_other = 100.0 * (de - k_other * dv * dtheta) / (k_other * dv * dtheta)
    # how long in all for a conclusive result: from the registers' steps and the power and flow now, else
    # from the time so far (the registers must move res_pct / ec times as much)
    need = conclusive_after_s(energy_step_kwh=energy_step_kwh, volume_step_m3=volume_step_m3, power_kw=power_kw,
                              flow_m3h=flow_m3h, mpe_pct=ec) if power_kw and flow_m3h else None
    if need is None and ec and duration_s is not None and duration_s > 0:
        need = duration_s * res_pct / ec
    vals.update(k_kwh_m3k=k, expected_kwh=expected, deviation_pct=dev_pct, resolution_pct=res_pct,
                spread_pct=spread_pct, calculator_mpe_pct=ec, tolerance_pct=tol,
                deviation_if_other_position_pct=dev_other, duration_s=duration_s, conclusive_after_s=need)
    nums = (f"ΔE {de:.3f} kWh vs k·ΔV·Δθ = {k:.5f} × {dv:.4f} m³ × {dtheta:.2f} K = {expected:.3f} kWh: "
            f"{dev_pct:+.2f} %")
    if ec is None:
        return CheckResult("energy_increment", title, WARN,
                           f"{nums}; no MPE known for the meter (class, qp, qi, Δθmin), so not judged.", vals)
    if abs(dev_pct) > tol:
        hint = ""
        if abs(dev_other) <= tol:
            hint = f" It fits a flow sensor in the {other} pipe ({dev_other:+.2f} %): check the position."
        return CheckResult("energy_increment", title, FAIL,
                           f"{nums}, outside ±{tol:.2f} % (calculator MPE {ec:.2f} % + resolution "
                           f"{res_pct:.2f} % + Δθ spread {spread_pct:.2f} %).{hint}", vals)
    if res_pct > ec:
        so_far = f" (so far {human_duration(duration_s)})" if duration_s and duration_s >= 1 else ""
        when = (f"observe at least {human_duration(need)} in all{so_far} for a conclusive result"
                if need is not None else "read again later")
        return CheckResult("energy_increment", title, WARN,
                           f"{nums}, inside ±{tol:.2f} % but the registers moved only a few steps (resolution "
                           f"{res_pct:.2f} % > MPE {ec:.2f} %): inconclusive; {when}.", vals)
    return CheckResult("energy_increment", title, PASS,
                       f"{nums}, inside ±{tol:.2f} % (calculator MPE {ec:.2f} % + resolution {res_pct:.2f} % + "
                       f"Δθ spread {spread_pct:.2f} %).", vals)


#: Clock tolerances (our choice, docs/commissioning.md): within one read interval
#: of the fastest Annex A monitoring points (5 min) passes; within an hour and
#: 5 minutes warns (a summer-time offset); more fails.
CLOCK_PASS_S = 300.0
CLOCK_WARN_S = 3900.0


def _parse_meter_time(text: str | dt.datetime | None) -> dt.datetime | None:
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        return text
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def check_clock(meter_time: str | dt.datetime | None, laptop_time: dt.datetime) -> CheckResult:
    """Meter clock (local time as the meter reports it) against the laptop's local clock."""
    title = "Meter clock"
    t = _parse_meter_time(meter_time)
    vals: dict[str, Any] = {"meter_time": None if meter_time is None else str(meter_time),
                            "laptop_time": laptop_time.replace(microsecond=0).isoformat()}
    if t is None:
        return CheckResult("clock", title, WARN, "Not checked: the meter did not report its date and time.", vals)
    if t.tzinfo is not None and laptop_time.tzinfo is None:
        laptop_time = laptop_time.astimezone()
    elif t.tzinfo is None and laptop_time.tzinfo is not None:
        laptop_time = laptop_time.replace(tzinfo=None)
    diff = (t - laptop_time).total_seconds()
    vals["difference_s"] = diff
    a = abs(diff)
    if a < 90:
        human = f"{a:.0f} s"
    elif a < 2 * 3600:
        human = f"{a / 60:.0f} min"
    elif a < 3 * 86400:
        human = f"{a / 3600:.1f} h"
    else:
        human = f"{a / 86400:.0f} days"
    way = "ahead of" if diff > 0 else "behind"
    shown = f"Meter {t.strftime('%Y-%m-%d %H:%M')}, laptop {laptop_time.strftime('%Y-%m-%d %H:%M')}"
    if a <= CLOCK_PASS_S:
        return CheckResult("clock", title, PASS, f"{shown}: {human} apart (within 5 min).", vals)
    if a <= CLOCK_WARN_S:
        hint = " (summer time?)" if abs(a - 3600) <= CLOCK_PASS_S else ""
        return CheckResult("clock", title, WARN, f"{shown}: meter {human} {way} the laptop{hint}; set its clock.",
                           vals)
    return CheckResult("clock", title, FAIL, f"{shown}: meter {human} {way} the laptop; set its clock.", vals)


#: Status byte bits of EN 13757-3 (variable data structure): 0x03 application
#: busy/error, 0x04 power low, 0x08 permanent error, 0x10 temporary error;
#: 0xE0 are manufacturer specific.
STATUS_ERROR_MASK = 0x1F
STATUS_MANUFACTURER_MASK = 0xE0


def check_status(status: int | None, status_words: Sequence[str] = (), error_flags: int | None = None,
                 application_error: str | None = None) -> CheckResult:
    """Status byte and error flags clear. Any standard bit (busy, error, power low,
    permanent or temporary error) or a non-zero error-flags record fails;
    manufacturer-specific bits alone warn (their meaning is in the meter's manual)."""
    title = "Status and error flags"
    vals = {"status": status, "status_words": list(status_words), "error_flags": error_flags,
            "application_error": application_error}
    if status is None and error_flags is None and application_error is None:
        return CheckResult("status", title, WARN, "Not checked: the telegram has no status byte.", vals)
    problems = []
    if application_error:
        problems.append(f"application error {application_error}")
    if status is not None and status & STATUS_ERROR_MASK:
        words = [w for w in status_words if not w.startswith("manufacturer")] or [f"0x{status:02X}"]
        problems.append(f"status 0x{status:02X} ({', '.join(w.replace('_', ' ') for w in words)})")
    if error_flags:
        problems.append(f"error flags 0x{error_flags:X}")
    if problems:
        return CheckResult("status", title, FAIL, "Meter reports " + "; ".join(problems) + ".", vals)
    if status is not None and status & STATUS_MANUFACTURER_MASK:
        return CheckResult("status", title, WARN,
                           f"Status 0x{status:02X}: manufacturer-specific bits set; see the meter's manual.", vals)
    shown = f"0x{status:02X}" if status is not None else "absent"
    return CheckResult("status", title, PASS, f"Status byte {shown}, no error flags.", vals)


# --------------------------------------------------------------------------- readouts


@dataclass(frozen=True)
class ReadoutValues:
    """What the checks take from one readout (from ``app.core.readings`` plus the header)."""

    read_at: dt.datetime
    energy_kwh: float | None = None
    volume_m3: float | None = None
    flow_m3h: float | None = None
    t_flow_c: float | None = None
    t_return_c: float | None = None
    dtheta_k: float | None = None
    power_kw: float | None = None
    meter_time: str | None = None
    status: int | None = None
    status_words: tuple[str, ...] = ()
    error_flags: int | None = None
    application_error: str | None = None
    energy_step_kwh: float | None = None
    volume_step_m3: float | None = None
    energy_register: str | None = None      # which energy register (the finest the meter offers)
    energy_registers: int = 0               # how many current energy registers it offers

    @property
    def dtheta(self) -> float | None:
        if self.t_flow_c is not None and self.t_return_c is not None:
            return self.t_flow_c - self.t_return_c
        return self.dtheta_k


def readout_values(telegrams: Sequence[Mapping[str, Any]], read_at: dt.datetime, kind: str = "heat"
                   ) -> ReadoutValues:
    """:class:`ReadoutValues` from decode --json telegrams (dicts) of one readout.

    The energy register is the heating one for heat meters and the cooling one
    (``accumulation_negative``, or the plain energy register of a cooling-only
    meter) for cooling meters; of several, the finest (smallest step), and the
    same for volume (:mod:`app.core.commissioning.resolution`).
    """
    from app.core.readings import current_readings

    records = [r for t in telegrams for r in (t.get("records") or [])]
    r = current_readings(records)
    energy = r.energy_kwh
    if kind == "cooling" and r.cooling_energy_kwh is not None:
        energy = r.cooling_energy_kwh
    e_reg = finest(energy_registers(records, kind))        # the finest register the meter offers
    v_reg = finest(volume_registers(records))
    volume = r.volume_m3
    e_step = v_step = None
    if e_reg is not None:
        energy, e_step = e_reg.value, e_reg.step
    if v_reg is not None:
        volume, v_step = v_reg.value, v_reg.step
    first = telegrams[0] if telegrams else {}
    words = tuple(first.get("status_flags") or ())
    return ReadoutValues(read_at=read_at, energy_kwh=energy, volume_m3=volume, flow_m3h=r.flow_m3h,
                         t_flow_c=r.t_flow_c, t_return_c=r.t_return_c, dtheta_k=r.dtheta_k, power_kw=r.power_kw,
                         meter_time=r.meter_time, status=first.get("status"), status_words=words,
                         error_flags=r.error_flags, application_error=first.get("application_error"),
                         energy_step_kwh=e_step, volume_step_m3=v_step,
                         energy_register=e_reg.label if e_reg is not None else None,
                         energy_registers=len(energy_registers(records, kind)))


def plausibility(rating: MeterRating, latest: ReadoutValues, *, first: ReadoutValues | None = None,
                 laptop_time: dt.datetime | None = None,
                 samples: Sequence[tuple[float, float | None, float | None, float | None]] = ()) -> list[CheckResult]:
    """All plausibility checks on the latest readout; the energy increment between
    ``first`` and ``latest`` (mean temperatures volume-weighted over ``samples`` —
    ``(flow_m3h, t_flow_c, t_return_c, weight_s)`` rows — when there are any, else
    the mean of the two readouts)."""
    kind = rating.kind
    dtheta = latest.dtheta
    results = [
        check_temperature_order(latest.t_flow_c, latest.t_return_c, kind),
        check_dtheta_range(dtheta, rating.dtheta_min_k, rating.dtheta_max_k),
        check_flow_range(latest.flow_m3h, rating.qi_m3h, rating.qp_m3h, rating.qs_m3h),
    ]
    if first is None or first is latest:
        mpe_now = operating_point_mpe(rating, latest.flow_m3h, dtheta)
        results.append(check_energy_increment(
            None, None, t_flow_c=None, t_return_c=None, position=None,
            calculator_mpe_pct=None if mpe_now is None else mpe_now.ec, energy_step_kwh=latest.energy_step_kwh,
            volume_step_m3=latest.volume_step_m3, power_kw=latest.power_kw, flow_m3h=latest.flow_m3h))
    else:
        tf, tr, spread = _interval_temperatures(first, latest, samples)
        mpe_at = operating_point_mpe(rating, _mean(first.flow_m3h, latest.flow_m3h),
                                     None if tf is None or tr is None else tf - tr)
        results.append(check_energy_increment(
            (first.energy_kwh, latest.energy_kwh), (first.volume_m3, latest.volume_m3),
            t_flow_c=tf, t_return_c=tr, position=rating.flow_sensor_position, kind=kind,
            calculator_mpe_pct=None if mpe_at is None else mpe_at.ec,
            energy_step_kwh=latest.energy_step_kwh, volume_step_m3=latest.volume_step_m3, dtheta_spread_k=spread,
            duration_s=(latest.read_at - first.read_at).total_seconds(), power_kw=latest.power_kw,
            flow_m3h=latest.flow_m3h))
    results.append(check_clock(latest.meter_time, laptop_time or latest.read_at))
    results.append(check_status(latest.status, latest.status_words, latest.error_flags, latest.application_error))
    return results


def _mean(a: float | None, b: float | None) -> float | None:
    vals = [v for v in (a, b) if v is not None]
    return sum(vals) / len(vals) if vals else None


def _interval_temperatures(first: ReadoutValues, latest: ReadoutValues,
                           samples: Sequence[tuple[float | None, float | None, float | None, float | None]]
                           ) -> tuple[float | None, float | None, float]:
    rows = [(q, tf, tr, w) for q, tf, tr, w in samples if None not in (q, tf, tr) and (w or 0) > 0]
    rows += [(r.flow_m3h, r.t_flow_c, r.t_return_c, 1.0) for r in (first, latest)
             if None not in (r.flow_m3h, r.t_flow_c, r.t_return_c)] if not rows else []
    if not rows:
        return _mean(first.t_flow_c, latest.t_flow_c), _mean(first.t_return_c, latest.t_return_c), 0.0
    wsum = sum(abs(q) * w for q, _, _, w in rows)
    if wsum > 0:
        tf = sum(t * abs(q) * w for q, t, _, w in rows) / wsum
        tr = sum(t * abs(q) * w for q, _, t, w in rows) / wsum
    else:
        tf = sum(t for _, t, _, _ in rows) / len(rows)
        tr = sum(t for _, _, t, _ in rows) / len(rows)
    dts = [abs(a - b) for _, a, b, _ in rows]
    spread = (max(dts) - min(dts)) / 2.0 if len(dts) > 1 else 0.0
    return tf, tr, spread

