"""The browse index behind the Register page (plain Python, no Qt): the register's filter meaning,
sorting, counts, keeping it current, and the check of an edited cell."""
from __future__ import annotations

import datetime as dt

import pytest

from app.storage import browse
from app.storage.demo import build_demo_register


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    r = build_demo_register(f"sqlite:///{tmp_path_factory.mktemp('browse') / 'r.db'}", meters=600)
    yield r
    r.close()


@pytest.mark.parametrize("filters", [
    {}, {"site": "Northgate Estate"}, {"make": "kamstrup"}, {"make": "KAM"}, {"model": "multical 603"},
    {"search": "riser 1"}, {"search": "BLOCK c flat"}, {"status": "in_service", "site": "Castle Quarter"},
    {"include_restricted": True}, {"search": "no such words"},
])
def test_select_is_the_registers_list(reg, filters):
    index = browse.BrowseIndex.load(reg)
    f = browse.Filters(**filters)
    assert index.select(f) == [m.id for m in reg.list_meters(**f.list_kwargs())]


def test_sort_counts_and_due(reg):
    index = browse.BrowseIndex.load(reg)
    meters = reg.list_meters()
    ids = index.select(sort="install_date", descending=True)
    got = [next(m for m in meters if m.id == i).install_date for i in ids[:50]]
    assert got == sorted(got, reverse=True) and got[0] == max(m.install_date for m in meters)
    by_site = index.select(sort="site")
    sites = [next(m for m in meters if m.id == i).site for i in by_site]
    assert sites == sorted(sites, key=str.casefold)
    facets = index.facets(browse.Filters(make="Kamstrup"))
    for site, n in facets["site"].items():
        assert n == reg.count_meters(make="Kamstrup", site=site)
    for make, n in facets["make"].items():  # the make list itself: the other filters only (none)
        assert n == reg.count_meters(make=make)
    due = browse.due_states(reg, dt.date(2026, 6, 1))
    overdue = index.select(browse.Filters(due="overdue"), due_map=due)
    assert overdue == [m.id for m in meters if m.id in due and due[m.id].state == "overdue"]
    assert index.facets(due_map=due)["due"]["overdue"] == len(overdue)


def test_update_keeps_the_index_current(reg):
    index = browse.BrowseIndex.load(reg)
    m = reg.list_meters(site="Elm Park")[0]
    new = reg.update_meter(m.id, {"model": "Zeta 9"}, expected_version=m.version, user="t")
    assert m.id not in index.select(browse.Filters(model="zeta 9"))
    assert index.update(new)
    assert index.select(browse.Filters(model="zeta 9")) == [m.id]
    assert index.select(browse.Filters(search="zeta")) == [m.id]


def test_check_edit_uses_the_import_rules(reg):
    m = next(x for x in reg.list_meters() if x.qp_m3h and x.qp_qi_ratio)
    assert browse.check_edit(m, "secondary_address", "1234") == ({}, "secondary_address '1234' must be 8 digits")
    assert browse.check_edit(m, "install_date", "2019-02-30")[1].startswith("install_date: bad date")
    changes, err = browse.check_edit(m, "install_date", "2019")
    assert err is None and changes == {"install_date": dt.date(2019, 7, 1), "install_year_only": True}
    # cross-field: qi must stay below qp, and agree with the stored ratio
    assert "must be below qp_m3h" in browse.check_edit(m, "qi_m3h", str(m.qp_m3h * 2))[1]
    assert "disagree" in browse.check_edit(m, "qi_m3h", str(m.qp_m3h / 7))[1]
    assert browse.check_edit(m, "qp_m3h", f"{m.qp_m3h:g}") == ({}, None)
    assert browse.check_edit(m, "status", "at_lab") == ({"status": "at_lab"}, None)
    assert browse.check_edit(m, "serial", "x")[1] == "serial cannot be edited here"
