"""The conformance corpus through the API: every good frame exact, every bad one rejected."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from drivers.mbus import MBusError, Record, Telegram, decode, parse_hex

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mbus-corpus"
GOOD = sorted(CORPUS.glob("*.hex"))
BAD = sorted((CORPUS / "bad").glob("*.hex"))
RECORD_KEYS = ("storage", "tariff", "subunit", "function", "quantity", "unit", "raw")


def test_corpus_is_complete():
    assert len(GOOD) == 34 and len(BAD) == 23
    assert len(list((CORPUS / "unmapped").glob("*.hex"))) == 56
    assert (CORPUS / "LICENSE.libmbus").is_file()


def same_value(exp, got) -> bool:
    if exp is None or got is None:
        return exp is None and got is None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return isinstance(got, (int, float)) and math.isclose(exp, got, rel_tol=1e-9, abs_tol=1e-12)
    return type(exp) is type(got) and exp == got


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_frame_matches_expected(path: Path):
    expected = json.loads(path.with_suffix("").with_suffix(".expected.json").read_text())
    telegram = decode(parse_hex(path.read_text()))
    assert isinstance(telegram, Telegram)
    got = telegram.to_json()
    for key, value in expected.items():
        if key == "records":
            continue
        if key == "manufacturer_data":
            assert got[key].upper() == value.upper()
        else:
            assert got[key] == value and type(got[key]) is type(value), key
    assert len(got["records"]) == len(expected["records"])
    for i, (e, g) in enumerate(zip(expected["records"], got["records"])):
        for key in RECORD_KEYS:
            assert g[key] == e[key], "record %d %s" % (i, key)
        assert same_value(e["value"], g["value"]), "record %d value %r != %r" % (i, g["value"], e["value"])
    # the raw bytes stay available as bytes, and they are the frame's bytes
    assert telegram.raw == parse_hex(path.read_text())
    for rec in telegram.records:
        assert isinstance(rec, Record) and isinstance(rec.raw, bytes)
        assert rec.raw in telegram.raw
        assert rec.dib + rec.vib + rec.data == rec.raw


def test_manufacturer_data_is_in_frame_order():
    # frame1: DIF 0x0F straight after the header, 84 bytes of manufacturer data before CS/stop
    raw = parse_hex((CORPUS / "frame1.hex").read_text())
    t = decode(raw)
    assert t.records == []
    assert t.manufacturer_data == raw[20:-2]
    assert t.manufacturer_data[:4] == bytes.fromhex("5F420111")


def test_more_records_follow_flag():
    assert decode(parse_hex((CORPUS / "svm_f22_telegram2.hex").read_text())).more_records_follow
    assert not decode(parse_hex((CORPUS / "frame1.hex").read_text())).more_records_follow


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_input_is_rejected_with_one_line(path: Path):
    with pytest.raises(MBusError) as info:
        decode(parse_hex(path.read_text()))
    msg = str(info.value)
    assert msg and "\n" not in msg
    assert info.value.offset is None or info.value.offset >= 0
