"""The planner service (``app.services.planner``) that ``heatmeter schedule|lots`` and the Planner page share:
user mistakes as values for the app, a lab file's blanks filled in, the lot the page opens first."""
from __future__ import annotations

import csv
import datetime as dt

import pytest

from app.services import planner

from tests.helpers.planning import small_register

ON = dt.date(2025, 3, 1)


@pytest.fixture
def small(tmp_path):
    reg = small_register(f"sqlite:///{tmp_path / 'small.db'}", tmp_path)
    yield reg
    reg.close()


def _big_lot(reg) -> dict:
    f = planner.form_lots(reg, as_of=ON, all_meters=True, key=("manufacturer", "model"), user="planner")
    return max(f.lots, key=lambda lt: lt["size"])


def test_user_mistakes_come_back_as_failures_naming_the_input(small):
    f = planner.guarded(planner.form_lots, small, as_of=ON, sampling_round=10)
    assert isinstance(f, planner.Failure) and f.key == "round" and f.message.startswith("round: ")
    f = planner.guarded(planner.show_lot, small, 999)
    assert isinstance(f, planner.Failure) and f.key is None and "999" in f.message and "\n" not in f.message
    assert planner.guarded(planner.list_lots, small) == []


def test_a_lab_file_gets_the_lab_and_certificate_it_leaves_blank(small, tmp_path):
    lot = _big_lot(small)
    d = planner.draw_lot(small, lot["id"], 11, spares=0, user="planner")
    path = tmp_path / "lab.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["manufacturer", "serial", "error_pct", "lab"])
        first, second = d["sample"][:2]
        w.writerow([first["manufacturer"], first["serial"], "0.4", "Own Lab"])
        w.writerow([second["manufacturer"], second["serial"], "0.6", ""])
    out = planner.import_results(small, lot["id"], str(path), user="lab", tested_on=dt.date(2025, 4, 1),
                                 lab="Northern Test Lab", certificate="C-17")
    assert len(out["recorded"]) == 2
    labs = {}
    for m in (first, second):
        (res,) = small.calibration_results(m["meter_id"])
        labs[m["serial"]] = (res["lab"], res["certificate"], res["tested_on"])
    assert labs == {first["serial"]: ("Own Lab", "C-17", dt.date(2025, 4, 1)),
                    second["serial"]: ("Northern Test Lab", "C-17", dt.date(2025, 4, 1))}


def test_the_page_opens_a_decided_lot_first_and_knows_which_lots_exist(small):
    assert planner.first_decided_lot(small) is None
    f = planner.form_lots(small, as_of=ON, all_meters=True, key=("manufacturer", "model"), user="planner")
    ids = [lt["id"] for lt in f.lots]
    assert planner.first_decided_lot(small) == max(ids)            # nothing drawn: the newest
    lot = next(lt for lt in f.lots if lt["plan"]["sample_size"] < lt["size"])
    d = planner.draw_lot(small, lot["id"], 5, spares=0)
    assert planner.first_decided_lot(small) == lot["id"]           # drawn beats formed
    planner.record_results(small, lot["id"], [planner.result_entry(m["manufacturer"], m["serial"], error_pct=0.1)
                                              for m in d["sample"]])
    v = planner.decide_lot(small, lot["id"], on=dt.date(2025, 6, 1))
    assert v["verdict"] == "pass" and v["stored"]
    assert planner.first_decided_lot(small) == lot["id"]
    assert planner.lot_exists(small, lot["id"]) and not planner.lot_exists(small, max(ids) + 1)
    detail = planner.lot_detail(small, lot["id"], oc_points=11)
    assert len(detail["oc_curve"]) == 11 and detail["observed"]["defectives"] == 0
    assert detail["observed"]["tested"] == d["sample_size"]
