"""PostgreSQL roles (``heatmeter db roles``): each person logs in as their own role; the database itself keeps a
technician from personal columns and from erasing, even with raw SQL through their own connection; every event
names the role that connected; a denied action is one line naming the role it needs (MMS 2.2.7).

The login roles are made per test with unique names in the test server's cluster and dropped afterwards; the
four group roles are shared by every register of the cluster and stay."""
from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.cli.main import main
from app.storage.errors import PermissionDenied
from app.storage.register import open_register
from app.storage.roles import apply_roles

from tests.helpers.register_rows import make_rows, write_csv

pytestmark = pytest.mark.postgres
PASSWORD = "Correct-Horse-9"


@pytest.fixture
def team(pg_url, tmp_path):
    """The register (set up by its owner) and one login role per group: url and name of each."""
    owner = open_register(pg_url)
    rows = make_rows(5)
    for i, r in enumerate(rows):
        r.update(occupant_name=f"Resident {i}", notes=f"dog {i}")
    owner.import_file(write_csv(tmp_path / "m.csv", rows, columns=list(rows[0])))
    tag = uuid.uuid4().hex[:8]
    logins = {g: f"hm_{g}_{tag}" for g in ("technician", "planner", "dpo")}
    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with owner.engine.begin() as c:
        apply_roles(c)
    with psycopg.connect(admin, autocommit=True) as c:
        for g, name in logins.items():
            c.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}' IN ROLE heatmeter_{g}")
    urls = {g: make_url(pg_url).set(username=n, password=PASSWORD).render_as_string(hide_password=False)
            for g, n in logins.items()}
    yield {"owner": owner, "urls": urls, "names": logins, "meters": [m.id for m in owner.list_meters()]}
    owner.close()
    with psycopg.connect(admin, autocommit=True) as c:
        for name in logins.values():
            c.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'")
            c.execute(f"DROP ROLE IF EXISTS {name}")


def _raw(url: str):
    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True)


@pytest.mark.parametrize("sql", [
    "SELECT occupant_name FROM meters",
    "SELECT notes FROM meters",
    "SELECT * FROM meters",
    "UPDATE meters SET occupant_name = NULL",
    "UPDATE meters SET legal_hold = true",
    "UPDATE meters SET personal_erased_at = now()",
    "UPDATE personal_values SET payload = NULL",
    "UPDATE events SET source = 'x'",
    "DELETE FROM events",
    "DELETE FROM meters",
    "TRUNCATE events",
])
def test_a_technician_cannot_read_personal_columns_or_erase_with_raw_sql(team, sql):
    with _raw(team["urls"]["technician"]) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(sql)


def test_the_values_kept_apart_are_hidden_row_by_row(team):
    with _raw(team["urls"]["technician"]) as c:
        assert c.execute("SELECT count(*) FROM personal_values WHERE personal").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM personal_values WHERE key = 'occupant_name'").fetchone()[0] == 0
    with _raw(team["urls"]["dpo"]) as c:
        assert c.execute("SELECT count(*) FROM personal_values WHERE key = 'occupant_name'").fetchone()[0] == 1


def test_a_technician_works_without_personal_data_and_is_named_in_events(team, corpus_frame):
    raw, telegram = corpus_frame
    name = team["names"]["technician"]
    mid = team["meters"][0]
    resident = team["owner"].get_meter(mid).occupant_name
    with open_register(team["urls"]["technician"]) as tech:
        assert not tech.can_read_personal
        m = tech.get_meter(mid)
        assert (m.occupant_name, m.notes) == (None, None) and m.serial
        assert len(tech.list_meters()) == 5
        res = tech.save_readout([raw], [telegram], meter_id=mid, user="someone-else")
        rec = tech.create_commissioning(mid, user="someone-else", technician="T. Tech",
                                        commissioned_on=dt.date(2024, 1, 2))
        tech.save_commissioning_step(rec["id"], step=1, answers={"seals": "yes"})
        hist = tech.history(mid)
        assert hist[0]["after"]["occupant_name"] == "[personal]"  # the creation, without the value
        assert {e["user"] for e in hist if e["entity"] in ("readouts", "commissioning_records")} == {name}
        with pytest.raises(PermissionDenied) as exc:
            tech.erase_personal_data(mid)
        assert "heatmeter_dpo or heatmeter_admin" in str(exc.value) and "\n" not in str(exc.value)
        with pytest.raises(PermissionDenied) as exc:
            tech.set_legal_hold(mid)
        assert "heatmeter_dpo" in str(exc.value)
        with pytest.raises(PermissionDenied) as exc:
            tech.verify_integrity()
    assert res.saved
    owner = team["owner"]
    refused = [e for e in owner.history(mid) if e["action"] == "refused"]
    assert [(e["user"], e["after"]["what"]) for e in refused] == [(name, "erase personal data"),
                                                                   (name, "set legal hold")]
    assert owner.get_meter(mid).occupant_name == resident
    # an event written by raw SQL names the role that connected, whatever it says
    with _raw(team["urls"]["technician"]) as c:
        c.execute("INSERT INTO events (id, at, \"user\", entity, action) VALUES (999999, now(), 'the boss', 'x', 'y')")
    with owner.engine.connect() as c:
        assert c.exec_driver_sql('SELECT "user" FROM events WHERE id = 999999').scalar() == name


def test_the_dpo_reads_and_erases_and_is_named(team):
    mid = team["meters"][1]
    resident = team["owner"].get_meter(mid).occupant_name
    with open_register(team["urls"]["dpo"]) as dpo:
        assert dpo.get_meter(mid).occupant_name == resident and resident.startswith("Resident")
        report = dpo.erase_personal_data(mid, user="ignored")
        # the DPO does not own the tables: the rewrite is left to their owner, and the report says so
        assert any("their owner runs 'heatmeter db vacuum'" in line for line in report.remaining)
        last = dpo.history(mid)[-1]
        assert (last["action"], last["user"]) == ("erase_personal", team["names"]["dpo"])
    owner = team["owner"]
    assert owner.get_meter(mid).occupant_name is None and owner.verify_integrity().ok
    assert owner.purge_erased()  # the owner's rewrite; what remains (the WAL) is said


def test_a_planner_decides_lots_without_personal_data(team):
    ids = team["meters"]
    with open_register(team["urls"]["planner"]) as planner:
        lot = planner.create_lot(key={}, member_ids=ids, plan={"sample_size": 2}, purpose="sampling_9y")
        planner.record_draw(lot, [(ids[0], False), (ids[1], False)], seed=5)
        planner.record_lot_verdict(lot, decided_on=dt.date(2025, 1, 1), verdict="pass")
        assert planner.get_meter(ids[0]).occupant_name is None
        assert planner.events(entity="lots")[0]["user"] == team["names"]["planner"]
    with open_register(team["urls"]["technician"]) as tech:
        with pytest.raises(PermissionDenied) as exc:
            tech.create_lot(key={}, member_ids=ids[:2])
        assert "heatmeter_planner" in str(exc.value)


def test_cli_names_the_role_needed_and_refuses_user(team, capsys, tmp_path):
    m = team["owner"].get_meter(team["meters"][2])
    url = team["urls"]["technician"]
    assert main(["meters", "erase-personal", m.manufacturer, m.serial, "--db", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the role heatmeter_dpo or heatmeter_admin" in err
    assert main(["meters", "list", "--db", url, "--user", "alice"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--user is not accepted on PostgreSQL" in err
    assert main(["meters", "export", "--csv", str(tmp_path / "x.csv"), "--include-personal", "--db", url]) == 1
    assert "reading personal data needs the role heatmeter_dpo or heatmeter_admin" in capsys.readouterr().err


def test_db_roles_command_is_repeatable_and_adds_members(team, pg_url, capsys):
    name = team["names"]["technician"]
    assert main(["db", "roles", "--db", pg_url, "--member", f"{name}=planner", "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["created"] == [] and out["members"] == [[name, "heatmeter_planner"]]
    assert main(["db", "roles", "--db", pg_url, "--member", "nobody_at_all=planner"]) == 2
    assert "no login role 'nobody_at_all'" in capsys.readouterr().err
    assert main(["db", "roles", "--db", team["urls"]["technician"]]) == 1  # not the owner: one line
    assert capsys.readouterr().err.count("\n") == 1
