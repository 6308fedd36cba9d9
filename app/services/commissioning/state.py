"""A commissioning in progress (:class:`CommissioningState`) and how it is kept as a draft.

The register's commissioning record holds the checklist answers in
``checklist`` and the check results in ``plausibility``; the workflow keeps its
own state beside the results in that same JSON object (``identify``,
``place``, ``readouts``, ``observation``), so one ``save_commissioning_step``
saves a whole step. Before the meter is in the register (a meter not known
yet, until step 2 places it) the same JSON is kept elsewhere (the app keeps it
in its settings) as a pending draft: :meth:`CommissioningState.to_json`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from app.core import commissioning as cm

STEPS = ("Identify", "Place", "Checklist", "Plausibility", "Observe", "Sign off")
FORMAT = 1

#: meter fields of the Identify step that go into the register (create_meter / update_meter)
IDENTITY_FIELDS = ("manufacturer", "mbus_manufacturer", "model", "serial", "secondary_address", "primary_address",
                   "mid_class", "qp_m3h", "qi_m3h", "qs_m3h", "dtheta_min_k", "dtheta_max_k",
                   "flow_sensor_position")
PLACE_FIELDS = ("site", "building", "location", "monitoring_point")


@dataclass
class CommissioningState:
    """Everything known about one commissioning; ``to_json``/``from_json`` round-trip it."""

    step: int = 1                                   # 1..6, the step the user is on
    record_id: int | None = None                    # the register's commissioning record (draft)
    version: int | None = None
    meter_id: int | None = None
    meter_version: int | None = None
    bus_meter: dict[str, Any] | None = None         # MeterRef.to_dict() of the meter on the bus
    identify: dict[str, Any] = field(default_factory=dict)   # IDENTITY_FIELDS + medium, kind, identification
    place: dict[str, Any] = field(default_factory=dict)      # PLACE_FIELDS + install_date (ISO)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    readouts: list[dict[str, Any]] = field(default_factory=list)  # {role, id?, read_at, frames_hex?, telegrams?}
    checks: list[dict[str, Any]] = field(default_factory=list)
    mpe: dict[str, Any] | None = None
    observation: dict[str, Any] = field(default_factory=dict)
    clock: dict[str, Any] = field(default_factory=dict)       # the clock write of the clock step, if any
    partner: dict[str, Any] | None = None           # the substation's other point (SS1/SS2): approach temperature
    technician: str = ""
    notes: str = ""
    signed: bool = False

    # ---- the meter -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.identify.get("kind") or "heat"

    def rating(self) -> cm.MeterRating:
        i = self.identify

        def num(k):
            v = i.get(k)
            try:
                return None if v in (None, "") else float(v)
            except (TypeError, ValueError):
                return None

        cls = i.get("mid_class")
        return cm.MeterRating(kind=self.kind, mid_class=int(cls) if cls not in (None, "") else None,
                              qp_m3h=num("qp_m3h"), qi_m3h=num("qi_m3h"), qs_m3h=num("qs_m3h"),
                              dtheta_min_k=num("dtheta_min_k"), dtheta_max_k=num("dtheta_max_k"),
                              flow_sensor_position=i.get("flow_sensor_position") or None)

    @property
    def meter_label(self) -> str:
        make = self.identify.get("manufacturer") or self.identify.get("mbus_manufacturer") or "meter"
        serial = self.identify.get("serial") or self.identify.get("secondary_address") or "?"
        return f"{make} {serial}"

    def readouts_with(self, role: str) -> list[dict[str, Any]]:
        return [r for r in self.readouts if r.get("role") == role]

    # ---- persistence -----------------------------------------------------------------
    def plausibility_json(self) -> dict[str, Any]:
        """What goes into the record's ``plausibility`` column."""
        return {"format": FORMAT, "step": self.step, "bus_meter": self.bus_meter, "identify": self.identify,
                "place": self.place, "readouts": [_strip(r) for r in self.readouts], "checks": self.checks,
                "mpe": self.mpe, "observation": self.observation, "meter_id": self.meter_id,
                "clock": self.clock, "partner": self.partner,
                "verdict": cm.overall_verdict(self.answers, self.checks) if self.checks else None}

    def to_json(self) -> dict[str, Any]:
        """The whole state (pending drafts in the settings keep readouts with their frames)."""
        d = self.plausibility_json()
        d.update(record_id=self.record_id, version=self.version, meter_version=self.meter_version,
                 answers=self.answers, technician=self.technician, notes=self.notes,
                 readouts=list(self.readouts))
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CommissioningState:
        return cls(step=int(d.get("step") or 1), record_id=d.get("record_id"), version=d.get("version"),
                   meter_id=d.get("meter_id"), meter_version=d.get("meter_version"), bus_meter=d.get("bus_meter"),
                   identify=dict(d.get("identify") or {}), place=dict(d.get("place") or {}),
                   answers=dict(d.get("answers") or {}), readouts=list(d.get("readouts") or []),
                   checks=list(d.get("checks") or []), mpe=d.get("mpe"),
                   observation=dict(d.get("observation") or {}), clock=dict(d.get("clock") or {}),
                   partner=d.get("partner"), technician=d.get("technician") or "", notes=d.get("notes") or "")

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> CommissioningState:
        """Rebuild the state from a register commissioning record (a draft to resume)."""
        p = dict(rec.get("plausibility") or {})
        s = cls.from_json(p)
        s.record_id = rec["id"]
        s.version = rec.get("version")
        s.meter_id = rec.get("meter_id")
        s.step = max(1, min(len(STEPS), int(rec.get("current_step") or p.get("step") or 1)))
        s.answers = {k: dict(v or {}) for k, v in (rec.get("checklist") or {}).items()}
        # a draft's technician column holds the account that opened it (the register's default), not a
        # person who commissioned anything: only a signed record's technician is carried over
        s.technician = (rec.get("technician") or "") if rec.get("status") == "signed" else ""
        s.notes = rec.get("notes") or ""
        s.signed = rec.get("status") == "signed"
        return s


def _strip(r: dict[str, Any]) -> dict[str, Any]:
    """A readout as referenced from the record: saved readouts by id (their frames are in
    the register), unsaved ones whole."""
    if r.get("id") is not None:
        return {k: v for k, v in r.items() if k not in ("frames_hex", "telegrams")}
    return dict(r)


def readout_entry(role: str, readout, readout_id: int | None = None) -> dict[str, Any]:
    """A state entry for a :class:`~app.services.commissioning.meter.MeterReadout`."""
    return {"role": role, "id": readout_id, "read_at": readout.read_at.isoformat(),
            "frames_hex": [f.hex().upper() for f in readout.frames], "telegrams": readout.telegrams,
            "transport": readout.transport, "port": readout.port, "baud": readout.baud}


def entry_values(entry: dict[str, Any], kind: str) -> cm.ReadoutValues:
    """:class:`ReadoutValues` of a state readout entry (it must carry its telegrams)."""
    t = dt.datetime.fromisoformat(entry["read_at"])
    return cm.readout_values(entry.get("telegrams") or [], t, kind)


def local_naive(t: dt.datetime) -> dt.datetime:
    """An aware time as the laptop's local wall-clock time (the meter's clock is local)."""
    return t.astimezone().replace(tzinfo=None) if t.tzinfo is not None else t


def compute_checks(state: CommissioningState, samples=()) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The plausibility checks on the latest readout (the end of the observation window
    when there is one), the energy increment from the first plausibility readout, and
    the MPE at the latest operating point. Plain Python (IAPWS-IF97 for k): run it in
    a worker. Returns (checks as dicts, MPE dict or None)."""
    kind = state.kind
    checks = state.readouts_with("check")
    ends = state.readouts_with("observation_end")
    if not checks:
        return list(state.checks), state.mpe
    first = entry_values(checks[0], kind)
    latest_entry = ends[-1] if ends else checks[-1]
    latest = entry_values(latest_entry, kind)
    rating = state.rating()
    results = cm.plausibility(rating, latest, first=None if latest_entry is checks[0] else first,
                              laptop_time=local_naive(latest.read_at), samples=samples)
    results += point_checks(state, latest)
    m = cm.operating_point_mpe(rating, latest.flow_m3h, latest.dtheta)
    mpe = None if m is None else {**m.as_dict(), "operating_point": {"q_m3h": latest.flow_m3h,
                                                                     "dtheta_k": latest.dtheta}}
    return [r.to_dict() for r in results], mpe


def copy_state(state: CommissioningState) -> CommissioningState:
    """An independent copy (what a worker gets, so that the page's state is never shared across threads)."""
    import copy

    s = CommissioningState.from_json(copy.deepcopy(state.to_json()))
    s.signed = state.signed
    return s


def annex_point(state: CommissioningState) -> tuple[str | None, int | None]:
    """(MMS Annex A id, minimum read interval in minutes) of the state's monitoring point, or (None, None)."""
    from app.storage.register import annex_a

    mp = (state.place.get("monitoring_point") or "").strip().upper()
    info = annex_a().get(mp)
    return (mp, info["read_interval_min"]) if info else (None, None)


def _hours_apart(a: str | None, b: str | None) -> float | None:
    try:
        ta, tb = dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)
    except (TypeError, ValueError):
        return None
    return abs((tb - ta).total_seconds()) / 3600.0


def point_checks(state: CommissioningState, latest: cm.ReadoutValues) -> list[cm.CheckResult]:
    """The checks of the monitoring point: Annex A data items (with the read frequency the observation
    window showed), VWAFT at the design flow temperature at SS2 (SS-KPI-09A), the approach temperature
    with the substation's other point (SS-KPI-12) when both are commissioned (``state.partner``)."""
    mp, interval = annex_point(state)
    obs = state.observation or {}
    kpis = obs.get("kpis") or {}
    out = [cm.check_data_items(mp or state.place.get("monitoring_point"), latest, read_interval_min=interval,
                               poll_interval_s=kpis.get("interval_s"),
                               completeness_status=(kpis.get("completeness") or {}).get("status"))]
    design = state.place.get("design_flow_c")
    try:
        design = None if design in (None, "") else float(design)
    except (TypeError, ValueError):
        design = None
    vw = cm.check_vwaft_setpoint(mp, kpis.get("vwaft_c"), design)
    if vw is not None:
        out.append(vw)
    partner = state.partner or {}
    if mp in ("SS1", "SS2") and partner and kpis:
        own, other = kpis.get("mean_return_c"), partner.get("mean_return_c")
        ss1, ss2 = (own, other) if mp == "SS1" else (other, own)
        out.append(cm.check_approach(ss1, ss2, other=f"{partner.get('point')} record {partner.get('record_id')}",
                                     hours_apart=_hours_apart(partner.get("ended"), obs.get("ended"))))
    return out
