"""ISO 2859-1 tables: every reachable cell against an independent reproduction, arrows, properties."""
import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from app.core.errors import InputError
from app.core.sampling import LEVELS, code_letter, oc_curve, sampling_plan, table2, table_plan

DATA = Path(__file__).resolve().parent.parent / "data"
Z14 = json.loads((DATA / "iso2859_z14_resolved.json").read_text(encoding="utf-8"))
ISO1999 = json.loads((DATA / "iso2859_1999_resolved.json").read_text(encoding="utf-8"))
LETTERS = "ABCDEFGHJKLMNPQR"

# Level II, AQL 4.0: every lot-size range of Table 1 (published ISO 2859-1:1999
# values: code letter, then n, Ac, Re after the arrows; normal and tightened are
# also MIL-STD-105E's, reduced is the 1999 Table 2-C).
LEVEL_II_AQL_4 = [
    # lot range, letter, normal (n, Ac, Re), tightened (n, Ac, Re), reduced (n, Ac, Re)
    ((2, 8), "A", (3, 0, 1), (5, 0, 1), (2, 0, 1)),
    ((9, 15), "B", (3, 0, 1), (5, 0, 1), (2, 0, 1)),
    ((16, 25), "C", (3, 0, 1), (5, 0, 1), (2, 0, 1)),
    ((26, 50), "D", (13, 1, 2), (20, 1, 2), (8, 1, 2)),
    ((51, 90), "E", (13, 1, 2), (20, 1, 2), (8, 1, 2)),
    ((91, 150), "F", (20, 2, 3), (20, 1, 2), (8, 1, 2)),
    ((151, 280), "G", (32, 3, 4), (32, 2, 3), (13, 2, 3)),
    ((281, 500), "H", (50, 5, 6), (50, 3, 4), (20, 3, 4)),
    ((501, 1200), "J", (80, 7, 8), (80, 5, 6), (32, 5, 6)),
    ((1201, 3200), "K", (125, 10, 11), (125, 8, 9), (50, 6, 7)),
    ((3201, 10000), "L", (200, 14, 15), (200, 12, 13), (80, 8, 9)),
    ((10001, 35000), "M", (315, 21, 22), (315, 18, 19), (125, 10, 11)),
    ((35001, 150000), "N", (315, 21, 22), (315, 18, 19), (125, 10, 11)),
    ((150001, 500000), "P", (315, 21, 22), (315, 18, 19), (125, 10, 11)),
    ((500001, 2_000_000), "Q", (315, 21, 22), (315, 18, 19), (125, 10, 11)),
]


@pytest.mark.parametrize("rng,letter,normal,tight,reduced", LEVEL_II_AQL_4)
def test_level_ii_aql_4_every_lot_range(rng, letter, normal, tight, reduced):
    for lot in rng:
        assert code_letter(lot, "II") == letter
        for insp, exp in (("normal", normal), ("tightened", tight), ("reduced", reduced)):
            p = sampling_plan(lot, "II", 4.0, insp)
            n, ac, re_ = exp
            assert (p.table_sample_size, p.acceptance_number, p.rejection_number) == (n, ac, re_), (lot, insp)
            assert p.sample_size == min(n, lot)
            assert p.full_inspection is (n >= lot)


def test_maintenance_spec_example():
    assert sampling_plan(1200).as_dict() == {
        "lot_size": 1200, "level": "II", "aql": 4.0, "inspection": "normal", "code_letter": "J",
        "plan_letter": "J", "sample_size": 80, "acceptance_number": 7, "rejection_number": 8,
        "sampling_fraction": 0.0667}


def test_arrow_cases():
    # A at 4.0 points down to B's 0/1; C at 4.0 points up to B; D at 4.0 down to E's 1/2.
    assert table_plan("A", 4.0) == ("B", 3, 0, 1)
    assert table_plan("C", 4.0) == ("B", 3, 0, 1)
    assert table_plan("D", 4.0) == ("E", 13, 1, 2)
    # M and beyond at 4.0: up arrows to L? no: to M's 21/22 (the last plan of the column).
    assert table_plan("R", 4.0) == ("M", 315, 21, 22)
    # Tightened: two cells of down arrow below 0/1 (G at 1.0 → J 1/2).
    assert table_plan("G", 1.0, "tightened") == ("J", 80, 1, 2)
    # Tightened row S (n = 3150) is reached from R at 0.025.
    assert table_plan("R", 0.025, "tightened") == ("S", 3150, 1, 2)
    # Border cells: normal A at 10 points down, R at 0.015 points up.
    assert table_plan("A", 10, "normal") == ("C", 5, 1, 2)
    assert table_plan("R", 0.015, "normal") == ("P", 800, 0, 1)


@pytest.mark.parametrize("insp", ["normal", "tightened", "reduced"])
def test_every_cell_matches_the_1999_edition(insp):
    """All 16 × 26 cells after the arrows: plan letter, n, Ac, Re as transcribed from ISO 2859-1:1999."""
    aqls = [float(a) for a in ISO1999["aql"]]
    for L in LETTERS:
        for j, aql in enumerate(aqls):
            expected = ISO1999[insp][L][j]
            assert expected is not None, (insp, L, ISO1999["aql"][j])
            assert list(table_plan(L, aql, insp)) == expected, (insp, L, ISO1999["aql"][j])


#: The one cell where ISO 2859-1:1999 Table 2-B differs from MIL-STD-105E Table II-B.
TIGHTENED_1999_ONLY = {("A", "10")}


@pytest.mark.parametrize("insp", ["normal", "tightened"])
def test_normal_and_tightened_cells_match_mil_std_105e(insp):
    """Second, independent source for 2-A and 2-B: AQLSchemes' MIL-STD-105E / Z1.4 tables (n, Ac, Re)."""
    aqls = [float(a) for a in Z14["aql"]]
    for L in LETTERS:
        for j, aql in enumerate(aqls):
            _, n, ac, re_ = table_plan(L, aql, insp)
            if insp == "tightened" and (L, Z14["aql"][j]) in TIGHTENED_1999_ONLY:
                assert Z14[insp][L][j] == [8, 1, 2] and [n, ac, re_] == [2, 0, 1]
                continue
            assert [n, ac, re_] == Z14[insp][L][j], (insp, L, Z14["aql"][j])


def test_reduced_1999_differs_from_1989_as_the_standard_says():
    """1999 Table 2-C: Ac and Re both changed, no gap (issue example: J, AQL 4.0 → n 32, Ac 5, Re 6;
    MIL-STD-105E prints 3/6); sample sizes and the 0/1 diagonal are the 1989 ones."""
    assert table_plan("J", 4.0, "reduced") == ("J", 32, 5, 6)
    assert Z14["reduced"]["J"][Z14["aql"].index("4.0")] == [32, 3, 6]
    aqls = [float(a) for a in Z14["aql"]]
    for L in LETTERS:
        for j, aql in enumerate(aqls):
            _, n, ac, re_ = table_plan(L, aql, "reduced")
            assert re_ == ac + 1
            n89, ac89, re89 = Z14["reduced"][L][j]
            if ac89 == 0 and re89 == 1:
                assert (n, ac, re_) == (n89, 0, 1), (L, Z14["aql"][j])
            assert ac89 <= ac < re89 or (ac89, re89) == (0, 2), (L, Z14["aql"][j])


def test_reduced_iso_example_of_an_independent_manual():
    """AQL Inspector's Rule manual, example 3 (ISO version): lot 125, level III, AQL 1.0, reduced:
    code G, arrows through H to J, n = 32, Ac 1, Re 2."""
    p = sampling_plan(125, "III", 1.0, "reduced")
    assert (p.code_letter, p.plan_letter, p.sample_size, p.acceptance_number, p.rejection_number) == \
        ("G", "J", 32, 1, 2)


def test_nibs_level_ii_extract_rejection_numbers():
    """Second source: MIL-STD-105E level II normal extract (US NIBS guide, Table 1-A), Re for AQL 0.65 … 15."""
    aqls = [0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10, 15]
    published = {
        "J": [2, 3, 4, 6, 8, 11, 15, 22], "K": [3, 4, 6, 8, 11, 15, 22, 22],
        "H": [2, 2, 3, 4, 6, 8, 11, 15], "F": [1, 1, 2, 2, 3, 4, 6, 8],
        "Q": [15, 22, 22, 22, 22, 22, 22, 22],
    }
    for L, res in published.items():
        assert [table_plan(L, a)[3] for a in aqls] == res, L


def test_reduced_uses_the_1999_plans():
    p = sampling_plan(2000, "II", 4.0, "reduced")
    assert (p.sample_size, p.acceptance_number, p.rejection_number) == (50, 6, 7)
    assert "rejection_number_1989" not in p.as_dict()


def test_full_inspection_when_n_reaches_the_lot():
    # Lot of 20 (code C) at AQL 0.65: arrows lead to F (n = 20, 0/1): every meter is inspected.
    d = sampling_plan(20, "II", 0.65).as_dict()
    assert d["full_inspection"] is True and d["sample_size"] == 20 and d["sampling_fraction"] == 1.0
    assert d["plan_letter"] == "F" and d["acceptance_number"] == 0
    # Lot of 26 (code D) at 0.65: same plan, n = 20 < 26, no full inspection.
    d = sampling_plan(26, "II", 0.65).as_dict()
    assert "full_inspection" not in d and d["sample_size"] == 20


@pytest.mark.parametrize("args,key", [
    ((0, "II", 4.0), "lot_size"), ((10, "IV", 4.0), "level"), ((10, "II", 3.0), "aql"), ((10, "II", 4.0, "lax"), "inspection"),
])
def test_bad_arguments(args, key):
    with pytest.raises(InputError) as exc:
        sampling_plan(*args)
    assert exc.value.key == key


@settings(max_examples=200, deadline=None)
@given(lot=st.integers(min_value=1, max_value=2_000_000), level=st.sampled_from(LEVELS),
       aql=st.sampled_from([float(a) for a in Z14["aql"]]), insp=st.sampled_from(["normal", "tightened", "reduced"]))
def test_sample_never_exceeds_lot_and_arrows_land_on_the_target_plan(lot, level, aql, insp):
    p = sampling_plan(lot, level, aql, insp)
    assert 1 <= p.sample_size <= lot
    assert 0 <= p.acceptance_number < p.rejection_number
    # The plan reached through arrows is the plan printed at the row the arrows point to.
    t = table2(insp)
    i, j = t.letters.index(p.plan_letter), [round(a, 6) for a in t.aqls].index(round(aql, 6))
    ac, re_ = (int(x) for x in t.cells[i][j].split())
    assert (t.sizes[i], ac) == (p.table_sample_size, p.acceptance_number)
    assert table_plan(p.plan_letter, aql, insp)[0] == p.plan_letter


def test_oc_curve_shapes():
    oc = oc_curve(80, 7, lot_size=1200, points=21)
    assert oc[0]["pa_binomial"] == 1.0 and oc[0]["pa_hypergeometric"] == 1.0
    pa = [r["pa_binomial"] for r in oc]
    assert all(a >= b for a, b in zip(pa, pa[1:]))
    assert pa[-1] < 0.002
    # Hand checks: n = 3, Ac = 0 at p = 0.1: 0.9³ = 0.729; with N = 10 (D = 1): C(9,3)/C(10,3) = 0.7.
    r = oc_curve(3, 0, lot_size=10, fractions=[0.1])[0]
    assert r["pa_binomial"] == pytest.approx(0.729)
    assert r["defectives_in_lot"] == 1 and r["pa_hypergeometric"] == pytest.approx(0.7)
    # n = 5, Ac = 1, N = 10, D = 3: [C(7,5) + 3·C(7,4)]/C(10,5) = (21 + 105)/252 = 0.5
    assert oc_curve(5, 1, lot_size=10, fractions=[0.3])[0]["pa_hypergeometric"] == pytest.approx(0.5)
