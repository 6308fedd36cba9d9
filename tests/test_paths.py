"""app.paths: every folder heatmeter uses, and the modules that ask it (Linux: the XDG variables decide)."""
from __future__ import annotations

import sys

import pytest

from app import paths
from app.storage import db, manufacturers

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the XDG base directory variables are Linux's")


@pytest.fixture
def xdg(monkeypatch, tmp_path):
    for name in ("DATA_HOME", "CONFIG_HOME", "DOCUMENTS_DIR"):
        monkeypatch.setenv(f"XDG_{name}", str(tmp_path / name.lower()))
    monkeypatch.delenv("HEATMETER_DB", raising=False)
    return tmp_path


def test_the_folders_follow_the_xdg_variables_and_nothing_is_created(xdg):
    assert paths.data_dir() == xdg / "data_home" / "heatmeter"
    assert paths.default_database_file() == xdg / "data_home" / "heatmeter" / "register.db"
    assert paths.demo_database_file() == xdg / "data_home" / "heatmeter" / "demo" / "demo-register.db"
    assert paths.demo_database_file(xdg / "elsewhere") == xdg / "elsewhere" / "demo-register.db"
    assert paths.config_dir() == xdg / "config_home" / "heatmeter"
    assert paths.user_manufacturers_csv() == xdg / "config_home" / "heatmeter" / "mbus_manufacturers.csv"
    assert paths.certificates_dir() == xdg / "documents_dir" / "heatmeter" / "certificates"
    assert not any(xdg.iterdir())


def test_the_register_opens_the_default_file(xdg):
    assert db.resolve_url(None) == f"sqlite:///{xdg}/data_home/heatmeter/register.db"
    from app.storage.register import open_register

    with open_register() as reg:
        assert reg.url == f"sqlite:///{xdg}/data_home/heatmeter/register.db"
    assert (xdg / "data_home" / "heatmeter" / "register.db").is_file()


def test_the_users_own_make_table_is_read_from_the_config_folder(xdg):
    table = xdg / "config_home" / "heatmeter" / "mbus_manufacturers.csv"
    table.parent.mkdir(parents=True)
    table.write_text("make,flag\nAcme Heat Works,ACW\n", encoding="utf-8")
    manufacturers.clear_cache()
    try:
        assert manufacturers.user_table_path() == table
        assert manufacturers.flag_for_make("Acme Heat Works") == "ACW"
        table.unlink()
        manufacturers.clear_cache()
        assert manufacturers.flag_for_make("Acme Heat Works") is None  # the shipped table does not know it
    finally:
        manufacturers.clear_cache()
