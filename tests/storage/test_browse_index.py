"""The Register page's index (numpy filters, the server-packed load) gives what the register's own query gives,
on SQLite and PostgreSQL, for every kind of filter, sort and count — also on the path a million meters take
(the search words over the joined texts), forced here on a small register."""
from __future__ import annotations

import datetime as dt

import pytest

from app.storage import browse, browse_index
from app.storage.demo import write_demo_csv

FILTERS = [
    {}, {"site": "Northgate Estate"}, {"make": "kamstrup"}, {"make": "KAM"}, {"make": "  KAMSTRUP "},
    {"model": "multical 603"}, {"model": "no such model"}, {"search": "riser 1"}, {"search": "BLOCK c flat"},
    {"search": "flat"}, {"search": "6"}, {"search": "no such words"}, {"status": "in_service", "site": "Castle Quarter"},
    {"status": "removed"}, {"include_restricted": True}, {"site": "Elm Park", "make": "Diehl", "search": "flat 1"},
    {"site": "Nowhere"},
]


@pytest.fixture
def demo(reg, tmp_path):
    path = tmp_path / "demo.csv"
    write_demo_csv(path, meters=900, seed=3)
    reg.import_file(path, user="t")
    ms = reg.list_meters(limit=3)
    reg.set_restrict_processing(ms[0].id, True, user="t")      # one restricted meter: left out unless asked for
    return reg


@pytest.mark.parametrize("small", [30_000, 5])
def test_index_filters_are_the_registers_list(demo, monkeypatch, small):
    monkeypatch.setattr(browse_index, "SMALL", small)   # 5: the joined-text search path of a large register
    index = browse.BrowseIndex.load(demo)
    assert len(index) == demo.count_meters(include_restricted=True)
    assert index.restricted_count() == 1
    for kw in FILTERS:
        f = browse.Filters(**kw)
        assert index.select(f) == [m.id for m in demo.list_meters(**f.list_kwargs())], kw


def test_index_sorts_counts_and_due_states(demo):
    index = browse.BrowseIndex.load(demo)
    meters = {m.id: m for m in demo.list_meters(include_restricted=True)}
    for key in ("install_date", "site", "qp_m3h", "location", "model"):
        for desc in (False, True):
            ids = index.select(sort=key, descending=desc)
            assert sorted(ids) == sorted(m.id for m in meters.values() if not m.restrict_processing)

            def val(i):
                v = getattr(meters[i], key)
                return (v is None, v.casefold() if isinstance(v, str) else v)
            vals = [val(i) for i in ids]
            assert vals == sorted(vals, reverse=desc), (key, desc)
    f = browse.Filters(make="Kamstrup")
    facets = index.facets(f)
    for site, n in facets["site"].items():
        assert n == demo.count_meters(make="Kamstrup", site=site)
    for make, n in facets["make"].items():
        assert n == demo.count_meters(make=make)
    for model, n in facets["model"].items():
        assert n == demo.count_meters(make="Kamstrup", model=model)
    due = browse.due_states(demo, dt.date(2026, 6, 1))
    overdue = index.select(browse.Filters(due="overdue"), due_map=due)
    ordered = [m.id for m in demo.list_meters()]
    assert overdue == [i for i in ordered if i in due and due[i].state == "overdue"]
    counts = index.facets(due_map=due)["due"]
    assert counts["overdue"] == len(overdue)
    assert counts["not_scheduled"] == sum(1 for i in ordered if i not in due)
    by_date = index.select(sort="due_date", due_map=due)
    dates = [due[i].due_date if i in due and due[i].due_date else dt.date.max for i in by_date]
    assert dates == sorted(dates)


def test_edits_reach_the_index(demo):
    index = browse.BrowseIndex.load(demo)
    assert index.select(browse.Filters(search="zeta")) == []
    m = demo.list_meters(site="Elm Park")[0]
    new = demo.update_meter(m.id, {"model": "Zeta 9", "status": "in_repair"}, expected_version=m.version, user="t")
    assert index.update(new)
    assert index.select(browse.Filters(model="zeta 9")) == [m.id]
    assert index.select(browse.Filters(search="zeta")) == [m.id]
    assert m.id in index.select(browse.Filters(status="in_repair"))
    assert index.facets(browse.Filters(model="zeta 9"))["status"] == {"in_repair": 1}
