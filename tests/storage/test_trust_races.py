"""Two or three clients on one register at once (SQLite file and PostgreSQL): a legal hold against an erase,
concurrent imports, an import during an erase, concurrent edits, lots decided twice. Each rule runs with
varied timing: one side queued behind the other (PostgreSQL: on the row lock itself), one side started in
the middle of the other (inside its transaction), and both released together by a barrier, several times.
After each run the event history is consistent: every ``before`` is the previous ``after``."""
from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.storage.errors import ConflictError, LegalHoldError, ValidationError
from app.storage.register import bulk_import, open_register

from tests.helpers.races import Started, together, wait_for_lock_waiters
from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import assert_consistent_history, stored_text


def _rows(n: int, serial_base: int, site: str, qp: float, tenant: str = "Tenant") -> list[dict]:
    rows = make_rows(n, serial_base=serial_base)
    for i, r in enumerate(rows):
        r.update(site=site, qp_m3h=qp, qi_m3h=None, qp_qi_ratio=100, occupant_name=f"{tenant} {serial_base + i}",
                 flat=f"F{i}")
    return rows


def _csv(path, rows):
    return write_csv(path, rows, columns=list(rows[0]))


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(bulk_import, "CHUNK", 25)
    monkeypatch.setattr(bulk_import, "BATCH", 10)


@pytest.fixture
def clients(db_url):
    """Three sessions on one register: set-up/inspection, and two clients (separate pools)."""
    regs = [open_register(db_url) for _ in range(3)]
    yield regs
    for r in regs:
        r.close()


def _blocker(db_url, autocommit: bool = False):
    """PostgreSQL: a session of our own, to hold a meter's row lock while others queue behind it (or, in
    autocommit, to watch them queue: a transaction would see one snapshot of the server's activity)."""
    u = make_url(db_url).set(drivername="postgresql")
    return psycopg.connect(u.render_as_string(hide_password=False), autocommit=autocommit)


# ---- a legal hold against an erase ------------------------------------------------------------

def _hold_vs_erase_outcome(reg, target: int, erase_result) -> str:
    m = reg.get_meter(target)
    hist = assert_consistent_history(reg, target)
    actions = [e["action"] for e in hist]
    assert m.legal_hold
    if m.personal_erased_at is not None:  # the erase reached the meter first; then the hold was set
        assert actions.index("erase_personal") < actions.index("legal_hold")
        assert m.occupant_name is None and isinstance(erase_result, type(erase_result))
        return "erased, then held"
    assert "erase_personal" not in actions and m.occupant_name is not None
    refused = [e for e in hist if e["action"] == "refused"]
    assert refused and refused[-1]["after"]["reason"] == "legal hold"
    assert actions.index("legal_hold") < actions.index("refused")
    return "held, erase refused"


def test_hold_against_erase_released_together(clients, tmp_path):
    setup, a, b = clients
    seen = set()
    for round_ in range(4):
        rows = _rows(12, 20_000_000 + 100 * round_, f"Site {round_}", 1.5)
        setup.import_file(_csv(tmp_path / f"r{round_}.csv", rows))
        ids = [m.id for m in setup.list_meters(site=f"Site {round_}")]
        target = ids[5 + round_ % 3]
        erase, hold = together(lambda: a.erase_personal_data(ids, user="dpo"),
                               lambda: b.set_legal_hold(target, user="lawyer"))
        assert not isinstance(hold, Exception) and not isinstance(erase, Exception), (erase, hold)
        seen.add(_hold_vs_erase_outcome(setup, target, erase))
        assert (target in erase.held) == (setup.get_meter(target).personal_erased_at is None)
        assert setup.verify_integrity().ok
    assert seen  # which side won each round is the database's call


@pytest.mark.postgres
@pytest.mark.parametrize("first", ["erase", "hold"])
def test_hold_against_erase_queued_on_the_row_lock(pg_url, tmp_path, first):
    """Both wait on the meter's row lock (held by a third session); whoever queued first gets it first."""
    setup, a, b = (open_register(pg_url) for _ in range(3))
    try:
        rows = _rows(12, 21_000_000, "Site Q", 1.5)
        setup.import_file(_csv(tmp_path / "q.csv", rows))
        ids = [m.id for m in setup.list_meters(site="Site Q")]
        target = ids[4]
        blocker, watcher = _blocker(pg_url), _blocker(pg_url, autocommit=True)
        try:
            blocker.execute("SELECT id FROM meters WHERE id = %s FOR UPDATE", (target,))
            do_erase = lambda: a.erase_personal_data(ids, user="dpo")  # noqa: E731
            do_hold = lambda: b.set_legal_hold(target, user="lawyer")  # noqa: E731
            one = Started(do_erase if first == "erase" else do_hold, "first")
            wait_for_lock_waiters(watcher, 1)
            two = Started(do_hold if first == "erase" else do_erase, "second")
            wait_for_lock_waiters(watcher, 2)
            blocker.rollback()  # released: the queue goes in order
            res = {"first": one.outcome(), "second": two.outcome()}
        finally:
            blocker.close()
            watcher.close()
        erase = res["first"] if first == "erase" else res["second"]
        assert not isinstance(erase, Exception), erase
        outcome = _hold_vs_erase_outcome(setup, target, erase)
        assert outcome == ("erased, then held" if first == "erase" else "held, erase refused")
        assert setup.verify_integrity().ok
    finally:
        for r in (setup, a, b):
            r.close()


def test_single_meter_erase_refused_under_hold_is_logged(clients, tmp_path):
    setup, a, b = clients
    setup.import_file(_csv(tmp_path / "s.csv", _rows(3, 22_000_000, "Site S", 1.5)))
    m = setup.list_meters()[0]
    b.set_legal_hold(m.id, user="lawyer")
    with pytest.raises(LegalHoldError):
        a.erase_personal_data(m.id, user="dpo")
    last = setup.history(m.id)[-1]
    assert (last["action"], last["after"]["reason"]) == ("refused", "legal hold")
    assert setup.get_meter(m.id).occupant_name == m.occupant_name


# ---- concurrent imports -------------------------------------------------------------------------

def _while_half_imported(reg, path, user: str, second, name: str):
    """Import ``path`` as ``user``; once part of it is written, and before it goes on, start ``second()``
    in another thread (named ``name``). Both outcomes, the import's first."""
    half, started = threading.Event(), threading.Event()

    def progress(done, total):
        if done and done < total and not half.is_set():
            half.set()
            assert started.wait(60)

    first = Started(lambda: reg.import_file(path, user=user, progress=progress), user)
    assert half.wait(60)

    def run():
        started.set()
        return second()

    other = Started(run, name)
    return first.outcome(), other.outcome()


def _two_imports_check(setup, ids, a_value, b_value, reports):
    for rep in reports:
        assert not isinstance(rep, Exception), rep
        assert rep.updated == len(ids)  # each applied on top of what was committed
    finals = set()
    for mid in ids:
        hist = assert_consistent_history(setup, mid)
        ups = [e for e in hist if e["action"] == "update"]
        assert len(ups) == 2 and {ups[0]["before"]["qp_m3h"]} == {1.5}
        assert {ups[0]["after"]["qp_m3h"], ups[1]["after"]["qp_m3h"]} == {a_value, b_value}
        finals.add(setup.get_meter(mid).qp_m3h)
        assert setup.get_meter(mid).qp_m3h == ups[1]["after"]["qp_m3h"]
    assert len(finals) == 1  # one import ran after the other: the whole file wins, not a mix


def _import_setup(setup, tmp_path, base):
    rows = _rows(80, base, "Site I", 1.5)
    setup.import_file(_csv(tmp_path / "start.csv", rows))
    ids = [setup.find_meter(r["manufacturer"], r["serial"]).id for r in rows]
    alice = [dict(r, qp_m3h=2.5) for r in rows]
    bob = [dict(r, qp_m3h=3.5) for r in rows]
    return ids, _csv(tmp_path / "alice.csv", alice), _csv(tmp_path / "bob.csv", bob)


def test_concurrent_imports_released_together(clients, tmp_path, small_chunks):
    setup, a, b = clients
    for round_ in range(3):
        ids, fa, fb = _import_setup(setup, tmp_path, 23_000_000 + 1000 * round_)
        reports = together(lambda: a.import_file(fa, user="alice"), lambda: b.import_file(fb, user="bob"))
        _two_imports_check(setup, ids, 2.5, 3.5, reports)
    assert setup.verify_integrity().ok


def test_an_import_started_while_another_is_half_written(clients, tmp_path, small_chunks):
    """Bob's import starts after Alice's first chunks are written inside her transaction."""
    setup, a, b = clients
    ids, fa, fb = _import_setup(setup, tmp_path, 24_000_000)
    reports = list(_while_half_imported(a, fa, "alice", lambda: b.import_file(fb, user="bob"), "bob"))
    _two_imports_check(setup, ids, 2.5, 3.5, reports)
    assert {setup.get_meter(i).qp_m3h for i in ids} == {3.5}  # Bob's applied on top of Alice's
    assert setup.verify_integrity().ok


# ---- an import during an erase ------------------------------------------------------------------

def _erase_setup(setup, tmp_path, base, b_first: bool = False):
    """Meters of site A (first in the file) and site B (erased); the file changes every qp and repeats
    the occupant names the register had."""
    a_rows = _rows(30, base, "Site A", 1.5, tenant="Alpha")
    b_rows = _rows(30, base + 500, "Site B", 1.5, tenant="Bravo")
    setup.import_file(_csv(tmp_path / "start.csv", a_rows + b_rows))
    b_ids = [m.id for m in setup.list_meters(site="Site B")]
    changed = [dict(r, qp_m3h=2.5) for r in (b_rows + a_rows if b_first else a_rows + b_rows)]
    return b_ids, [r["occupant_name"] for r in b_rows], _csv(tmp_path / "change.csv", changed)


def _erase_check(setup, b_ids, names, report, erased):
    assert not isinstance(report, Exception), report
    assert not isinstance(erased, Exception), erased
    assert sorted(erased.erased) == sorted(b_ids)
    stored = stored_text(setup)
    for name in names:
        assert name not in stored, f"{name} came back"
    for mid in b_ids:
        m = setup.get_meter(mid)
        assert m.occupant_name is None and m.flat is None and m.qp_m3h == 2.5
        hist = assert_consistent_history(setup, mid)
        assert not any(name in str(hist) for name in names)
    assert setup.verify_integrity().ok


@pytest.mark.postgres
def test_an_erase_committed_while_an_import_is_half_way(pg_url, tmp_path, small_chunks):
    """The import has written site A; site B is erased and committed; then the import writes site B: its
    ``before`` is the erased state and the names in its file do not come back."""
    setup, a, b = (open_register(pg_url) for _ in range(3))
    try:
        b_ids, names, f = _erase_setup(setup, tmp_path, 25_000_000)
        half, erased_done = threading.Event(), threading.Event()

        def progress(done, total):
            if done and done < total and not half.is_set():
                half.set()
                assert erased_done.wait(60)

        imp = Started(lambda: a.import_file(f, user="planner", progress=progress), "import")
        assert half.wait(60)
        erased = b.erase_personal_data(b_ids, user="dpo")
        erased_done.set()
        report = imp.result()
        assert sorted(report.kept_erased) == sorted(b_ids)
        assert any("in use by another session" in line for line in erased.remaining)  # the import held them
        _erase_check(setup, b_ids, names, report, erased)
    finally:
        for r in (setup, a, b):
            r.close()


def test_an_erase_started_while_an_import_holds_its_meters(clients, tmp_path, small_chunks):
    """The import has locked and changed site B (first in its file); the erase starts, waits, and erases
    after the import committed, the import's own event values included."""
    setup, a, b = clients
    b_ids, names, f = _erase_setup(setup, tmp_path, 26_000_000, b_first=True)
    report, erased = _while_half_imported(a, f, "planner", lambda: b.erase_personal_data(b_ids, user="dpo"), "erase")
    _erase_check(setup, b_ids, names, report, erased)


def test_import_and_erase_released_together(clients, tmp_path, small_chunks):
    setup, a, b = clients
    for round_ in range(3):
        b_ids, names, f = _erase_setup(setup, tmp_path, 27_000_000 + 1000 * round_)
        report, erased = together(lambda: a.import_file(f, user="planner"),
                                  lambda: b.erase_personal_data(b_ids, user="dpo"))
        _erase_check(setup, b_ids, names, report, erased)
        for s in ("Site A", "Site B"):  # the next round starts from meters of its own
            for m in setup.list_meters(site=s):
                setup.move_meter(m.id, on=dt.date(2025, 1, 1), site=f"Old {round_}", expected_version=m.version)


# ---- concurrent edits ------------------------------------------------------------------------------

def test_concurrent_edits_of_one_meter_one_wins(clients, tmp_path):
    setup, a, b = clients
    setup.import_file(_csv(tmp_path / "e.csv", _rows(4, 28_000_000, "Site E", 1.5)))
    for round_ in range(4):
        m = setup.list_meters()[round_]
        out = together(lambda: a.update_meter(m.id, {"qp_m3h": 6.0}, expected_version=m.version, user="alice"),
                       lambda: b.update_meter(m.id, {"qp_m3h": 10.0}, expected_version=m.version, user="bob"))
        won = [o for o in out if not isinstance(o, Exception)]
        lost = [o for o in out if isinstance(o, ConflictError)]
        assert len(won) == 1 and len(lost) == 1, out
        assert setup.get_meter(m.id).qp_m3h == won[0].qp_m3h
        hist = assert_consistent_history(setup, m.id)
        assert [e["after"]["qp_m3h"] for e in hist if e["action"] == "update"] == [won[0].qp_m3h]


def test_an_edit_and_an_import_both_apply_on_top(clients, tmp_path, small_chunks):
    setup, a, b = clients
    rows = _rows(40, 29_000_000, "Site F", 1.5)
    setup.import_file(_csv(tmp_path / "f.csv", rows))
    f2 = _csv(tmp_path / "f2.csv", [dict(r, qp_m3h=2.5) for r in rows])
    target = setup.find_meter(rows[30]["manufacturer"], rows[30]["serial"])
    out = together(lambda: a.import_file(f2, user="planner"),  # the file has no status column
                   lambda: b.update_meter(target.id, {"status": "in_repair"}, expected_version=target.version,
                                          user="tech"))
    edit = out[1]
    assert not isinstance(out[0], Exception), out[0]
    if isinstance(edit, ConflictError):  # the import changed the meter first: the edit's version was stale
        assert setup.get_meter(target.id).status == "in_service"
    else:
        assert setup.get_meter(target.id).status == "in_repair"
    assert setup.get_meter(target.id).qp_m3h == 2.5
    assert_consistent_history(setup, target.id)
    assert setup.verify_integrity().ok


# ---- lots --------------------------------------------------------------------------------------

def test_a_lot_is_decided_once_and_formed_from_a_fresh_reading(clients, tmp_path):
    from app.storage.register import NewLot

    setup, a, b = clients
    setup.import_file(_csv(tmp_path / "l.csv", _rows(10, 30_000_000, "Site L", 1.5)))
    ids = [m.id for m in setup.list_meters()]
    lot = setup.create_lot(key={}, member_ids=ids[:5], plan={"sample_size": 2}, purpose="sampling_9y")
    setup.record_draw(lot, [(ids[0], False), (ids[1], False)], seed=3)
    out = together(lambda: a.record_lot_verdict(lot, decided_on=dt.date(2025, 1, 1), verdict="pass"),
                   lambda: b.record_lot_verdict(lot, decided_on=dt.date(2025, 1, 1), verdict="fail"))
    assert sum(isinstance(o, ValidationError) for o in out) == 1 and len(setup.get_lot(lot)["verdicts"]) == 1
    out = together(*[lambda r=r, k=k: r.create_lots([NewLot(key={"k": k}, member_ids=ids[5:7], purpose="sampling_9y")],
                                                     newest_lot_seen=lot, purposes=["sampling_9y"])
                     for k, r in enumerate((a, b))])
    assert sum(isinstance(o, ConflictError) for o in out) == 1 and len(setup.list_lots()) == 2
    assert setup.verify_integrity().ok
