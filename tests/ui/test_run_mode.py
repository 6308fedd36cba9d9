"""What demo and screenshot runs change, asked of one place (``ctx.mode``, ``app.ui.demo.RunMode``)."""
from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture
def context(qapp):
    """``context(**kw)``: an AppContext on the test's settings folder."""
    from app.ui.context import AppContext
    from app.ui.settings import Settings

    made = []

    def make(**kw):
        made.append(AppContext(Settings(), **kw))
        return made[-1]

    yield make
    for ctx in made:
        ctx.close_register()
        ctx.deleteLater()


def test_a_normal_run_remembers_and_asks(context):
    ctx = context()
    m = ctx.mode
    assert m.interactive and m.persistent and not m.on_demo_register and m.wants_first_run_check
    m.remember("planner", "lot", 7)
    assert m.recall("planner", "lot", 0, int) == 7 == ctx.settings.page_value("planner", "lot", 0, int)
    assert m.sim_pace(0.1) == 0.1 and m.draw_seed() is None and m.register_user() is None
    assert m.planning_as_of() == dt.date.today() and m.certificates_dir() is None


def test_a_screenshot_neither_reads_nor_writes_what_the_user_chose(context):
    context().mode.remember("scan", "mode", "secondary")
    m = context(screenshot=True).mode
    assert not m.interactive and not m.persistent and not m.wants_first_run_check
    assert m.recall("scan", "mode", "primary", str) == "primary"          # the user's choice is not shown
    m.remember("scan", "mode", "primary")
    assert context().mode.recall("scan", "mode", None, str) == "secondary"  # and not overwritten
    assert m.sim_pace(0.1) == 0.0                                          # no waiting on the simulated line
    assert not m.has_register                                              # not the user's register either


def test_the_demo_register_has_its_own_dates_user_and_folder(context, tmp_path):
    from app.storage.demo_planning import DEMO_AS_OF

    ctx = context(demo=True)
    ctx.demo_dir = str(tmp_path)
    m = ctx.mode
    assert m.on_demo_register and m.has_register and not m.wants_first_run_check
    assert m.planning_as_of() == DEMO_AS_OF and m.planning_today() == DEMO_AS_OF + dt.timedelta(days=60)
    assert m.register_user() == "demo"
    assert m.certificates_dir() == str(tmp_path / "certificates")
    assert m.simulated_by_default("") and not m.simulated_by_default("/dev/ttyUSB0")
    on_own_db = context(demo=True, db_url=f"sqlite:///{tmp_path / 'r.db'}").mode
    assert not on_own_db.on_demo_register and on_own_db.planning_as_of() == dt.date.today()
