"""Every command's options driven with hostile values: a one-line error or a success, never a traceback.

Hypothesis picks a command, one of its options (or positional arguments) and a hostile value for
it (huge and negative numbers, NaN, infinity, dates past the calendar, decimal commas, empty and
very long text, control characters, paths that are not files); the calculators also get hostile
JSON values for each of their input keys. The command runs in-process (``app.cli.main.main``)
against a small register. The outcome must be exit 0, or an exit status other than 0 with exactly
one line on stderr; never "Traceback"; and JSON output, when asked for and given, parses.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli.main import main
from tests.helpers.register_rows import make_rows, write_csv

HOSTILE_TEXT = [
    "99999999999999999999", "-99999999999", "-1", "0", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf",
    "9999-12-31", "0001-01-01", "2024-02-30", "0,4", "1.234,5", "", " ", "\t", "x" * 5000, "Café ⚡", "'",
    "=cmd|' /C calc'!A0", "'; DROP TABLE meters; --", "/dev/zero", "/", "/nonexistent/x", "0x10", "1_000",
    "²", "١٢", "-", "--json", "\u202e", "None", "null", "[]", "{}",
]
hostile = st.one_of(st.sampled_from(HOSTILE_TEXT), st.integers().map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                            max_size=40))

# command -> (base argv, the places a hostile value can go: an option name, or "#k" for base argv[k])
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "meters list": (["meters", "list", "--json"], ["--limit", "--offset", "--site", "--make", "--model", "--status",
                                                   "--search"]),
    "meters show": (["meters", "show", "Kamstrup", "10000000", "--json"], ["#2", "#3"]),
    "meters history": (["meters", "history", "Kamstrup", "10000000", "--json"], ["#2", "#3"]),
    "meters export": (["meters", "export", "--csv", "{tmp}/out.csv"], ["--site", "--csv", "--xlsx"]),
    "meters export-data": (["meters", "export-data", "--site", "Site 0", "--csv", "{tmp}/d.csv"],
                           ["--from", "--to", "--fields", "--site", "--meter"]),
    "meters import": (["meters", "import", "{tmp}/m.csv", "--dry-run", "--json"],
                      ["--header-row", "--map", "--date-order", "--decimal-mark", "#2"]),
    "meters hold": (["meters", "hold", "Kamstrup", "10000000", "--off"], ["#2", "#3", "--reason"]),
    "lots form": (["lots", "form", "--all", "--dry-run", "--json"], ["--as-of", "--window-months", "--key", "--level", "--aql",
                                                           "--inspection", "--site", "--round"]),
    "lots show": (["lots", "show", "1", "--json"], ["#2"]),
    "lots draw": (["lots", "draw", "1", "--seed", "7", "--json"], ["#2", "--seed", "--spares"]),
    "lots record": (["lots", "record", "1", "--meter", "Kamstrup", "10000000", "--error-pct", "0.5", "--json"],
                    ["#2", "--error-pct", "--q-m3h", "--dtheta-k", "--mpe-pct", "--tested-on", "--subassembly",
                     "--points", "--file"]),
    "lots verdict": (["lots", "verdict", "1", "--dry-run", "--json"], ["#2", "--date"]),
    "schedule": (["schedule", "--json", "--counts-only"], ["--as-of", "--horizon-months", "--site"]),
    "sample-plan": (["sample-plan", "--lot-size", "500", "--oc", "--json"],
                    ["--lot-size", "--aql", "--level", "--inspection", "--oc-points"]),
    "report evidence": (["report", "evidence", "--site", "Site 0", "--json"], ["--site", "--as-of", "--csv"]),
    "meters recalibrate": (["meters", "recalibrate", "Kamstrup", "10000000", "--on", "2024-01-01", "--verdict", "pass",
                            "--json"], ["#2", "#3", "--on", "--error-pct", "--lab", "--certificate", "--notes",
                                        "--points"]),
    "meters battery": (["meters", "battery", "Kamstrup", "10000006", "--replaced-on", "2024-01-01", "--json"],
                       ["#2", "#3", "--replaced-on", "--expiry", "--notes"]),
    "meters replace": (["meters", "replace", "Kamstrup", "10000012", "--on", "2024-01-01", "--new-serial", "N1",
                        "--json"], ["--on", "--new-serial", "--new-manufacturer", "--new-model", "--new-mid-class",
                                    "--new-qp", "--new-battery-expiry", "--reason"]),
    "jobs export": (["jobs", "export", "--csv", "{tmp}/jobs.csv", "--json"],
                    ["--as-of", "--horizon-months", "--site", "--lot", "--xlsx"]),
    "survey list": (["survey", "list", "--json"], ["--site"]),
    "survey show": (["survey", "show", "1", "--json"], ["#2", "--csv"]),
    "db status": (["db", "status", "--json"], []),
    "decode": (["decode", "--jsonl", "{tmp}/t.hex"], ["#2"]),
    "read": (["read", "--port", "/nonexistent/port", "--address", "1", "--json"],
             ["--address", "--secondary", "--baud", "--timeout-ms", "--retries", "--wakeup-ms", "--max-telegrams"]),
    "scan": (["scan", "--port", "/nonexistent/port", "--mode", "primary", "--json"],
             ["--from", "--to", "--baud", "--timeout-ms", "--retries", "--mode"]),
}
DB_FREE = {"sample-plan", "decode", "read", "scan"}
OUTPUTS = {"--csv", "--xlsx", "--sizing-csv", "--pdf"}  # options naming a file the command writes


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A register with meters and a formed lot, and the files the base invocations name."""
    tmp = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{tmp / 'r.db'}"
    write_csv(tmp / "m.csv", make_rows(40))
    corpus = Path(__file__).resolve().parents[1] / "data" / "mbus-corpus" / "Elster-F2.hex"
    (tmp / "t.hex").write_bytes(corpus.read_bytes())
    assert run(["meters", "import", str(tmp / "m.csv"), "--db", url])[0] == 0
    run(["lots", "form", "--all", "--db", url])
    return tmp, url


@contextlib.contextmanager
def memory_ceiling(extra_bytes: int = 3 << 30):
    """At most ``extra_bytes`` more address space while a command runs in this process: a command that
    would eat the machine's memory raises MemoryError (and the test names it) instead of the whole test
    process being killed."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    limit = used + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run(argv: list[str]) -> tuple[int, str, str]:
    # text streams over bytes, like a real process's (decode writes to sys.stdout.buffer)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), memory_ceiling():
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse: usage errors (2), never anything else here
            status = exc.code if isinstance(exc.code, int) else 2
    texts = []
    for s in (out, err):
        s.flush()
        texts.append(s.buffer.getvalue().decode("utf-8"))
        s.close()
    return status, texts[0], texts[1]


def check(argv: list[str], status: int, out: str, err: str) -> None:
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert "out of memory" not in err, ("a hostile value should be refused, not fill the memory", argv)
    if "--jsonl" in argv:  # decode's contract: each file's outcome (an error too) is one JSON line
        assert err.count("\n") <= 1, (argv, err)
        for line in out.split("\n")[:-1]:  # not splitlines: U+0085 in a file name is no line end
            json.loads(line)
        return
    if status != 0:
        assert err.count("\n") == 1 and err.strip(), (argv, status, err)
        assert "\n" not in err.strip()
    elif "--json" in argv and out.strip():
        json.loads(out)


def invocation(tmp: Path, url: str, command: str, where: str, value: str) -> list[str]:
    base, _ = COMMANDS[command]
    argv = [a.replace("{tmp}", str(tmp)) for a in base]
    if where.startswith("#"):
        argv[int(where[1:])] = value
    elif where in argv:
        argv[argv.index(where) + 1] = value
    elif where == "--meter":
        argv += [where, value, value]
    else:
        argv += [where, value]
    if command.split()[0] not in DB_FREE:
        argv += ["--db", url]
    return argv


@st.composite
def cases(draw):
    command = draw(st.sampled_from(sorted(c for c in COMMANDS if COMMANDS[c][1])))
    where = draw(st.sampled_from(COMMANDS[command][1]))
    return command, where, draw(hostile)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_hostile_option_values(world, case):
    tmp, url = world
    command, where, value = case
    if value.startswith("-") and value not in ("-", "-1", "-99999999999", "-1e308", "-inf"):
        value = " " + value  # argparse would read it as an option name: that is argparse's business
    if where in OUTPUTS and not value.strip().startswith("/nonexistent/"):
        return  # an output file: only names that cannot be created (never a device, never the working folder)
    argv = invocation(tmp, url, command, where, value)
    with contextlib.chdir(tmp):  # a relative name the command writes lands here, not in the repository
        check(argv, *run(argv))


def test_the_base_invocations_succeed_or_say_why_in_one_line(world):
    """Not hostile: each base invocation runs (and the bus ones fail in one line: no port)."""
    tmp, url = world
    for command, (base, _) in COMMANDS.items():
        argv = [a.replace("{tmp}", str(tmp)) for a in base] + ([] if command.split()[0] in DB_FREE else ["--db", url])
        status, out, err = run(argv)
        check(argv, status, out, err)
        if command not in ("read", "scan", "lots record", "lots verdict", "lots draw", "lots form", "meters replace",
                           "meters recalibrate", "meters battery", "survey show"):
            assert status == 0, (argv, err)


CALC_INPUTS = {
    "mpe": {"class": 2, "qp_m3h": 1.5, "ratio": 100, "q_m3h": 0.5, "dtheta_k": 20, "dtheta_min_k": 3,
            "dtheta_max_k": 80},
    "calibration": {"subassembly": "complete_meter", "class": 2, "qp_m3h": 1.5, "ratio": 100, "dtheta_min_k": 3,
                    "dtheta_max_k": 80, "points": [{"error_pct": 1.0, "q_m3h": 1.4, "dtheta_k": 50}]},
    "sizing": {"application": "heating", "design_power_kw": 50, "flow_temp_c": 70, "return_temp_c": 40,
               "min_power_kw": 2, "meter_position": "return",
               "catalogue": [{"qp_m3h": 1.5, "ratio": 100, "dn": 15}, {"qp_m3h": 2.5, "ratio": 100, "dn": 20}]},
    "resolution": {"kind": "heat", "min_power_kw": 2, "interval_min": 2, "fraction": 0.03, "meter_resolution_wh": 1},
    "heat-coefficient": {"hot_c": 70, "cold_c": 40, "position": "return", "pressure_mpa": 1.6},
}
json_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -1e308, 1e-320, 0, -0.0, 10 ** 400]),
    st.text(max_size=20), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                               max_size=2))


@st.composite
def calc_cases(draw):
    kind = draw(st.sampled_from(sorted(CALC_INPUTS)))
    data = json.loads(json.dumps(CALC_INPUTS[kind]))
    key = draw(st.sampled_from(sorted(data)))
    data[key] = draw(json_values)
    return kind, data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=calc_cases())
def test_hostile_calculator_inputs(world, case):
    tmp, _url = world
    kind, data = case
    f = tmp / "calc.json"
    try:
        f.write_text(json.dumps(data))
    except (ValueError, OverflowError):
        return
    argv = ["calc", kind, "-i", str(f), "--json"]
    status, out, err = run(argv)
    check(argv, status, out, err)
    if status == 0:
        def finite(x):
            if isinstance(x, float):
                assert math.isfinite(x)
            elif isinstance(x, dict):
                [finite(v) for v in x.values()]
            elif isinstance(x, list):
                [finite(v) for v in x]
        finite(json.loads(out))
    else:
        assert status == 2
