"""The commissioning workflow without the app (``app.services.commissioning``): a command or a radio
commissioning drives the same steps the Commission page does.

Readouts are real ones of simulated meters (configurations below) on a virtual clock; the register is
SQLite and PostgreSQL. Expected values come from the configurations, the checklist of
``app.core.commissioning`` and the register's own records, not from the workflow's return values.
"""
from __future__ import annotations

import datetime as dt

import pytest

from drivers.simulator import MeterConfig

from app.core import commissioning as cm
from app.services import commissioning as svc

KAM = MeterConfig("71234567", "KAM", 0x08, 0x04, primary_address=1, layout="kamstrup")
LUG = MeterConfig("62100013", "LUG", 0x02, 0x04, primary_address=2, layout="landis")
RATING = {"model": "MULTICAL 603", "mid_class": 2, "qp_m3h": 1.5, "qi_m3h": 0.015, "qs_m3h": 3.0,
          "dtheta_min_k": 3.0, "dtheta_max_k": 150.0}
PLACE = {"site": "North Works", "building": "Energy centre", "location": "Plant room", "monitoring_point": "SS2",
         "install_date": "2025-05-01"}


@pytest.fixture
def bus(sim_session):
    session, transport = sim_session(KAM, LUG)

    def read(address: int = 1, *, after_s: float = 0) -> svc.MeterReadout:
        if after_s:
            transport.idle(after_s)        # minutes of flow on the meters' clock
        return svc.MeterReadout.from_readout(session.read_address(address))

    return read


def _placed(reg, read) -> svc.CommissioningState:
    """Steps 1 and 2 of a meter the register does not know: read, rated, placed."""
    s = svc.CommissioningState()
    first = read()
    assert svc.match_meter(reg, first) is None
    svc.apply_identification(s, first, None)
    s.identify.update(RATING)
    svc.complete_identity(s)
    out = svc.identify(reg, s, user="ann")
    assert out["meter"] is None and s.record_id is None          # created when placed
    s.place = dict(PLACE)
    out = svc.place(reg, s, user="ann")
    assert out["meter"] is not None and s.step == 3
    return s


def test_a_meter_is_commissioned_from_first_readout_to_signature(reg, bus):
    s = _placed(reg, bus)
    meter = reg.find_meter("Kamstrup", "71234567")
    assert (meter.mbus_manufacturer, meter.secondary_address, meter.primary_address, meter.model, meter.site,
            meter.monitoring_point, meter.status) == ("KAM", "71234567", 1, "MULTICAL 603", "North Works", "SS2",
                                                      "in_service")
    assert s.identify["kind"] == "heat"                          # medium 0x04: heat (outlet)

    s.answers = {i.key: {"answer": "yes", "note": "M24" if i.key == "mid_marking" else None} for i in cm.CHECKLIST}
    svc.advance(reg, s, 4, user="ann")
    for after in (0, 900):
        ro = bus(after_s=after)
        assert svc.check_identity(s, ro) is None
        entry = svc.note_check_readout(s, ro)
        _rid, checks, _mpe = svc.save_check_readout(reg, s, ro, entry, user="ann")
    assert {c["key"] for c in checks} == {"temperature_order", "dtheta_range", "flow_range", "energy_increment",
                                          "clock", "status", "data_items", "vwaft_setpoint"}
    # SS2: the Annex A data items, and VWAFT at the design flow temperature (none given here: warn)
    items = next(c for c in checks if c["key"] == "data_items")
    assert items["values"]["mms_id"] == "SS2" and items["values"]["missing"] == []
    svc.advance(reg, s, 5, user="ann")

    samples, first, last, t0 = [], None, None, 1_750_000_000.0
    for k in range(3):
        ro = bus(after_s=5)
        v = cm.readout_values(ro.telegrams, ro.read_at, s.kind)
        samples.append(cm.ObservationSample(t0 + 5 * k, v.flow_m3h, v.t_flow_c, v.t_return_c, v.power_kw,
                                            v.energy_kwh, v.volume_m3))
        first, last = first or ro, ro
    s.observation, entries = svc.observation_record(samples, start_epoch_s=t0, end_epoch_s=t0 + 15, interval_s=5,
                                                    planned_s=15, missed=0, ended_early=None, first=first, last=last)
    s.readouts.extend(entries)
    assert s.observation["kpis"]["completeness"]["expected"] == 3
    svc.save_observation(reg, s, [(x.flow_m3h, x.t_flow_c, x.t_return_c, 5) for x in samples], user="ann")
    svc.advance(reg, s, 6, user="ann")

    s.technician = "Ann Example"
    signed = svc.sign(reg, s, user="ann", on=dt.date(2025, 6, 2))
    rec = reg.get_commissioning(s.record_id)
    assert rec["status"] == "signed" and rec["signed_by"] == "Ann Example"
    assert rec["commissioned_on"] == dt.date(2025, 6, 2) and rec["current_step"] == 6
    assert rec["checklist"]["mid_marking"] == {"answer": "yes", "note": "M24"}
    evidence = [r for r in reg.readouts(meter.id) if r["commissioning_id"] == rec["id"]]
    assert len(evidence) == 5        # identification, two plausibility readouts, start and end of the window
    assert sorted(rec["readout_ids"]) == sorted(r["id"] for r in evidence)
    assert all(r["decoded"][0]["identification"] == "71234567" for r in evidence)
    assert signed.record["id"] == rec["id"] and signed.point_info["description"]   # SS2 is in MMS Annex A
    assert signed.file_name(dt.date(2025, 6, 2)) == "commissioning-Kamstrup-71234567-2025-06-02.pdf"
    assert signed.verdict == cm.overall_verdict(rec["checklist"], rec["plausibility"]["checks"])


def test_a_draft_changed_elsewhere_is_not_overwritten(reg, bus):
    from app.storage.errors import ConflictError

    s = _placed(reg, bus)
    here, there = svc.copy_state(s), svc.copy_state(s)
    here.answers = {"seals": {"answer": "yes"}}
    svc.save_draft(reg, here, user="ann")
    there.answers = {"seals": {"answer": "no", "note": "broken"}}
    with pytest.raises(ConflictError):
        svc.save_draft(reg, there, user="bob")
    assert reg.get_commissioning(s.record_id)["checklist"]["seals"]["answer"] == "yes"


def test_a_draft_resumes_with_its_evidence(reg, bus):
    s = _placed(reg, bus)
    (mine,) = svc.find_drafts(reg, user="ann")
    assert (mine["id"], mine["step"], mine["label"]) == (s.record_id, 3, "Kamstrup 71234567")
    if reg.is_sqlite:  # PostgreSQL: ann and bob are both the role the test connects as
        assert svc.find_drafts(reg, user="bob") == []
    back = svc.load_draft(reg, s.record_id)
    assert (back.step, back.meter_id, back.identify["serial"]) == (3, s.meter_id, "71234567")
    (ident,) = back.readouts_with("identify")
    stored = [r for r in reg.readouts(s.meter_id) if r["id"] == ident["id"]][0]
    assert ident["frames_hex"] == [f.hex().upper() for f in stored["frames"]]
    # the account that opened the draft ("ann") is not a technician's name to sign with
    assert reg.get_commissioning(s.record_id)["technician"] == "ann"
    assert back.technician == ""


def test_another_meter_answering_is_refused_and_nothing_is_kept(reg, bus):
    s = _placed(reg, bus)
    wrong = bus(2)                                                # the Landis+Gyr at address 2 answers
    message = svc.check_identity(s, wrong)
    assert message is not None and "62100013" in message and "71234567" in message
    assert len(reg.readouts(s.meter_id)) == 1                     # the identification readout only


def test_signing_needs_a_technician(reg, bus):
    from app.core.errors import InputError

    s = _placed(reg, bus)
    with pytest.raises(InputError) as err:
        svc.sign(reg, s, user="ann")
    assert err.value.key == "technician"
    assert reg.get_commissioning(s.record_id)["status"] == "draft"


def test_a_meter_the_register_knows_keeps_its_place_and_gets_the_corrected_rating(reg, bus):
    reg.create_meter({"manufacturer": "Kamstrup", "model": "MULTICAL 603", "serial": "71234567",
                      "mbus_manufacturer": "KAM", "secondary_address": "71234567", "site": "North Works",
                      "monitoring_point": "SS2", "qp_m3h": 1.5, "qp_qi_ratio": 100}, user="planner")
    s = svc.CommissioningState()
    ro = bus()
    meter = svc.match_meter(reg, ro)
    assert meter is not None
    svc.apply_identification(s, ro, meter)
    assert s.place["site"] == "North Works" and s.meter_id == meter.id
    s.identify["qp_m3h"] = 2.5
    svc.complete_identity(s)
    out = svc.identify(reg, s, user="ann")
    assert out["record"]["meter_id"] == meter.id and s.step == 2
    m = reg.get_meter(meter.id)
    assert m.qp_m3h == 2.5 and m.version == meter.version + 1
    s.place["install_date"] = "2024-05-01"
    svc.place(reg, s, user="ann")
    assert len(reg.installations(meter.id)) == 1                  # same site and point: not moved
