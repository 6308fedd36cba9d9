"""Saving a readout or proposing its meter (``app.services.readouts``): the one workflow behind
``heatmeter read --save``, the Readout page and the Commission wizard's evidence.

The readouts are real ones of a simulated Kamstrup (FLAG code KAM, identification 71234567 at
primary address 1, 2400 Bd: the simulator configuration below); what is expected comes from that
configuration and from the FLAG register (KAM = Kamstrup), never from the service's own output.
"""
from __future__ import annotations

import datetime as dt

import pytest

from drivers.simulator import MeterConfig

from app.services import readouts
from app.services.readouts import Evidence

from tests.helpers.trust import recorded

KAM = MeterConfig("71234567", "KAM", 0x08, 0x04, primary_address=1, layout="kamstrup")


@pytest.fixture
def kam_readout(sim_session):
    session, _transport = sim_session(KAM)
    return session.read_address(1)


def test_evidence_keeps_the_frames_and_says_where_they_came_from(kam_readout):
    ev = Evidence.from_readout(kam_readout)
    assert ev.frames == tuple(kam_readout.frames) and all(isinstance(f, bytes) for f in ev.frames)
    assert [t["identification"] for t in ev.telegrams] == ["71234567"] * len(kam_readout.frames)
    assert (ev.primary_address, ev.baud, ev.transport) == (1, 2400, "simulator")
    assert ev.label == "KAM 71234567"


def test_an_unknown_meter_is_proposed_and_nothing_is_stored(reg, kam_readout):
    out = readouts.save_readout(reg, Evidence.from_readout(kam_readout), user="tech1", site="Riser 3")
    assert out.status == "no_match" and not out.saved and out.readout_id is None
    assert out.label == "KAM 71234567"
    p = out.proposal
    assert (p["manufacturer"], p["mbus_manufacturer"], p["serial"], p["secondary_address"]) == \
        ("Kamstrup", "KAM", "71234567", "71234567")
    assert (p["site"], p["primary_address"], p["baud"]) == ("Riser 3", 1, 2400)
    assert p["model"]                                       # named from the version byte, or "unknown (...)"
    assert reg.count_meters() == 0


def test_the_proposal_is_created_the_readout_stored_byte_for_byte_then_matched(reg, kam_readout):
    ev = Evidence.from_readout(kam_readout)
    out = readouts.save_or_create(reg, ev, user="tech1", create=True, site="Riser 3", source="test")
    assert out.status == "saved" and out.created and out.matched_by == "meter_id"
    m = reg.find_meter("KAM", "71234567")
    assert out.meter.id == m.id
    assert (m.manufacturer, m.serial, m.secondary_address, m.primary_address, m.site) == \
        ("Kamstrup", "71234567", "71234567", 1, "Riser 3")
    (stored,) = reg.readouts(m.id)
    assert stored["id"] == out.readout_id and stored["read_by"] == recorded(reg, "tech1")
    assert stored["frames"] == list(kam_readout.frames)
    assert stored["decoded"] == [t.to_json() for t in kam_readout.telegrams]
    # kept as the readout's own time, in UTC without a zone (the register's convention)
    assert stored["read_at"] == kam_readout.read_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    assert (stored["transport"], stored["baud"], stored["primary_address"]) == ("simulator", 2400, 1)
    actions = [(e["entity"], e["action"], e["user"]) for e in reg.history(m.id)]
    who = recorded(reg, "tech1")
    assert ("meters", "create", who) in actions and ("readouts", "create", who) in actions

    again = readouts.save_or_create(reg, ev, user="tech2", create=True)
    assert again.status == "saved" and not again.created
    assert again.matched_by == "manufacturer+secondary_address" and again.meter.id == m.id
    assert reg.count_meters() == 1 and len(reg.readouts(m.id)) == 2


def test_edited_fields_create_the_meter(reg, kam_readout):
    ev = Evidence.from_readout(kam_readout)
    fields = dict(readouts.save_readout(reg, ev).proposal, site="Plant room B", model="MULTICAL 603", location="")
    out = readouts.create_meter_and_save(reg, ev, fields, user="tech1")
    m = reg.get_meter(out.meter.id)
    assert (m.site, m.model, m.location) == ("Plant room B", "MULTICAL 603", None)


def test_a_readout_can_be_kept_as_evidence_of_a_commissioning_of_its_own_meter_only(reg, kam_readout):
    from app.storage.errors import ValidationError

    ev = Evidence.from_readout(kam_readout)
    kam = readouts.save_or_create(reg, ev, create=True).meter
    other = reg.create_meter({"manufacturer": "Landis+Gyr", "model": "T550", "serial": "1", "site": "X"}, user="t")
    rec = reg.create_commissioning(kam.id, user="t")
    ids = readouts.save_readouts(reg, [ev, ev], meter_id=kam.id, commissioning_id=rec["id"])
    assert [r["commissioning_id"] for r in reg.readouts(kam.id) if r["id"] in ids] == [rec["id"]] * 2
    with pytest.raises(ValidationError):
        readouts.save_readout(reg, ev, meter_id=other.id, commissioning_id=rec["id"])
