"""The trust rules on the maintenance cycle's and the meter side's write paths (SQLite and PostgreSQL): writes to
meters with their frames, commissioning photos and recalibrations are evidence that ``db verify`` checks and
names when altered; the year's work (recalibration, replacement, battery, lot sends) verifies when done through
the register; a recalibration racing an edit of the same meter ends in a consistent history or a one-line
conflict."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.cli.main import main
from app.storage.errors import ConflictError
from app.storage.register import open_register

from tests.helpers.races import Started, together, wait_for_lock_waiters
from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import assert_consistent_history, tamper

# what a commissioning photo must start with to be taken (the register keeps the bytes it is given)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
# a clock write: SND_UD, its acknowledgement, a read-back request and its answer (bytes as given)
FRAMES = [("tx", bytes.fromhex("68090968730151046D1E0E4F33E416")), ("rx", b"\xe5"),
          ("tx", bytes.fromhex("107B017C16")), ("rx", bytes.fromhex("6803036808017816"))]


@pytest.fixture
def work(reg):
    """A meter with a write kept with its frames, a draft commissioning record with a photo, and a failed
    recalibration."""
    kam = reg.create_meter({"site": "North", "manufacturer": "Kamstrup", "model": "MULTICAL 403",
                            "serial": "71234567", "mbus_manufacturer": "KAM", "install_date": "2019-03-04"},
                           user="ann")
    w = reg.record_meter_write("clock", ok=True, outcome="confirmed", before={"clock": "2026-03-15T13:30:00"},
                               after={"clock": "2026-03-15T14:30:00"}, frames=FRAMES, meter_id=kam.id, user="tech")
    com = reg.create_commissioning(kam.id, user="tech")
    photo = reg.add_commissioning_photo(com["id"], PNG, step="place", filename="riser.png", user="tech")
    recal = reg.record_recalibration(kam.id, on=dt.date(2025, 6, 2), verdict="fail", error_pct=4.2, lab="Lab 7",
                                     certificate="C-991", user="planner")
    return {"meter": kam.id, "write": w["write_id"], "record": com["id"], "photo": photo["id"],
            "calibration": recal["calibration_result_id"]}


def problems(reg) -> list[tuple[str, str, str]]:
    return [(p.table, str(p.id), p.what) for p in reg.verify_integrity().problems]


def item_count(reg, table: str) -> int:
    with reg.engine.connect() as c:
        return c.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_writes_photos_and_recalibrations_are_evidence_that_verifies(reg, work):
    rep = reg.verify_integrity()
    assert rep.ok, rep.problems
    # the write, the photo and the calibration; the draft record is no item until it is signed
    assert rep.evidence == 3 == sum(item_count(reg, t) for t in ("meter_writes", "commissioning_photos",
                                                                  "calibration_results"))
    with reg.engine.connect() as c:
        anchored = {(t, i) for t, i in c.execute(text("SELECT item_table, item_id FROM evidence_anchors"))}
    assert {("meter_writes", work["write"]), ("commissioning_photos", work["photo"]),
            ("calibration_results", work["calibration"])} <= anchored


def test_a_forged_byte_of_a_write_frame_is_found_and_named(reg, work):
    with reg.engine.connect() as c:
        raw = bytearray(c.execute(text("SELECT raw FROM meter_write_frames WHERE write_id = :i AND seq = 2"),
                                  {"i": work["write"]}).scalar())
    raw[1] ^= 0x40  # another meter's address in the read-back request
    tamper(reg, "UPDATE meter_write_frames SET raw = :r WHERE write_id = :i AND seq = 2", r=bytes(raw),
           i=work["write"])
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("meter_writes", str(work["write"])) and "content altered" in what


def test_a_forged_outcome_of_a_write_is_found(reg, work):
    tamper(reg, "UPDATE meter_writes SET outcome = 'refused', ok = :f WHERE id = :i", f=False, i=work["write"])
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("meter_writes", str(work["write"])) and "altered" in what


def test_a_forged_photo_byte_is_found_even_with_its_sha256_column_forged_too(reg, work):
    import hashlib

    forged = PNG[:20] + b"\x00" + PNG[21:]
    tamper(reg, "UPDATE commissioning_photos SET data = :d WHERE id = :i", d=forged, i=work["photo"])
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("commissioning_photos", str(work["photo"])) and "content altered" in what
    tamper(reg, "UPDATE commissioning_photos SET sha256 = :h WHERE id = :i", h=hashlib.sha256(forged).hexdigest(),
           i=work["photo"])
    [(table, item, _what)] = problems(reg)
    assert (table, item) == ("commissioning_photos", str(work["photo"]))
    assert reg.commissioning_photo(work["photo"])["hash_ok"]  # the photo's own check is fooled; db verify is not


def test_a_forged_recalibration_is_found_and_named(reg, work):
    cid = work["calibration"]
    tamper(reg, "UPDATE calibration_results SET initial_verdict = 'pass', in_service_verdict = 'pass' WHERE id = :i",
           i=cid)
    [(table, item, what)] = problems(reg)
    assert (table, item) == ("calibration_results", str(cid)) and "content altered" in what


def test_a_forged_recalibration_point_is_found_and_db_verify_prints_it(reg, work, capsys):
    cid = work["calibration"]
    tamper(reg, "UPDATE calibration_points SET error_pct = 0.4 WHERE result_id = :i", i=cid)
    url = reg.engine.url.render_as_string(hide_password=False)
    assert main(["db", "verify", "--db", url]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"calibration_results {cid}: content altered")


def test_deleted_writes_and_photos_are_found_but_a_photo_taken_off_a_draft_is_not(reg, work):
    second = reg.add_commissioning_photo(work["record"], PNG + b"2", step="checklist:seals", user="tech")
    reg.remove_commissioning_photo(second["id"], user="tech")  # through the register: recorded, verifies
    assert reg.verify_integrity().ok
    tamper(reg, "DELETE FROM commissioning_photos WHERE id = :i", i=work["photo"])
    tamper(reg, "DELETE FROM meter_write_frames WHERE write_id = :i", i=work["write"])
    tamper(reg, "DELETE FROM meter_writes WHERE id = :i", i=work["write"])
    found = {(t, i): w for t, i, w in problems(reg)}
    assert set(found) == {("commissioning_photos", str(work["photo"])), ("meter_writes", str(work["write"]))}
    assert all(w.startswith("removed") for w in found.values())


def test_a_signed_record_hashes_with_its_photos_in_the_chain(reg, work):
    reg.save_commissioning_step(work["record"], step=6, technician="T. Tech", commissioned_on=dt.date(2026, 3, 15),
                                user="tech")
    signed = reg.sign_commissioning(work["record"], user="tech")
    sign = [e for e in reg.history(work["meter"]) if e["action"] == "sign"][-1]
    assert sign["after"]["content_hash"] == signed["content_hash"]
    assert [p["id"] for p in sign["after"]["photos"]] == [work["photo"]]
    assert reg.verify_integrity().ok
    tamper(reg, "UPDATE commissioning_photos SET step = 'clock' WHERE id = :i", i=work["photo"])
    assert [(t, i) for t, i, _w in problems(reg)] == [("commissioning_photos", str(work["photo"]))]


def test_the_years_work_through_the_register_verifies(reg, tmp_path):
    rows = make_rows(8, serial_base=40_000_000)
    reg.import_file(write_csv(tmp_path / "m.csv", rows, columns=list(rows[0])), user="ann")
    ids = [m.id for m in reg.list_meters(include_restricted=True)]
    m0, m1, m2 = (reg.get_meter(i) for i in ids[:3])
    reg.record_recalibration(m0.id, on=dt.date(2025, 5, 1), verdict="pass", error_pct=0.8,
                             expected_version=m0.version, user="planner")
    reg.record_battery_change(m1.id, on=dt.date(2025, 5, 2), expiry=dt.date(2037, 5, 2), user="tech")
    new = reg.record_replacement(m2.id, on=dt.date(2025, 5, 3), new_serial="77000001", user="planner")
    lot = reg.create_lot(key={"make": "mixed"}, member_ids=ids[3:], plan={"sample_size": 2}, purpose="sampling_9y",
                         user="planner")
    reg.record_draw(lot, [(ids[3], False), (ids[4], False), (ids[5], True)], seed=5, algorithm="t",
                    excluded=[ids[7]], user="planner")
    assert reg.send_to_lab(lot, [ids[3], ids[4]], on=dt.date(2025, 5, 4), user="planner") == 2
    rep = reg.verify_integrity()
    assert rep.ok, rep.problems
    for mid in (m0.id, m1.id, m2.id, new["new_meter_id"], ids[3]):
        assert_consistent_history(reg, mid)
    statuses = [e["after"]["status"] for e in reg.history(ids[3]) if e["entity"] == "lot_draws"]
    assert statuses == ["at_lab"]
    # the lot's rule names the member left out of the frame: the lot was hashed again with it
    tamper(reg, "UPDATE lots SET purpose = 'sampling_13y' WHERE id = :i", i=lot)
    assert [(t, i) for t, i, _w in problems(reg)] == [("lots", str(lot))]


# ---- a recalibration racing an edit of the same meter -------------------------------------------------

@pytest.fixture
def clients(db_url):
    regs = [open_register(db_url) for _ in range(3)]
    yield regs
    for r in regs:
        r.close()


def _meters(setup, tmp_path, n: int, base: int) -> list:
    rows = make_rows(n, serial_base=base)
    for r in rows:
        r.update(site="Site R", qp_m3h=1.5, qi_m3h=None, qp_qi_ratio=100)
    setup.import_file(write_csv(tmp_path / f"r{base}.csv", rows, columns=list(rows[0])))
    return [setup.find_meter(r["manufacturer"], r["serial"]) for r in rows]


def _versions_follow(reg, meter_id: int) -> list[dict]:
    """Every change of the meter starts from the version the one before left (its ``before`` is the committed
    state), and the history is consistent field by field."""
    hist = assert_consistent_history(reg, meter_id)
    version = None
    for e in hist:
        if e["entity"] != "meters" or e["action"] in ("access", "refused"):
            continue
        before, after = e["before"] or {}, e["after"] or {}
        if "version" in before:
            assert before["version"] == version, (e["action"], before, version)
        if "version" in after:
            version = after["version"]
        elif e["action"] == "create":
            version = 1
    return hist


def _recalibrations(reg, meter_id: int) -> list:
    return [c for c in reg.calibration_results(meter_id) if c["lot_id"] is None]


def test_recalibration_against_edit_with_the_same_version_one_wins(clients, tmp_path):
    """Both saw the same version: one is stored, the other is a one-line conflict that stored nothing."""
    setup, a, b = clients
    meters = _meters(setup, tmp_path, 4, 50_000_000)
    for round_, m in enumerate(meters):
        out = together(lambda: a.record_recalibration(m.id, on=dt.date(2025, 6, 1), verdict="pass", error_pct=0.5,
                                                      expected_version=m.version, user="planner"),
                       lambda: b.update_meter(m.id, {"qp_m3h": 2.5}, expected_version=m.version, user="tech"))
        lost = [o for o in out if isinstance(o, ConflictError)]
        assert len(lost) == 1 and not any(isinstance(o, Exception) and o not in lost for o in out), out
        assert "\n" not in str(lost[0])
        recal_won = not isinstance(out[0], ConflictError)
        now = setup.get_meter(m.id)
        assert now.version == m.version + 1
        assert (now.qp_m3h == 1.5) == recal_won and len(_recalibrations(setup, m.id)) == int(recal_won)
        _versions_follow(setup, m.id)
        assert setup.verify_integrity().ok


def test_recalibration_and_edit_without_a_version_both_apply_on_top(clients, tmp_path):
    """A recalibration entered from a lab's file (no version seen) and an edit: both stored, one after the
    other, each event starting from the state the other left."""
    setup, a, b = clients
    meters = _meters(setup, tmp_path, 3, 51_000_000)
    for m in meters:
        out = together(lambda: a.record_recalibration(m.id, on=dt.date(2025, 6, 1), verdict="fail", error_pct=5.0,
                                                      user="planner"),
                       lambda: b.update_meter(m.id, {"qp_m3h": 2.5}, expected_version=m.version, user="tech"))
        edit = out[1]
        assert not isinstance(out[0], Exception), out[0]
        now = setup.get_meter(m.id)
        if isinstance(edit, ConflictError):  # the recalibration came first: the edit's version was stale
            assert "\n" not in str(edit) and now.version == m.version + 1 and now.qp_m3h == 1.5
        else:
            assert now.version == m.version + 2 and now.qp_m3h == 2.5
        assert len(_recalibrations(setup, m.id)) == 1
        _versions_follow(setup, m.id)
        assert setup.verify_integrity().ok


@pytest.mark.postgres
@pytest.mark.parametrize("first", ["recalibration", "edit"])
def test_recalibration_and_edit_queued_on_the_row_lock(pg_url, tmp_path, first):
    """Both wait on the meter's row lock held by a third session; whoever queued first goes first, the other
    applies on top of it (the recalibration) or is refused because its version is stale (the edit)."""
    setup, a, b = (open_register(pg_url) for _ in range(3))
    try:
        m = _meters(setup, tmp_path, 2, 52_000_000)[1]
        u = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
        blocker, watcher = psycopg.connect(u), psycopg.connect(u, autocommit=True)
        try:
            blocker.execute("SELECT id FROM meters WHERE id = %s FOR UPDATE", (m.id,))
            recal = lambda: a.record_recalibration(m.id, on=dt.date(2025, 6, 1), verdict="pass",  # noqa: E731
                                                   error_pct=0.3, user="planner")
            edit = lambda: b.update_meter(m.id, {"qp_m3h": 3.5}, expected_version=m.version,  # noqa: E731
                                          user="tech")
            one = Started(recal if first == "recalibration" else edit, "first")
            wait_for_lock_waiters(watcher, 1)
            two = Started(edit if first == "recalibration" else recal, "second")
            wait_for_lock_waiters(watcher, 2)
            blocker.rollback()
            res = {"first": one.outcome(), "second": two.outcome()}
        finally:
            blocker.close()
            watcher.close()
        edit_out = res["first"] if first == "edit" else res["second"]
        recal_out = res["first"] if first == "recalibration" else res["second"]
        assert not isinstance(recal_out, Exception), recal_out
        now = setup.get_meter(m.id)
        if first == "recalibration":
            assert isinstance(edit_out, ConflictError) and "\n" not in str(edit_out)
            assert (now.version, now.qp_m3h) == (m.version + 1, 1.5)
        else:
            assert not isinstance(edit_out, Exception), edit_out
            assert (now.version, now.qp_m3h) == (m.version + 2, 3.5)
        _versions_follow(setup, m.id)
        assert setup.verify_integrity().ok
    finally:
        for r in (setup, a, b):
            r.close()
