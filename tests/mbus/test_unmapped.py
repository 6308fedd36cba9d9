"""Real frames the JSON contract cannot express yet: answered, and never mislabelled."""
from __future__ import annotations

from pathlib import Path

import pytest

from drivers.mbus import MBusError, decode, parse_hex

UNMAPPED = Path(__file__).resolve().parent.parent / "data" / "mbus-corpus" / "unmapped"
FILES = sorted(UNMAPPED.glob("*.hex"))
# frames that break EN 13757-3 and must be refused (see docs/decoder.md)
REFUSED = {"sen_pollutherm": "VIF 0x7B at byte 32"}


def load(name: str):
    return decode(parse_hex((UNMAPPED / (name + ".hex")).read_text()))


def records(name: str):
    return load(name).records


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_unmapped_frame_gets_an_answer(path: Path):
    try:
        t = decode(parse_hex(path.read_text()))
    except MBusError as exc:
        assert path.stem in REFUSED, "%s refused: %s" % (path.stem, exc)
        assert REFUSED[path.stem] in str(exc) and "\n" not in str(exc)
        return
    assert path.stem not in REFUSED
    t.to_json()
    for r in t.records:
        # a value is never a number when the record cannot say what it is in
        if r.quantity == "unknown":
            assert r.unit == ""


def test_heating_and_cooling_registers_are_told_apart():
    # VIFE 0x3B = accumulation only of positive contributions, 0x3C = of negative ones
    for name in ("EDC", "SEN_Pollustat", "itron_cf_51", "filler", "wmbus-converted"):
        for r in records(name):
            if r.raw.hex().upper().startswith(("04863C", "8400863C", "8440863C")):
                assert r.modifiers == ("accumulation_negative",)
            vif_part = r.vib.hex().upper()
            if vif_part.endswith("3B") and r.quantity == "energy":
                assert r.modifiers == ("accumulation_positive",)
    edc = records("EDC")
    assert [(r.quantity, r.subunit, r.modifiers) for r in edc[:4]] == [
        ("energy", 0, ("accumulation_positive",)), ("energy", 0, ("accumulation_negative",)),
        ("energy", 1, ("accumulation_positive",)), ("energy", 1, ("accumulation_negative",))]
    # 86 = energy 10^3 Wh; 0x23 and 0x01D1 kWh
    assert (edc[0].value, edc[1].value) == (35 * 1000, 0x1D1 * 1000)
    cf51 = [r for r in records("itron_cf_51") if r.quantity == "energy"]
    plain = [r for r in cf51 if not r.modifiers]
    negative = [r for r in cf51 if r.modifiers == ("accumulation_negative",)]
    assert plain and len(negative) == 1


def test_landis_gyr_t230_dates_of_maxima_are_datetimes():
    recs = records("landis+gyr_ultraheat_t230")
    r21, r22 = recs[21], recs[22]
    assert r21.raw == bytes.fromhex("9410DA6F32147A18") and r22.raw == bytes.fromhex("9410DE6F2B0B6918")
    for r, subject in ((r21, "flow_temperature"), (r22, "return_temperature")):
        assert r.quantity == "datetime" and r.unit == "" and r.function == "maximum"
        assert r.tariff == 1 and r.subject == subject
        assert "date_of_maximum" in r.modifiers
    # 32 14 7A 18: minute 0x32 = 50, hour 0x14 = 20, day 0x7A & 0x1F = 26, month 8, year 0b0011011 = 11
    assert r21.value == "2011-08-26T20:50:00"
    assert r22.value == "2011-08-09T11:43:00"
    # records 19/20 (power, volume flow) are unset date-times, not numbers
    for r in recs[19:21]:
        assert r.quantity == "datetime" and r.value is None and "date_unset" in r.flags
    # record 32: 0000E1F1 is day 1, month 1, year 127 -> not a calendar date
    assert recs[32].value is None and recs[32].flags


@pytest.mark.parametrize("name,code,word", [
    ("unspecified_error", 0, "unspecified_error"), ("unimplemented_ci", 1, "unimplemented_ci"),
    ("buffer_too_long", 2, "buffer_too_long"), ("too_many_records", 3, "too_many_records"),
    ("premature_end_of_record", 4, "premature_end_of_record"), ("too_many_difes", 5, "too_many_difes"),
    ("too_many_vifes", 6, "too_many_vifes"), ("application_busy", 8, "application_busy"),
    ("too_many_readouts", 9, "too_many_readouts")])
def test_application_errors_report_the_code(name, code, word):
    t = load(name)
    assert t.ci_field == 0x70
    assert t.application_error_code == code and t.application_error == word
    j = t.to_json()
    assert j["application_error_code"] == code and j["application_error"] == word


def test_application_error_without_code_byte():
    t = load("error")
    assert t.frame_type == "control" and t.ci_field == 0x70
    assert t.application_error_code is None and t.application_error == "unspecified_error"


def test_future_value_is_a_modifier():
    for name in ("els_falcon", "els_tmpa_telegramm1", "ram_modularis", "rel_padpuls2", "rel_padpuls3"):
        fut = [r for r in records(name) if "future_value" in r.modifiers]
        assert len(fut) == 1 and fut[0].quantity == "date", name
    # 42 EC 7E 01 11: storage 1, date 01 11 -> day 1, month 1, year 0b0001000 = 8
    fut = [r for r in records("els_falcon") if r.modifiers][0]
    assert (fut.storage, fut.value) == (1, "2008-01-01")


def test_increment_per_input_pulse_is_not_a_plain_volume():
    for name in ("EFE_Engelmann-Elster-SensoStar-2", "EFE_Engelmann-WaterStar", "engelmann_sensostar2c"):
        pulse = [r for r in records(name) if r.vib[:2] == bytes.fromhex("9028")]
        assert len(pulse) == 1
        assert pulse[0].modifiers == ("increment_per_input_pulse_channel_0",)
    r = [r for r in records("engelmann_sensostar2c") if r.modifiers][0]
    assert r.value == pytest.approx(100000 * 1e-6)     # A0 86 01 00 = 100000 x 10^-6 m3


def test_duration_of_limit_exceed():
    recs = records("SEN_Pollustat")
    r12, r13 = recs[12], recs[13]
    # BE = volume flow (m3/h), VIFE 0x50 / 0x58: duration of first lower / upper limit exceed, seconds
    assert (r12.quantity, r12.unit, r12.subject) == ("duration", "s", "volume_flow")
    assert r12.modifiers == ("duration_of_first_lower_limit_exceed",) and r12.value == 0x00B0BB71
    assert r13.modifiers == ("duration_of_first_upper_limit_exceed",) and r13.value == 0x02F4


def test_manufacturer_specific_vife_and_vif():
    recs = records("EMU_EMU-Professional-375-M-Bus")
    # 04 AB FF 01 ...: power VIF, then VIFE 0x7F: the rest of the record is manufacturer specific
    r5 = recs[5]
    assert r5.quantity == "manufacturer_specific" and r5.subject == "power" and r5.unit == ""
    # the plain power record beside it keeps its meaning
    assert (recs[8].quantity, recs[8].unit, recs[8].value) == ("power", "W", -2)
    # VIF 0xFF: its VIFEs are manufacturer specific, not combinable codes
    for r in recs[26:30]:
        assert r.quantity == "manufacturer_specific" and not r.modifiers and r.record_error is None
    for name in ("berg_dz_plus", "SBC_Saia-Burgess-ALE3", "abb_delta", "electricity-meter-1"):
        for r in records(name):
            if r.vib[:1] in (b"\xff", b"\x7f"):
                assert r.quantity == "manufacturer_specific" and r.record_error is None


def test_plain_text_vif_gives_the_unit_text():
    recs = records("ELV-Elvaco-CMa10")
    assert [(r.quantity, r.unit, r.function) for r in recs[1:4]] == [
        ("plain_text", "%RH", "instantaneous"), ("plain_text", "%RH", "minimum"), ("plain_text", "%RH", "maximum")]
    # 02 FC 03 "HR%" 74 22 15: VIFE 0x74 = factor 10^-2, 0x1522 = 5410
    assert recs[1].value == pytest.approx(54.10)
    cyble = records("ACW_Itron-CYBLE-M-Bus-14")
    assert (cyble[1].unit, cyble[1].value) == ("cust. ID", "09LA076755")
    assert cyble[3].unit == "bat. time" and cyble[3].value == 0x09D4


def test_bcd_error_placeholders_are_null_with_a_flag():
    for name, idx in (("ELS_Elster-F96-Plus", (4, 5)), ("abb_f95", (2, 3))):
        recs = records(name)
        for i in idx:
            assert recs[i].value is None and recs[i].flags == ("invalid_bcd",), (name, i)


def test_unset_and_invalid_dates_are_null_with_a_flag():
    for name in ("ACW_Itron-BM-plus-m", "itron_bm_+m", "siemens_water", "siemens_wfh21"):
        dates = [r for r in records(name) if r.quantity == "date" and r.raw[-2:] == b"\x00\x00"]
        assert dates and all(r.value is None and r.flags == ("date_unset",) for r in dates), name
    rel = records("REL-Relay-Padpuls2")[1]          # 04 6D A1 15 E9 17: IV bit (0x80) in the minute byte
    assert rel.quantity == "datetime" and rel.value is None and rel.flags == ("date_invalid",)


def test_abb_delta_vife_zero_is_the_no_error_code():
    recs = records("abb_delta")
    assert all(r.quantity == "energy" and r.record_error == "none" for r in recs[:10])


def test_fd_codes_named_or_unknown():
    assert records("minol_minocal_wr3")[13].quantity == "medium"        # FD 09
    assert records("LGB_G350")[5].quantity == "special_supplier_information"   # FD 67
    rvd = records("siemens_rvd235")
    assert [r.quantity for r in rvd[3:6]] == ["unknown"] * 3              # FD 7C: reserved
    assert [r.raw.hex().upper() for r in rvd[3:6]] == ["8130FD7C01", "8120FD7C00", "01FD7C00"]


def test_fixed_data_structure():
    t = load("manual_frame2")      # 78563412 0A 00 E9 7E 01000000 35010000
    assert (t.header, t.identification, t.access_number, t.medium) == ("fixed", "12345678", 10, "water")
    a, b = t.records
    assert (a.quantity, a.unit, a.value, a.storage) == ("volume", "m3", pytest.approx(0.001), 0)
    assert (b.quantity, b.unit, b.value, b.storage) == ("volume", "m3", pytest.approx(0.135), 1)
    t = load("sen_pollusonic_2")   # units 0x05 = kWh, 0x29 = l; medium bits 0 and 1 -> heat
    assert t.medium == "heat"
    assert [(r.quantity, r.value) for r in t.records] == [("energy", 6531000), ("volume", pytest.approx(0.069))]


def test_master_to_slave_data_frames():
    t = load("manual_frame4")      # 51 01 7A 08: set primary address 8
    assert (t.c_field, t.ci_field, t.header) == (0x53, 0x51, "none")
    assert [(r.quantity, r.value) for r in t.records] == [("bus_address", 8)]
    t = load("manual_frame6")
    assert [(r.quantity, r.value) for r in t.records] == [("enhanced_identification", "12345678"),
                                                          ("energy", 107000)]


def test_vif_7b_without_extension_is_refused_at_its_byte():
    with pytest.raises(MBusError) as info:
        load("sen_pollutherm")
    assert info.value.offset == 32
