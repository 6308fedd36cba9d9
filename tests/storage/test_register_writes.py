"""Writes to meters (address, baud, clock) and commissioning photos in the register, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from app.storage.errors import SignedRecordError, ValidationError

from tests.helpers.trust import recorded


@pytest.fixture
def kam(reg):
    return reg.create_meter({"site": "North", "manufacturer": "Kamstrup", "model": "MULTICAL 403", "serial": "71234567",
                             "mbus_manufacturer": "KAM", "secondary_address": "71234567", "primary_address": 1,
                             "baud": 2400}, user="ann")


def png(width: int = 2, height: int = 1, rgb: bytes = b"\xff\x00\x00") -> bytes:
    """A valid PNG written by hand (signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + rgb * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# SND_UD of the clock, its acknowledgement, a read-back (any bytes: the register keeps what it is given)
FRAMES = [("tx", bytes.fromhex("68090968730151046D1E0E4F33E416")), ("rx", b"\xe5"), ("tx", bytes.fromhex("107B017C16")),
          ("rx", bytes.fromhex("6803036808017816"))]


def test_a_clock_write_is_kept_with_its_frames_and_logged_with_before_and_after(reg, kam):
    out = reg.record_meter_write("clock", ok=True, outcome="confirmed",
                                 before={"clock": "2026-03-15T13:30:00", "offset_s": -3600.0},
                                 after={"clock": "2026-03-15T14:30:00", "written": "2026-03-15T14:30:00"},
                                 frames=FRAMES, manufacturer="KAM", identification="71234567", user="tech",
                                 port="/dev/ttyUSB0", transport="serial")
    assert out["status"] == "saved" and out["meter_id"] == kam.id
    [w] = reg.meter_writes(kam.id)
    assert (w["kind"], w["ok"], w["outcome"], w["written_by"], w["port"]) == \
        ("clock", True, "confirmed", recorded(reg, "tech"), "/dev/ttyUSB0")
    assert w["frames"] == FRAMES                                   # byte for byte, in order, with direction
    assert w["before"]["clock"] == "2026-03-15T13:30:00" and w["after"]["clock"] == "2026-03-15T14:30:00"
    ev = reg.history(kam.id)[-1]
    assert (ev["action"], ev["entity"], ev["user"]) == ("write_clock", "meter_writes", recorded(reg, "tech"))
    assert ev["before"]["offset_s"] == -3600.0 and ev["after"]["ok"] is True and ev["after"]["frames"] == 4
    assert reg.get_meter(kam.id).version == kam.version           # a clock write does not change the record


def test_a_confirmed_address_write_moves_the_register_record_and_a_refused_one_does_not(reg, kam):
    reg.record_meter_write("address", ok=False, outcome="refused", before={"address": 1}, after={"address": 9},
                           frames=FRAMES[:1], meter_id=kam.id, detail="not acknowledged")
    assert reg.get_meter(kam.id).primary_address == 1
    reg.record_meter_write("address", ok=True, outcome="confirmed", before={"address": 1}, after={"address": 9},
                           frames=FRAMES, meter_id=kam.id, user="tech")
    m = reg.get_meter(kam.id)
    assert m.primary_address == 9 and m.version == kam.version + 1
    actions = [(e["action"], e["before"], e["after"]) for e in reg.history(kam.id)[-2:]]
    assert actions[0][0] == "write_address" and actions[1][0] == "update"
    assert actions[1][1] == {"primary_address": 1} and actions[1][2]["primary_address"] == 9
    reg.record_meter_write("baud", ok=True, outcome="confirmed", before={"baud": 2400}, after={"baud": 9600},
                           meter_id=kam.id)
    assert reg.get_meter(kam.id).baud == 9600
    assert [w["kind"] for w in reg.meter_writes(kam.id)] == ["address", "address", "baud"]
    assert [w["kind"] for w in reg.meter_writes(kam.id, kind="baud")] == ["baud"]


def test_a_write_to_a_meter_the_register_does_not_know_is_not_stored(reg, kam):
    out = reg.record_meter_write("clock", ok=True, outcome="confirmed", before={}, after={}, manufacturer="LUG",
                                 identification="62100013")
    assert out["status"] == "no_match"
    assert reg.meter_writes(kam.id) == []
    with pytest.raises(ValidationError, match="one of address, baud, clock"):
        reg.record_meter_write("firmware", ok=True, outcome="confirmed", before={}, after={}, meter_id=kam.id)
    with pytest.raises(ValidationError, match="tx or rx"):
        reg.record_meter_write("clock", ok=True, outcome="confirmed", before={}, after={}, meter_id=kam.id,
                               frames=[("up", b"\x00")])


def test_photos_keep_their_hash_and_the_signature_names_them(reg, kam):
    rec = reg.create_commissioning(kam.id, user="tech")
    data = png()
    p = reg.add_commissioning_photo(rec["id"], data, step="checklist:straight_lengths", filename="pipe.png",
                                    caption="inlet run", user="tech")
    assert p["sha256"] == hashlib.sha256(data).hexdigest() and p["media_type"] == "image/png"
    assert p["size_bytes"] == len(data) and p["hash_ok"] and "data" not in p
    again = reg.add_commissioning_photo(rec["id"], data, step="checklist:straight_lengths", user="tech")
    assert again["id"] == p["id"]                                  # the same bytes at the same step: kept once
    other = reg.add_commissioning_photo(rec["id"], png(rgb=b"\x00\x00\xff"), step="place", user="tech")
    [a, b] = reg.commissioning_photos(rec["id"], with_data=True)
    assert (a["id"], a["data"], b["id"], b["step"]) == (p["id"], data, other["id"], "place")
    with pytest.raises(ValidationError, match="not a JPEG or PNG"):
        reg.add_commissioning_photo(rec["id"], b"GIF89a....", step="place", filename="x.gif")
    reg.remove_commissioning_photo(other["id"], user="tech")
    assert [x["id"] for x in reg.commissioning_photos(rec["id"])] == [p["id"]]
    assert reg.get_commissioning(rec["id"])["photo_ids"] == [p["id"]]
    reg.save_commissioning_step(rec["id"], step=6, technician="tech", commissioned_on=kam.created_at.date(),
                                answers={"seals": "yes"})
    reg.sign_commissioning(rec["id"], user="tech")
    sign = [e for e in reg.history(kam.id) if e["action"] == "sign"][-1]
    assert sign["after"]["photos"] == [{"id": p["id"], "step": "checklist:straight_lengths",
                                        "sha256": hashlib.sha256(data).hexdigest()}]
    with pytest.raises(SignedRecordError):
        reg.add_commissioning_photo(rec["id"], png(rgb=b"\x00\xff\x00"), step="place")
    with pytest.raises(SignedRecordError):
        reg.remove_commissioning_photo(p["id"])
    actions = [e["action"] for e in reg.history(kam.id)]
    assert actions.count("add_photo") == 2 and actions.count("remove_photo") == 1


def test_the_other_point_of_a_substation_is_found_for_the_approach_temperature(reg, kam):
    ss1 = reg.create_meter({"site": "North", "building": "Sub 1", "monitoring_point": "SS1", "manufacturer": "Sontex",
                            "model": "531", "serial": "1"}, user="ann")
    other_building = reg.create_meter({"site": "North", "building": "Sub 2", "monitoring_point": "SS1",
                                       "manufacturer": "Sontex", "model": "531", "serial": "2"}, user="ann")
    rec = reg.create_commissioning(ss1.id, user="tech")
    assert reg.commissioning_at_point("North", "SS1", building="Sub 1") is None          # a draft is not used
    assert reg.commissioning_at_point("North", "SS1", building="Sub 1", status=None)["id"] == rec["id"]
    reg.save_commissioning_step(rec["id"], step=6, technician="tech", commissioned_on=ss1.created_at.date(),
                                plausibility={"observation": {"kpis": {"mean_return_c": 45.0}}})
    reg.sign_commissioning(rec["id"], user="tech")
    found = reg.commissioning_at_point("North", "ss1", building="Sub 1")
    assert found["id"] == rec["id"] and found["plausibility"]["observation"]["kpis"]["mean_return_c"] == 45.0
    assert reg.commissioning_at_point("North", "SS1", building="Sub 3") is None
    assert reg.commissioning_at_point("South", "SS1") is None
    reg.create_commissioning(other_building.id, user="tech")
    assert reg.commissioning_at_point("North", "SS1", building="Sub 2") is None
