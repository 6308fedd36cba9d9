"""The commissioning workflow on the register: one function per thing that is stored.

Every function takes the open register and a :class:`CommissioningState`,
updates the state (record id and version, meter id, readout ids, step) and
returns what the caller shows. Each write carries the version of the record the
previous one made (``expected_version``): a draft changed meanwhile elsewhere
is refused with ``ConflictError``, never overwritten. The rules (checklist,
plausibility, observation window, verdict) are in ``app.core.commissioning``;
the readouts are saved as evidence through ``app.services.readouts``.

The steps, in order (the Commission page calls them in its worker tasks; a
command-line or radio commissioning can call them the same way):

1. :func:`identify` — the meter read (:func:`apply_identification`) or picked
   from the register (:func:`take_register_meter`); when the register knows it,
   the draft record starts and the readouts are kept as evidence;
2. :func:`place` — the meter is created, moved or updated at its place and the
   draft record starts if it had not;
3. :func:`advance` — checklist answers saved with each step (:func:`save_draft`
   in between);
4. :func:`save_check_readout` — a plausibility readout stored and the checks
   run (:func:`check_identity` first);
5. :func:`save_observation` — the observation window's KPIs
   (:func:`observation_record`) and its first and last readouts;
6. :func:`sign` — signed, with the data of the certificate
   (:class:`SignOff`).

Drafts: :func:`find_drafts` (a user's unfinished records), :func:`load_draft`.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core import commissioning as cm
from app.services.commissioning.meter import MeterReadout, MeterRef
from app.services.commissioning.state import (IDENTITY_FIELDS, PLACE_FIELDS, CommissioningState, compute_checks,
                                              readout_entry)

#: rating and identity fields the technician may correct on a meter the register knows
RATING_FIELDS = ("model", "mbus_manufacturer", "secondary_address", "primary_address", "mid_class", "qp_m3h",
                 "qi_m3h", "qs_m3h", "dtheta_min_k", "dtheta_max_k", "flow_sensor_position")


def _user(user: str | None) -> str:
    if user:
        return user
    from app.storage.register import default_user

    return default_user()


def _apply(state: CommissioningState, rec: dict[str, Any] | None) -> dict[str, Any] | None:
    if rec:
        state.record_id, state.version, state.meter_id = rec["id"], rec["version"], rec["meter_id"]
    return rec


# ============================================================================ drafts

def find_drafts(reg, user: str | None = None) -> list[dict[str, Any]]:
    """The unfinished commissioning records ``user`` started, newest first: ``{id, label, step, updated_at}``
    (a draft of a meter deleted since is left out). On PostgreSQL the records name the role that
    connected, so that is whose drafts these are."""
    out = []
    for rec in reg.list_commissioning(status="draft", created_by=reg.user_name(_user(user))):
        try:
            label = reg.get_meter(rec["meter_id"]).label
        except Exception:  # noqa: BLE001 - a draft of a deleted meter is not offered
            continue
        out.append({"id": rec["id"], "label": label, "step": max(1, rec["current_step"] or 1),
                    "updated_at": rec["updated_at"]})
    return out


def load_draft(reg, record_id: int) -> CommissioningState:
    """The state of a draft record, with the frames and decodes of its saved readouts put back."""
    rec = reg.get_commissioning(record_id)
    s = CommissioningState.from_record(rec)
    meter = reg.get_meter(rec["meter_id"])
    s.meter_version = meter.version
    by_id = {r["id"]: r for r in reg.readouts(meter.id)}
    for entry in s.readouts:
        r = by_id.get(entry.get("id"))
        if r is not None:
            entry["frames_hex"] = [f.hex().upper() for f in r["frames"]]
            entry["telegrams"] = r["decoded"] or []
    return s


def save_draft(reg, state: CommissioningState, *, user: str | None = None) -> dict[str, Any]:
    """Save the step, the answers and the rest of the state in the draft record (which must exist)."""
    return _apply(state, reg.save_commissioning_step(
        state.record_id, step=state.step, answers=state.answers, plausibility=state.plausibility_json(),
        expected_version=state.version, user=_user(user)))


def _start_record(reg, state: CommissioningState, meter_id: int, user: str) -> None:
    if state.record_id is None:
        rec = reg.create_commissioning(meter_id, user=user)
        state.record_id, state.version = rec["id"], rec["version"]


def _save_step(reg, state: CommissioningState, step: int, user: str, **kw: Any) -> dict[str, Any]:
    state.step = step
    return _apply(state, reg.save_commissioning_step(state.record_id, step=step, plausibility=state.plausibility_json(),
                                                     expected_version=state.version, user=user, **kw))


# ============================================================================ evidence

def save_unsaved_readouts(reg, state: CommissioningState, meter_id: int, *, user: str | None = None) -> None:
    """Save every readout of the state not in the register yet, as evidence of the record; their ids go
    into the state."""
    from app.services import readouts

    for r in state.readouts:
        if r.get("id") is not None or not r.get("frames_hex"):
            continue
        ev = readouts.Evidence(frames=[bytes.fromhex(h) for h in r["frames_hex"]], telegrams=r.get("telegrams") or [],
                               read_at=dt.datetime.fromisoformat(r["read_at"]), transport=r.get("transport"),
                               port=r.get("port"), baud=r.get("baud"),
                               primary_address=(r.get("telegrams") or [{}])[0].get("address"))
        r["id"] = readouts.save_readout(reg, ev, meter_id=meter_id, user=_user(user),
                                        commissioning_id=state.record_id).readout_id


# ============================================================================ step 1: identify

def match_meter(reg, readout: MeterReadout):
    """The register's meter that sent ``readout`` (by FLAG code and identification), or None."""
    first = readout.first
    meter, _how, _candidates = reg.match_meter(first.get("manufacturer"), first.get("identification"))
    return meter


def take_register_meter(state: CommissioningState, meter) -> None:
    """Fill what the register knows of ``meter`` (rating, place) without overwriting what was read."""
    i = state.identify
    state.meter_id = meter.id
    state.meter_version = meter.version
    for k in ("manufacturer", "model", "serial"):   # the register's identity wins: it names the meter
        if getattr(meter, k):
            i[k] = getattr(meter, k)
    for k in ("mid_class", "qp_m3h", "qs_m3h", "dtheta_min_k", "dtheta_max_k",
              "flow_sensor_position", "mbus_manufacturer", "secondary_address", "primary_address"):
        v = getattr(meter, k)
        if v is not None and i.get(k) in (None, ""):
            i[k] = v
    if i.get("qi_m3h") in (None, "") and meter.qi_effective_m3h is not None:
        i["qi_m3h"] = round(meter.qi_effective_m3h, 6)
    if not state.place.get("site"):
        state.place = place_of(meter)


def place_of(meter) -> dict[str, Any]:
    return {"site": meter.site, "building": meter.building, "location": meter.location,
            "monitoring_point": meter.monitoring_point}


def use_register_meter(state: CommissioningState, meter) -> None:
    """Start from a meter picked in the register (its bus address is the register's)."""
    state.identify = {}
    take_register_meter(state, meter)
    state.identify.setdefault("kind", "heat")
    state.bus_meter = MeterRef(meter.primary_address, meter.secondary_address, meter.mbus_manufacturer).to_dict()


def fabrication_number(telegrams: Sequence[dict[str, Any]]) -> str | None:
    """The meter's fabrication number (serial on the plate) where a telegram carries it."""
    for t in telegrams:
        for r in t.get("records") or []:
            if r.get("quantity") == "fabrication_number" and not r.get("storage"):
                return str(r.get("value"))
    return None


def apply_identification(state: CommissioningState, readout: MeterReadout, meter=None) -> None:
    """Fill the identity from an identifying readout (FLAG code, identification, medium, kind, version,
    serial from the fabrication number, the model where the make registry knows the version byte) and
    ``meter`` (the register's, if it knows it); the readout becomes the state's identification evidence."""
    from drivers.makes import make_name, model_name

    first = readout.first
    i = state.identify
    i.pop("radio", None)               # read on the bus (a radio identification sets it again after this)
    flag = first.get("manufacturer")
    medium = first.get("medium")
    i.update({"mbus_manufacturer": flag, "secondary_address": first.get("identification"),
              "identification": first.get("identification"), "medium": medium,
              "medium_code": first.get("medium_code"), "version": first.get("version"),
              "kind": cm.KIND_BY_MEDIUM.get(medium or "", "heat"),
              "primary_address": readout.meter.primary_address or i.get("primary_address")})
    if not i.get("manufacturer") or (meter is None and i.get("mbus_manufacturer") != flag):
        i["manufacturer"] = make_name(flag) or flag
    if not i.get("model"):
        # the model the make registry knows from the version byte (what the Scan list shows); the plate
        # may say more (a variant): the technician checks it
        i["model"] = model_name(flag, first.get("version"))
    i["serial"] = fabrication_number(readout.telegrams) or i.get("serial") or first.get("identification")
    if not i.get("flow_sensor_position"):
        i["flow_sensor_position"] = cm.POSITION_BY_MEDIUM.get(medium or "")
    if meter is not None:
        take_register_meter(state, meter)
    state.bus_meter = readout.meter.to_dict()
    state.readouts = [r for r in state.readouts if r.get("role") != "identify"]
    state.readouts.append(readout_entry("identify", readout))


def complete_identity(state: CommissioningState) -> None:
    """Before leaving step 1: the FLAG code from the make where none was read, and the bus reference."""
    from app.storage.manufacturers import flag_for_make

    i = state.identify
    i["mbus_manufacturer"] = i.get("mbus_manufacturer") or flag_for_make(i.get("manufacturer"))
    if state.bus_meter is None and i.get("secondary_address"):
        state.bus_meter = MeterRef(i.get("primary_address"), i.get("secondary_address"),
                                   i.get("mbus_manufacturer")).to_dict()


def update_rating(reg, meter, identify: dict[str, Any], *, user: str | None = None):
    """Write the rating and identity the technician entered where the register differs (logged)."""
    changes = {}
    for k in RATING_FIELDS:
        v = identify.get(k)
        if v in (None, ""):
            continue
        cur = getattr(meter, k)
        if isinstance(v, float) and isinstance(cur, (int, float)) and abs(v - cur) < 1e-9:
            continue
        if cur != v:
            changes[k] = v
    if "qi_m3h" in changes and meter.qp_qi_ratio:
        qp = changes.get("qp_m3h", meter.qp_m3h)
        if qp and abs(qp / changes["qi_m3h"] - meter.qp_qi_ratio) > 0.01 * meter.qp_qi_ratio:
            changes["qp_qi_ratio"] = round(qp / changes["qi_m3h"], 6)
    if not changes:
        return meter
    return reg.update_meter(meter.id, changes, expected_version=meter.version, user=_user(user),
                            source="commissioning")


def identify(reg, state: CommissioningState, *, user: str | None = None) -> dict[str, Any]:
    """Finish step 1. A meter the register knows (by id, or make and serial): its rating is updated, the
    draft record starts, the readouts are saved as evidence and the state moves to step 2. Returns
    ``{"meter": MeterRecord | None, "record": dict | None, "readouts": [...]}``; meter None: not in the
    register yet (it is created at :func:`place`; keep the state as a pending draft meanwhile)."""
    from app.storage.errors import NotFound

    user = _user(user)
    if state.meter_id is not None:
        meter = reg.get_meter(state.meter_id)
    else:
        try:
            meter = reg.find_meter(state.identify["manufacturer"], state.identify["serial"])
        except NotFound:
            meter = None
    if meter is None:
        return {"meter": None, "record": None, "readouts": state.readouts}
    meter = update_rating(reg, meter, state.identify, user=user)
    _start_record(reg, state, meter.id, user)
    save_unsaved_readouts(reg, state, meter.id, user=user)
    rec = _save_step(reg, state, 2, user)
    state.meter_version = meter.version
    return {"meter": meter, "record": rec, "readouts": state.readouts}


# ============================================================================ step 2: place

def place(reg, state: CommissioningState, *, user: str | None = None) -> dict[str, Any]:
    """Finish step 2: create the meter at its place (a meter the register did not know, with the identity
    and rating of step 1), or move it there (another site or monitoring point, on the install date), or
    update its building, location and status; start the draft record if it had not; save the readouts;
    move to step 3. Returns ``{"meter", "record", "readouts"}``."""
    user = _user(user)
    p = state.place
    on = dt.date.fromisoformat(p["install_date"])
    if state.meter_id is None:
        fields = {k: state.identify.get(k) for k in IDENTITY_FIELDS}
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        fields.update({k: p[k] for k in PLACE_FIELDS if p.get(k)})
        fields.update(install_date=on, status="in_service")
        meter = reg.create_meter(fields, user=user, source="commissioning")
    else:
        meter = update_rating(reg, reg.get_meter(state.meter_id), state.identify, user=user)
        moved = (meter.site != p["site"] or (meter.monitoring_point or None) != p.get("monitoring_point"))
        if moved:
            meter = reg.move_meter(meter.id, on=on, site=p["site"], building=p.get("building"),
                                   monitoring_point=p.get("monitoring_point"), location=p.get("location"),
                                   expected_version=meter.version, user=user, reason="placed at commissioning")
        else:
            changes = {k: p.get(k) for k in ("building", "location") if (getattr(meter, k) or None) != p.get(k)}
            if meter.status != "in_service":
                changes["status"] = "in_service"
            if changes:
                meter = reg.update_meter(meter.id, changes, expected_version=meter.version, user=user,
                                         source="commissioning")
    _start_record(reg, state, meter.id, user)
    state.meter_id = meter.id
    save_unsaved_readouts(reg, state, meter.id, user=user)
    rec = _save_step(reg, state, 3, user)
    state.meter_version = meter.version
    return {"meter": meter, "record": rec, "readouts": state.readouts}


def place_lists(reg, site: str | None) -> tuple[list[str], dict[str, dict[str, Any]], list]:
    """What the place step offers: the register's sites, the MMS Annex A monitoring points, and the
    points used at ``site``."""
    return ([s["name"] for s in reg.list_sites()], *monitoring_points(reg, site))


def monitoring_points(reg, site: str | None) -> tuple[dict[str, dict[str, Any]], list]:
    """The MMS Annex A monitoring points, and the points used at ``site``."""
    from app.storage.register import annex_a

    return annex_a(), (reg.list_monitoring_points(site) if site else [])


# ============================================================================ steps 3-5

def advance(reg, state: CommissioningState, to: int, *, user: str | None = None) -> dict[str, Any]:
    """Save the answers and move the draft to step ``to``."""
    return _save_step(reg, state, to, _user(user), answers=state.answers)


def check_identity(state: CommissioningState, readout: MeterReadout) -> str | None:
    """None when ``readout`` comes from the meter being commissioned; else the one-line reason."""
    got, want = readout.first.get("identification"), state.identify.get("secondary_address")
    if want and got and got != want:
        return (f"{readout.meter.label} answered, not the meter being commissioned ({want}): check its address "
                "(step 1). Nothing was saved from this readout.")
    return None


def note_check_readout(state: CommissioningState, readout: MeterReadout) -> dict[str, Any]:
    """Take what a plausibility readout says of the meter (bus reference, medium, kind); its state entry."""
    i = state.identify
    if readout.meter.key:
        state.bus_meter = readout.meter.to_dict()
    for k in ("medium", "medium_code", "version"):
        if i.get(k) in (None, ""):
            i[k] = readout.first.get(k)
    if not i.get("kind"):
        i["kind"] = cm.KIND_BY_MEDIUM.get(i.get("medium") or "", "heat")
    return readout_entry("check", readout)


def save_check_readout(reg, state: CommissioningState, readout: MeterReadout, entry: dict[str, Any], *,
                       user: str | None = None) -> tuple[int, list[dict[str, Any]], dict[str, Any] | None]:
    """Store a plausibility readout as evidence of the record, add it to the state and run the checks:
    ``(readout_id, checks, mpe)``."""
    from app.services import readouts

    rid = readouts.save_readout(reg, readout.evidence(), meter_id=state.meter_id, user=_user(user),
                                commissioning_id=state.record_id).readout_id
    state.readouts.append(dict(entry, id=rid))
    return (rid, *compute_checks(state))


def run_checks(state: CommissioningState, entry: dict[str, Any] | None = None):
    """The checks with ``entry`` added (a readout not stored: checked all the same): ``(checks, mpe)``."""
    if entry is not None:
        state.readouts.append(entry)
    return compute_checks(state)


def observation_record(samples: Sequence[cm.ObservationSample], *, start_epoch_s: float, end_epoch_s: float,
                       interval_s: float, planned_s: float, missed: int, ended_early: str | None,
                       first: MeterReadout | None, last: MeterReadout | None
                       ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What an observation window leaves: the ``observation`` of the state (KPIs of
    ``app.core.commissioning.observation_kpis``, times, samples) and the state entries of its first and
    last readouts."""
    kpis = cm.observation_kpis(samples, start_epoch_s=start_epoch_s, end_epoch_s=end_epoch_s, interval_s=interval_s)
    obs = {"kpis": kpis, "ended_early": ended_early,
           "started": dt.datetime.fromtimestamp(start_epoch_s).astimezone().isoformat(timespec="seconds"),
           "ended": dt.datetime.fromtimestamp(end_epoch_s).astimezone().isoformat(timespec="seconds"),
           "planned_s": planned_s, "missed": missed,
           "samples": [[x.t_epoch_s, x.power_kw, x.flow_m3h, x.t_flow_c, x.t_return_c, x.energy_kwh, x.volume_m3,
                        x.dtheta_k] for x in samples]}
    entries = []
    if first is not None:
        entries.append(readout_entry("observation_start", first))
    if last is not None and last is not first:
        entries.append(readout_entry("observation_end", last))
    return obs, entries


def save_observation(reg, state: CommissioningState, weights=(), *, user: str | None = None
                     ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]], dict | None]:
    """The checks again over the whole window (``weights``: (flow, t_flow, t_return, seconds) per sample),
    the window's readouts saved and the draft saved at step 5: ``(record, readouts, checks, mpe)``."""
    from app.services.commissioning.evidence import substation_partner

    substation_partner(reg, state)                             # the approach temperature needs the other point
    state.checks, state.mpe = compute_checks(state, weights)   # the increment over the whole window
    rec = None
    if state.record_id is not None:
        user = _user(user)
        save_unsaved_readouts(reg, state, state.meter_id, user=user)
        rec = _save_step(reg, state, 5, user)
    return rec, state.readouts, state.checks, state.mpe


# ============================================================================ step 6: sign-off

@dataclass
class SignOff:
    """A signed record and what its certificate shows: the state (every answer, check, KPI and readout
    with its frames), the register record (``signed_by``, ``signed_at``, ``commissioned_on``) and the
    monitoring point's MMS Annex A entry, and the record's photos with their bytes."""

    state: CommissioningState
    record: dict[str, Any]
    point_info: dict[str, Any] | None
    photos: list[dict[str, Any]] = field(default_factory=list)   # with their bytes, in the order added

    @property
    def verdict(self) -> str:
        return cm.overall_verdict(self.state.answers, self.state.checks)

    def file_name(self, on: dt.date | None = None) -> str:
        return certificate_file_name(self.state, on)


def certificate_file_name(state: CommissioningState, on: dt.date | None = None) -> str:
    """``commissioning-Kamstrup-71234567-2025-06-01.pdf``."""
    on = on or dt.date.today()
    make = re.sub(r"[^A-Za-z0-9]+", "-", state.identify.get("manufacturer") or "meter").strip("-")
    serial = re.sub(r"[^A-Za-z0-9]+", "-", state.identify.get("serial") or "unknown").strip("-")
    return f"commissioning-{make}-{serial}-{on.isoformat()}.pdf"


def sign_problems(state: CommissioningState) -> list[tuple[str, str]]:
    """Why the record cannot be signed yet, as (key, message) (empty: it can)."""
    out = []
    if not (state.technician or "").strip():
        out.append(("technician", "Enter the technician's name to sign."))
    if state.record_id is None:
        out.append(("record", "The record is not in the register yet: go back and place the meter."))
    return out


def sign(reg, state: CommissioningState, *, user: str | None = None, on: dt.date | None = None) -> SignOff:
    """Save the last readouts and the whole state (commissioned on ``on``, default today), sign the record
    as the technician, and return the certificate's data. Refused (``InputError``, see
    :func:`sign_problems`) without a technician or before the meter is placed."""
    from app.core.errors import InputError
    from app.storage.register import annex_a

    problems = sign_problems(state)
    if problems:
        raise InputError(*problems[0])
    user = _user(user)
    save_unsaved_readouts(reg, state, state.meter_id, user=user)
    state.step = 6
    _apply(state, reg.save_commissioning_step(
        state.record_id, step=6, answers=state.answers, notes=state.notes or None,
        plausibility=state.plausibility_json(), technician=state.technician,
        commissioned_on=on or dt.date.today(), expected_version=state.version, user=user))
    rec = _apply(state, reg.sign_commissioning(state.record_id, user=user, signed_by=state.technician))
    state.signed = True
    point = annex_a().get((state.place.get("monitoring_point") or "").upper())
    return SignOff(state=state, record=rec, point_info=point,
                   photos=reg.commissioning_photos(state.record_id, with_data=True))


__all__ = ["RATING_FIELDS", "find_drafts", "load_draft", "save_draft", "save_unsaved_readouts", "match_meter",
           "take_register_meter", "place_of", "use_register_meter", "fabrication_number", "apply_identification",
           "complete_identity", "update_rating", "identify", "place", "place_lists", "monitoring_points", "advance", "check_identity",
           "note_check_readout", "save_check_readout", "run_checks", "observation_record", "save_observation",
           "SignOff", "certificate_file_name", "sign_problems", "sign"]
