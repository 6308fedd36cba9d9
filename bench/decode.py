"""Decoder speed: heatmeter's decoder against pyMeterBus 0.8.5, same frames, same run.

    .venv/bin/python bench/decode.py [--quick] [--no-write]

Frames: the 34 good corpus telegrams repeated, plus heat-meter telegrams made by
our encoder (fixed seed). Measured:

(a) in-process frames/s: ``drivers.mbus.decode(frame)`` against
    ``meterbus.TelegramLong(frame)`` with every record's ``value`` read;
(c) encrypted wireless telegrams (simulated field of 1,000 radio meters: modes
    0, 5, 7 with AFL/CMAC and Kamstrup's ELL AES-CTR): decrypt + decode in
    process with ``drivers.wmbus.decode_wmbus(telegram, keys)`` (target: at
    least 20,000 telegrams/s); ``--wireless-only`` runs just this part;
(b) whole process: ``heatmeter decode --jsonl FILE...`` over all frames written
    as .hex files, against a pyMeterBus script doing the same job (read each
    file, decode, print one JSON object per file). Both run from byte-compiled
    modules, as after a normal install; median of several interleaved runs.

Writes the table to the ``decode`` section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import compileall
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import machine_line, md_table, write_section  # noqa: E402
from drivers.mbus import decode, parse_hex  # noqa: E402
from drivers.mbus.encoder import RecordSpec, encode_rsp_ud  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "mbus-corpus"

PEER_SCRIPT = r'''
import json, sys
import meterbus

def parse_hex(text):
    return bytes.fromhex(" ".join(l for l in text.splitlines() if not l.lstrip().startswith("#")))

out = []
for name in sys.argv[1:]:
    try:
        with open(name, "rb") as fh:
            data = parse_hex(fh.read().decode("latin-1"))
        t = meterbus.TelegramLong(data) if data[:1] == b"\x68" else meterbus.load(data)
        obj = {"file": name, "ok": True, "telegram": t.interpreted}
    except Exception as exc:
        obj = {"file": name, "ok": False, "error": str(exc)}
    out.append(json.dumps(obj, separators=(",", ":"), default=str))
sys.stdout.write("\n".join(out) + "\n")
'''


def heat_meter_telegram(rnd: random.Random, n: int) -> bytes:
    """A plausible heat-meter RSP_UD: current values, a cooling register, a few months of history."""
    ident = "%08d" % rnd.randrange(10 ** 8)
    bcd = rnd.random() < 0.5
    num = "bcd8" if bcd else "int32"
    recs = [
        RecordSpec("fabrication_number", ident),
        RecordSpec("energy", rnd.randrange(10 ** 7) * 1000, unit="Wh", data_type=num),
        RecordSpec("volume", Decimal(rnd.randrange(10 ** 7)) / 100, data_type=num),
        RecordSpec("on_time", rnd.randrange(10 ** 5) * 3600, data_type="int32"),
        RecordSpec("flow_temperature", Decimal(rnd.randrange(3000, 9500)) / 100, data_type="int16"),
        RecordSpec("return_temperature", Decimal(rnd.randrange(2000, 6000)) / 100, data_type="int16"),
        RecordSpec("temperature_difference", Decimal(rnd.randrange(0, 6000)) / 100, data_type="int16"),
        RecordSpec("power", rnd.randrange(0, 50000) * 100, data_type="int32"),
        RecordSpec("volume_flow", Decimal(rnd.randrange(0, 5000)) / 1000, data_type="int32"),
        RecordSpec("datetime", "20%02d-%02d-%02dT%02d:%02d:00" % (rnd.randrange(10, 30), rnd.randrange(1, 13),
                                                                  rnd.randrange(1, 29), rnd.randrange(24),
                                                                  rnd.randrange(60))),
        RecordSpec("error_flags", rnd.choice([0, 0, 0, 4]), data_type="int16"),
    ]
    if rnd.random() < 0.3:
        recs.append(RecordSpec("energy", rnd.randrange(10 ** 5) * 1000, unit="Wh", data_type=num,
                               modifiers=("accumulation_negative",)))
    for month in range(1, 1 + rnd.randrange(0, 6)):
        recs += [RecordSpec("date", "2023-%02d-01" % month, storage=month),
                 RecordSpec("energy", rnd.randrange(10 ** 7) * 1000, unit="Wh", data_type=num, storage=month),
                 RecordSpec("volume", Decimal(rnd.randrange(10 ** 7)) / 100, data_type=num, storage=month)]
    return encode_rsp_ud(recs, identification=ident, manufacturer=rnd.choice(["KAM", "LUG", "SEN", "ZRI"]),
                         version=rnd.randrange(256), medium=0x04, access_number=n & 0xFF, address=n % 250 + 1)


def frame_set(corpus_repeats: int, generated: int) -> list[bytes]:
    corpus = [parse_hex(p.read_text()) for p in sorted(CORPUS.glob("*.hex"))]
    rnd = random.Random(20260501)
    return corpus * corpus_repeats + [heat_meter_telegram(rnd, i) for i in range(generated)]


def best_rate(fn, frames, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(frames)
        best = min(best, time.perf_counter() - t0)
    return len(frames) / best


def ours(frames):
    for f in frames:
        decode(f)


def peer(frames):
    import meterbus
    for f in frames:
        try:
            t = meterbus.TelegramLong(f)
            for r in t.records:
                r.value
        except Exception:
            pass


def wireless_rows(runs: int) -> tuple[list, str]:
    """(c): rows for the table and a sentence describing the telegram set."""
    from collections import Counter

    from drivers.simulator.wmbus import default_field, keys_csv
    from drivers.wmbus import decode_wmbus
    from drivers.wmbus.keys import parse_key_csv

    meters = default_field(1000, 20260501)
    keys = parse_key_csv(keys_csv(meters)).keys_for
    telegrams = [(m.security, m.telegram(900.0 * i)) for i in range(5) for m in meters]
    random.Random(20260501).shuffle(telegrams)
    every = [t for _s, t in telegrams]

    def run(ts):
        for t in ts:
            decode_wmbus(t, keys, crc="none")
    for t in every:
        assert decode_wmbus(t, keys, crc="none").records
    rows = [["encrypted wireless, decrypt + decode, telegrams/s (all modes)", "%.0f" % best_rate(run, every, runs),
             "", ""]]
    for mode in (0, 5, 7, "ell_ctr"):
        sub = [t for s, t in telegrams if s == mode]
        rows.append(["  of which mode %s, telegrams/s" % mode, "%.0f" % best_rate(run, sub, runs), "", ""])
    mix = Counter(s for s, _t in telegrams)
    text = ("Wireless: %d telegrams from 1,000 simulated radio meters (`drivers.simulator.wmbus`, seed 20260501; "
            "%s), decoded with their keys by `drivers.wmbus.decode_wmbus` (best of %d passes)."
            % (len(every), ", ".join("mode %s: %d" % kv for kv in mix.items()), runs))
    return rows, text


def run_process(argv, env) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one run of a command."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1) or b"Traceback" in p.stderr:
        raise SystemExit("%s failed: %s" % (argv[0], p.stderr.decode()[-500:]))
    return dt, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer frames and runs (smoke test)")
    ap.add_argument("--no-write", action="store_true", help="print the table, do not touch docs/benchmarks.md")
    ap.add_argument("--wireless-only", action="store_true", help="only (c), printed, docs/benchmarks.md untouched")
    a = ap.parse_args(argv)
    repeats, generated, runs = (3, 300, 2) if a.quick else (30, 3000, 7)
    if a.wireless_only:
        rows, text = wireless_rows(runs)
        print(text)
        print(md_table(["measure", "heatmeter", "", ""], rows))
        return 0

    import meterbus  # noqa: F401  (fail early if the peer is missing)
    load_before = os.getloadavg()[0]
    frames = frame_set(repeats, generated)
    for f in frames:
        decode(f)                      # every frame of the set is valid for us
    failures_peer = 0
    for f in frames[:200] + frames[-200:]:
        try:
            t = meterbus.TelegramLong(f)
            [r.value for r in t.records]
        except Exception:
            failures_peer += 1

    # (a) in process
    ours_rate = best_rate(ours, frames, runs)
    peer_rate = best_rate(peer, frames, max(2, runs // 2))

    # (b) whole process over .hex files
    py = sys.executable
    heatmeter = str(Path(py).with_name("heatmeter"))
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for pkg in ("app", "drivers"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)
    with tempfile.TemporaryDirectory(prefix="hm-bench-decode-") as tmp:
        files = []
        for i, f in enumerate(frames):
            path = os.path.join(tmp, "f%05d.hex" % i)
            with open(path, "w") as fh:
                fh.write(f.hex(" ").upper() + "\n")
            files.append(path)
        peer_py = os.path.join(tmp, "peer_decode.py")
        with open(peer_py, "w") as fh:
            fh.write(PEER_SCRIPT)
        ours_cmd = [heatmeter, "decode", "--jsonl", *files]
        peer_cmd = [py, peer_py, *files]
        run_process(ours_cmd, env)      # warm-up: page cache, byte-code caches
        run_process(peer_cmd, env)
        t_ours, t_peer = [], []
        for _ in range(runs):
            t_ours.append(run_process(ours_cmd, env))
            t_peer.append(run_process(peer_cmd, env))
        t_startup = statistics.median(run_process([heatmeter, "decode", "--jsonl", files[0]], env)[0]
                                      for _ in range(runs))
    mo, mp = statistics.median(t[0] for t in t_ours), statistics.median(t[0] for t in t_peer)
    co, cp = statistics.median(t[1] for t in t_ours), statistics.median(t[1] for t in t_peer)
    bo, bp = min(t[0] for t in t_ours), min(t[0] for t in t_peer)
    n = len(frames)
    rows = [
        ["in-process decode, frames/s", "%.0f" % ours_rate, "%.0f" % peer_rate, "%.1fx" % (ours_rate / peer_rate)],
        ["whole process, %d files, wall s (median of %d)" % (n, runs), "%.3f" % mo, "%.3f" % mp, "%.1fx" % (mp / mo)],
        ["whole process, %d files, wall s (best of %d)" % (n, runs), "%.3f" % bo, "%.3f" % bp, "%.1fx" % (bp / bo)],
        ["whole process, %d files, CPU s user+sys (median)" % n, "%.3f" % co, "%.3f" % cp, "%.1fx" % (cp / co)],
        ["whole process, files/s (wall)", "%.0f" % (n / mo), "%.0f" % (n / mp), "%.1fx" % (mp / mo)],
        ["start-up, `heatmeter decode --jsonl` on 1 file, wall s", "%.3f" % t_startup, "", ""],
    ]
    w_rows, w_text = wireless_rows(runs)
    rows += w_rows
    table = md_table(["measure", "heatmeter", "pyMeterBus 0.8.5", "ratio"], rows)
    text = "\n".join([
        "## decode",
        "",
        machine_line(),
        "",
        "Frames: the 34 good corpus telegrams x %d and %d heat-meter telegrams built by "
        "`drivers.mbus.encoder` (seed 20260501), %d frames, %.1f records per frame on average. "
        "In process: `drivers.mbus.decode(frame)` against `meterbus.TelegramLong(frame)` with every "
        "record's `value` read (best of %d passes). Whole process: `heatmeter decode --jsonl` over %d "
        ".hex files against a pyMeterBus script that reads the same files, decodes them "
        "(`TelegramLong(...).interpreted`) and prints one JSON line per file; both byte-compiled, "
        "interleaved runs. pyMeterBus failed on %d of 400 sampled frames."
        % (repeats, generated, n, sum(len(decode(f).records) for f in frames) / n, runs, n, failures_peer),
        "",
        w_text,
        "",
        table,
        "",
        "1-minute load average %.2f at the start and %.2f at the end of the run (other jobs share "
        "this machine; both sides are measured interleaved, so the ratios hold better than the "
        "absolute times)." % (load_before, os.getloadavg()[0]),
        "",
        "Run `.venv/bin/python bench/decode.py` to refresh.",
    ])
    print(text)
    if not a.no_write:
        write_section("decode", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
