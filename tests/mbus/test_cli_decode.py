"""``heatmeter decode``: JSON lines, human table, stdin, errors, light start-up."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mbus-corpus"


def heatmeter(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "app", *args], input=stdin, capture_output=True)


def jsonl(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


def test_jsonl_over_the_whole_corpus_in_one_run():
    good = sorted(CORPUS.glob("*.hex"))
    bad = sorted((CORPUS / "bad").glob("*.hex"))
    unmapped = sorted((CORPUS / "unmapped").glob("*.hex"))
    files = [str(p) for p in good + bad + unmapped]
    p = heatmeter("decode", "--jsonl", *files)
    assert p.returncode == 1                       # some files are bad
    assert b"Traceback" not in p.stderr
    out = jsonl(p.stdout)
    assert [o["file"] for o in out] == files       # one line per file, in the given order
    for path, o in zip(good, out):
        assert o["ok"] is True, o
        exp = json.loads(path.with_suffix("").with_suffix(".expected.json").read_text())
        got = o["telegram"]
        assert {k: got[k] for k in exp if k not in ("records", "manufacturer_data")} == \
               {k: v for k, v in exp.items() if k not in ("records", "manufacturer_data")}
        assert got["manufacturer_data"].upper() == exp["manufacturer_data"].upper()
        assert len(got["records"]) == len(exp["records"])
        for e, g in zip(exp["records"], got["records"]):
            assert {k: g[k] for k in ("storage", "tariff", "subunit", "function", "quantity", "unit", "raw")} == \
                   {k: e[k] for k in ("storage", "tariff", "subunit", "function", "quantity", "unit", "raw")}
            if isinstance(e["value"], (int, float)):
                assert math.isclose(g["value"], e["value"], rel_tol=1e-9, abs_tol=1e-12)
            else:
                assert g["value"] == e["value"]
    for o in out[len(good):len(good) + len(bad)]:
        assert o["ok"] is False and o["error"] and "\n" not in o["error"]
    refused = [o["file"] for o in out[len(good) + len(bad):] if not o["ok"]]
    assert [Path(f).stem for f in refused] == ["sen_pollutherm"]


def test_jsonl_all_good_exits_zero_and_unreadable_files_go_on():
    one = str(CORPUS / "GWF-MTKcoder.hex")
    p = heatmeter("decode", "--jsonl", one)
    assert p.returncode == 0 and jsonl(p.stdout)[0]["ok"] is True
    p = heatmeter("decode", "--jsonl", str(CORPUS / "no-such-file.hex"), str(CORPUS / "bad"), one)
    assert p.returncode == 1 and b"Traceback" not in p.stderr
    a, b, c = jsonl(p.stdout)
    assert a["ok"] is False and "cannot read" in a["error"]
    assert b["ok"] is False and "cannot read" in b["error"]
    assert c["ok"] is True


def test_stdin_with_dash_and_without_files():
    hexfile = (CORPUS / "tecson.hex").read_bytes()
    for args in (("decode", "--jsonl"), ("decode", "--jsonl", "-")):
        p = heatmeter(*args, stdin=hexfile)
        assert p.returncode == 0
        (o,) = jsonl(p.stdout)
        assert o["file"] == "-" and o["telegram"]["manufacturer"] == "TEC"


def test_human_view_header_first_then_records():
    p = heatmeter("decode", str(CORPUS / "kamstrup_multical_601.hex"))
    assert p.returncode == 0 and p.stderr == b""
    text = p.stdout.decode()
    lines = text.splitlines()
    assert lines[0].startswith("frame") and "RSP_UD" in lines[0]
    head = "\n".join(lines[:8])
    for word in ("manufacturer  KAM", "06855817", "heat_outlet", "version", "access no.", "status"):
        assert word in head
    table = text[text.index("#  quantity"):]
    assert table.splitlines()[0].split() == ["#", "quantity", "value", "unit", "storage", "tariff", "subunit",
                                             "function", "modifiers"]
    assert "fabrication_number" in table and "37351000" in table and "Wh" in table


def test_human_view_shows_modifiers_and_reports_errors_on_stderr():
    p = heatmeter("decode", str(CORPUS / "unmapped" / "EDC.hex"), str(CORPUS / "bad" / "derived_bad_checksum.hex"),
                  str(CORPUS / "tecson.hex"))
    assert p.returncode == 1
    assert "accumulation_negative" in p.stdout.decode() and "== " in p.stdout.decode()
    err = p.stderr.decode().splitlines()
    assert len(err) == 1 and "checksum mismatch at byte" in err[0] and "Traceback" not in err[0]
    assert "TEC" in p.stdout.decode()            # went on after the bad file


def test_decode_start_up_does_not_load_heavy_packages():
    code = ("import sys; from app.cli.main import main; "
            "rc = main(['decode', '--jsonl', %r]); "
            "heavy = [m for m in ('PySide6', 'sqlalchemy', 'scipy', 'numpy', 'pyqtgraph', 'meterbus') "
            "if m in sys.modules]; print('HEAVY', heavy, file=sys.stderr)" % str(CORPUS / "tecson.hex"))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert b"HEAVY []" in p.stderr


def test_fast_json_writer_equals_the_json_module_on_the_corpus():
    from app.cli.commands.decode import telegram_json_line
    from drivers.mbus import MBusError, decode, parse_hex

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    n = 0
    for path in sorted(CORPUS.glob("*.hex")) + sorted((CORPUS / "unmapped").glob("*.hex")):
        try:
            t = decode(parse_hex(path.read_text()))
        except MBusError:
            continue
        fast = telegram_json_line(str(path), t, encode)
        assert "\n" not in fast
        assert json.loads(fast) == json.loads(encode({"file": str(path), "ok": True, "telegram": t.to_json()}))
        n += 1
    assert n == 34 + 55


def test_an_unexpected_decoder_failure_is_still_one_line(monkeypatch, capsys):
    import drivers.mbus.decoder as dec
    from app.cli.main import main

    real = dec.decode

    def flaky(data):
        if data[:1] == b"\x10":
            raise RuntimeError("boom\nsecond line")
        return real(data)

    monkeypatch.setattr(dec, "decode", flaky)
    short = CORPUS / "bad" / "derived_short_bad_checksum.hex"      # starts with 0x10
    good = CORPUS / "tecson.hex"
    assert main(["decode", "--jsonl", str(short), str(good)]) == 1
    a, b = jsonl(capsys.readouterr().out.encode())
    assert a["ok"] is False and "internal decoder error" in a["error"] and "\n" not in a["error"]
    assert b["ok"] is True
