"""The make registry: one module per make, found by itself; what it declares reaches every user.

Expected models come from the names of the captured telegrams of the corpus
(each file is named after its meter), make names from
``resources/mbus_manufacturers.csv``, family profiles from the wake-up table
of docs/bus.md. A throw-away make, added as a package the code never names,
shows up in the wake-up table, the CLI help, the session's profile choice
and the simulator.
"""
from __future__ import annotations

import csv
import sys
import textwrap
from pathlib import Path

import pytest

import drivers.makes as makes
from drivers import errors
from drivers.mbus import decode, parse_hex
from drivers.session import BusSession, ConnectionSpec, KnownMeter
from drivers.simulator import LoopbackTransport, MeterConfig, SimBus

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "mbus-corpus"

# corpus frame -> the model its file name says it is
MODEL_OF_FRAME = {
    "kamstrup_multical_601": "MULTICAL 601", "metrona_ultraheat_xs": "ULTRAHEAT XS",
    "itron_cf_echo_2": "CF Echo 2", "itron_cf_55": "CF 55", "itron_integral_mk_maxx": "Integral-MK MaXX",
    "SLB_CF-Compact-Integral-MK-MaXX": "Integral-MK MaXX", "allmess_cf50": "CF50",
    "SEN_Sensus-PolluStat-E": "PolluStat E", "SEN_Sensus-PolluTherm": "PolluTherm", "sen_pollucom_e": "PolluCom E",
    "metrona_pollutherm": "PolluTherm", "sontex_supercal_531_telegram1": "Supercal 531", "Elster-F2": "F2",
    "svm_f22_telegram1": "F22", "svm_f22_telegram2": "F22", "minol_minocal_c2": "Minocal C2",
    "ZRM_Minol-Minocal-C2": "Minocal C2", "amt_calec_mb": "CALEC MB",
}

# docs/bus.md, wake-up table: the family profile of each FLAG code ("used for" column)
FAMILY_PROFILE = {"EFE": "engelmann", "SEN": "sensus", "SPX": "sensus", "HYD": "diehl", "DME": "diehl",
                  "KAM": "kamstrup", "LUG": "nul"}
# makes whose family profile is one of the generic ones (docs/bus.md: the UH50 speaks M-Bus after NULs)
ADOPTED = {"nul"}


def test_every_module_of_the_package_is_a_registered_make():
    files = {p.stem for p in (ROOT / "drivers" / "makes").glob("*.py")} - {"__init__", "base", "registry", "volume"}
    assert files and {m.key for m in makes.makes()} == files


@pytest.mark.parametrize("frame,model", sorted(MODEL_OF_FRAME.items()))
def test_models_match_the_captured_telegrams_they_were_named_after(frame, model):
    tg = decode(parse_hex((CORPUS / f"{frame}.hex").read_text()))
    assert makes.model_name(tg.manufacturer, tg.version) == model


def test_make_names_agree_with_the_manufacturer_table():
    first: dict[str, str] = {}
    with open(ROOT / "resources" / "mbus_manufacturers.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if line.strip() and not line.startswith("#")):
            first.setdefault(row["flag"].strip(), row["make"].strip())
    for make in makes.makes():
        for flag in make.flags:
            assert makes.make_name(flag) == first[flag], (make.key, flag)
    assert makes.make_name("IST") == "ista"          # a code no make module claims: from the table


def test_family_profiles_follow_the_wake_up_table():
    for flag, name in FAMILY_PROFILE.items():
        assert makes.profile_for_manufacturer(flag).name == name
    assert makes.profile_for_manufacturer("ACW") is None          # Itron: no family profile
    names = list(makes.profiles())
    assert names[:4] == ["none", "no-reset", "optical-55", "nul"]
    assert set(names[4:]) == set(FAMILY_PROFILE.values()) - ADOPTED


def test_the_uh50_wakes_into_mbus_with_nul_characters_at_even_parity():
    # docs/bus.md: a run of NUL characters at 2400 Bd 8E1 switches the UH50/T550 optical port to M-Bus
    p = makes.profile_for_manufacturer("LUG")
    assert (p.preamble_byte, p.preamble_parity) == (0x00, "E") and p.preamble_ms >= 800
    # through a generic head the family's NUL preamble is used, with the head's preamble length
    generic = makes.get_profile("optical-55")
    fam = makes.family_profile(generic, "LUG")
    assert (fam.name, fam.preamble_byte, fam.preamble_ms) == ("nul", 0x00, generic.preamble_ms)


def test_a_make_may_adopt_a_generic_profile_but_not_change_it():
    from dataclasses import replace

    from drivers.wakeup import NUL
    try:
        makes.register(makes.Make("other", "Other", ("QQB",), wakeup=NUL))      # a second make adopting "nul"
        assert makes.profile_for_manufacturer("QQB") is NUL
    finally:
        makes.unregister("other")
    with pytest.raises(ValueError, match="is a generic one"):
        makes.register(makes.Make("other", "Other", ("QQB",), wakeup=replace(NUL, preamble_ms=100)))


def test_optical_protocol_per_make():
    from drivers.protocols import protocol_for
    assert makes.optical_protocol("LUG") == "iec62056-21" and protocol_for("LUG") == "iec62056-21"
    assert makes.optical_protocol("KAM") == "kmp" and protocol_for("kam") == "kmp"
    assert makes.optical_protocol("EFE") is None and protocol_for("EFE") == "mbus"
    assert protocol_for(None) == "mbus"
    assert {k: [m.key for m in v] for k, v in makes.optical_protocols().items()} == \
        {"iec62056-21": ["landis_gyr"], "kmp": ["kamstrup"]}
    with pytest.raises(ValueError, match="optical_protocol"):
        makes.Make("other", "Other", ("QQB",), optical_protocol="mbus")


def test_a_make_cannot_take_another_makes_code_or_profile():
    with pytest.raises(ValueError, match="KAM already belongs"):
        makes.register(makes.Make("kamstrup2", "Other", ("KAM",)))
    kam_profile = makes.get("kamstrup").wakeup
    with pytest.raises(ValueError, match="exists already"):
        makes.register(makes.Make("other", "Other", ("QQB",), wakeup=kam_profile))


ACME = '''
from drivers.makes.base import Make, SimRecord
from drivers.wakeup import WakeupProfile

MAKE = Make(
    key="acme", name="Acme Heat", flags=("QQA",), models={"QQA": {0x07: "Thermo 7"}},
    wakeup=WakeupProfile("acme-ir", 0x00, 400, "E", 50, True, 20.0, note="Acme IR port: NUL preamble",
                         label="Optical head, Acme"),
    simulator={"acme": (SimRecord("fabrication", 0x78, "bcd8"), SimRecord("energy", 0x06, "int32"),
                        SimRecord("volume", 0x13, "int32"))},
)
'''


@pytest.fixture
def acme(tmp_path, monkeypatch):
    """A make module in a package of its own, found by the registry and removed again afterwards."""
    pkg = tmp_path / "acme_makes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "acme.py").write_text(textwrap.dedent(ACME))
    monkeypatch.syspath_prepend(str(tmp_path))
    found = makes.discover("acme_makes")
    yield found
    makes.unregister("acme")
    for name in ("acme_makes.acme", "acme_makes"):
        sys.modules.pop(name, None)


def test_a_new_make_module_is_all_it_takes(acme, monkeypatch, capsys):
    assert [m.key for m in acme] == ["acme"]
    assert makes.make_name("QQA") == "Acme Heat" and makes.model_name("QQA", 7) == "Thermo 7"
    assert "acme-ir" in makes.profiles() and makes.profile_for_manufacturer("QQA").name == "acme-ir"
    # the CLI's --profile help lists it
    from app.cli.main import main

    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as exc:
        main(["read", "--help"])
    assert exc.value.code == 0 and "acme-ir" in capsys.readouterr().out
    # a connection may ask for it by name
    assert ConnectionSpec("/dev/null", profile="acme-ir").wakeup_profile().preamble_byte == 0x00


def test_the_simulator_and_the_profile_choice_use_the_new_make(acme):
    cfg = MeterConfig("00000042", "QQA", 0x07, 0x04, primary_address=3, layout="acme",
                      wakeup={"byte": 0x00, "min_ms": 300, "awake_s": 20})   # wakes on NUL characters only
    bus = SimBus.from_configs([cfg], seed=1)
    s = BusSession()
    s.attach(LoopbackTransport(bus, 2400), ConnectionSpec(None, 2400, profile="optical-55", simulated=True), sim=bus)
    with pytest.raises(errors.NoAnswer):
        s.read_address(3)                        # make unknown: the generic 0x55 preamble does not wake it
    meter = KnownMeter.from_key("00000042.QQA.07.04", primary_address=3)
    assert meter.make == "Acme Heat" and meter.model == "Thermo 7"
    ro = s.read_meter(meter)                     # known make: its own NUL preamble
    assert ro.profile == "acme-ir"
    assert [r.quantity for r in ro.telegrams[0].records] == ["fabrication_number", "energy", "volume"]


def test_removing_the_make_removes_what_it_declared(acme):
    makes.unregister("acme")
    assert makes.make_name("QQA") is None and "acme-ir" not in makes.profiles()
    with pytest.raises(ValueError, match="unknown layout"):
        MeterConfig("00000042", "QQA", 7, 4, layout="acme").validate()
