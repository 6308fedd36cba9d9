"""The main window: navigation, shortcuts, larger text, settings, banner, status bar."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication

from app.ui.pages import BUILTIN_PAGES
from app.ui.pages.base import Page, PageSpec, register_page, unregister_page

pytestmark = pytest.mark.gui

NAMES = [s.name for s in BUILTIN_PAGES]


def test_eight_pages_in_two_groups(window):
    assert NAMES == ["connect", "scan", "readout", "live", "radio", "commission", "register", "planner",
                     "calculators"]
    assert [h.text() for h in window.nav.headings] == ["PLANT ROOM", "OFFICE"]
    assert list(window.nav.buttons) == NAMES


def test_every_page_via_navigation(window, qtbot):
    for name in reversed(NAMES):
        qtbot.mouseClick(window.nav.buttons[name], Qt.MouseButton.LeftButton)
        page = window.current_page()
        assert window.current_name == name
        assert isinstance(page, Page) and page.name == name
        assert window.stack.currentWidget() is page
        assert window.nav.buttons[name].isChecked()
        assert page.title_label.text() == page.title
        assert page.title in window.windowTitle()


def test_every_page_via_ctrl_number(window, qtbot):
    window.activateWindow()
    for i, name in enumerate(NAMES):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + i), Qt.KeyboardModifier.ControlModifier)
        assert window.current_name == name
    qtbot.keyClick(window, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert window.current_name == NAMES[0]
    qtbot.keyClick(window, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert window.current_name == NAMES[-1]


def test_pages_are_built_on_first_show(window):
    assert set(window.built_pages()) == {"connect"}
    window.show_page("planner")
    assert set(window.built_pages()) == {"connect", "planner"}
    first = window.page("planner")
    window.show_page("connect")
    window.show_page("planner")
    assert window.page("planner") is first


def _nav_heights(window):
    return {n: b.height() for n, b in window.nav.buttons.items()}


def test_larger_text_grows_font_and_targets(window, qtbot):
    normal_font = QApplication.font().pointSizeF()
    normal = _nav_heights(window)
    assert min(normal.values()) >= 44
    assert window.nav.text_toggle.height() >= 44
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.ctx.larger_text
    assert window.act_larger.isChecked() and window.nav.text_toggle.isChecked()
    larger = _nav_heights(window)
    assert min(larger.values()) >= 44
    assert all(larger[n] > normal[n] for n in NAMES)
    assert QApplication.font().pointSizeF() > normal_font
    page = window.current_page()
    assert page.title_label.fontInfo().pointSizeF() > 0
    assert window.nav.buttons["connect"].iconSize().height() > 32
    assert window.nav.text_toggle.height() >= 44
    # back with the toggle in the navigation
    qtbot.mouseClick(window.nav.text_toggle, Qt.MouseButton.LeftButton)
    assert not window.ctx.larger_text
    assert _nav_heights(window) == normal
    assert QApplication.font().pointSizeF() == pytest.approx(normal_font)


def test_labels_of_nav_targets_fit(window):
    for larger in (False, True):
        window.set_larger_text(larger)
        for b in window.nav.buttons.values():
            text_px = b.fontMetrics().horizontalAdvance(b.text())
            assert text_px + b.iconSize().width() + 16 < b.width(), b.text()


def test_settings_persist_across_restart(make_window, settings_dir):
    win = make_window()
    win.show_page("planner")
    win.resize(QSize(760, 560))  # inside the offscreen screen (800x600): restoreGeometry clamps to it
    win.close()
    assert any(settings_dir.rglob("*.ini"))

    again = make_window()
    assert again.current_name == "planner"
    assert again.size() == QSize(760, 560)


def test_last_connection_is_remembered_not_the_simulation(make_window):
    win = make_window()
    win.ctx.connection.update(state="connected", port="/dev/ttyUSB0", baud=9600, profile="optical head")
    win.close()
    again = make_window()
    c = again.ctx.connection.value
    assert (c.state, c.port, c.baud, c.profile) == ("disconnected", "/dev/ttyUSB0", 9600, "optical head")
    assert "Not connected · /dev/ttyUSB0 · 9600 Bd" in again.connection_indicator.label.text()
    again.ctx.connection.update(state="connected", port=None, gateway="socket://192.0.2.7:10001")
    again.close()
    third = make_window()
    assert third.ctx.connection.value.gateway == "socket://192.0.2.7:10001"
    third.ctx.connection.update(state="connected", gateway=None, simulated=True)
    third.close()
    from app.ui.settings import Settings

    assert Settings().port == "socket://192.0.2.7:10001"   # the simulated bus is never remembered


def test_larger_text_setting_is_saved_when_toggled(window):
    from app.ui.settings import Settings

    assert not Settings().larger_text
    window.act_larger.trigger()
    assert Settings().larger_text
    window.act_larger.trigger()
    assert not Settings().larger_text


def test_settings_larger_text_read_at_start(make_window):
    from app.ui.settings import Settings

    Settings().larger_text = True
    from app.ui import theme

    win = make_window(text_scale=theme.text_scale(Settings().larger_text))
    assert win.act_larger.isChecked()
    assert min(_nav_heights(win).values()) == theme.metrics(theme.LARGER_SCALE).nav_height > 54


def test_screenshot_context_does_not_write_settings(make_window, settings_dir):
    win = make_window(page="scan", screenshot=True)
    win.show_page("planner")
    win.set_larger_text(True)
    win.close()
    from app.ui.settings import Settings

    s = Settings()
    assert s.last_page is None and not s.larger_text and s.geometry is None


def test_shortcuts_dialog_lists_every_main_action(window, qtbot):
    window.show_page("live")
    dlg = window.show_shortcuts()
    qtbot.addWidget(dlg)
    rows = dlg.rows()
    keys = {(what, k) for _where, what, k in rows}
    for i, spec in enumerate(BUILTIN_PAGES):
        assert (f"Go to {spec.title}", f"Ctrl+{i + 1}") in keys
    for what, k in [("Refresh / read", "F5"), ("Cancel running task", "Esc"), ("Larger text", "Ctrl+Shift+T"),
                    ("Keyboard shortcuts", "F1"), ("Quit", "Ctrl+Q")]:
        assert (what, k) in keys
    live_rows = [r for r in rows if r[0] == "Live"]
    assert ("Live", "Pause / resume the plot", "Space") in live_rows
    assert ("Live", "Export data as CSV", "Ctrl+E") in live_rows
    dlg.close()


def test_banner_shows_stacks_and_dismisses(window, qtbot):
    page = window.current_page()
    banner = page.banner
    assert banner.isHidden()
    window.show_message("Port /dev/ttyUSB0 vanished", "error")
    assert banner.isVisible() and banner.level == "error"
    assert "ttyUSB0" in banner.text_label.text()
    page.show_info("Scan saved")
    page.show_info("Scan saved")
    assert banner.level == "info" and "×2" in banner.text_label.text()
    assert banner.more_label.text() == "+1 earlier"
    qtbot.mouseClick(banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert banner.level == "error" and banner.isVisible()
    qtbot.mouseClick(banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert banner.isHidden()
    with pytest.raises(ValueError):
        banner.show_message("x", "fatal")


def test_banner_action_button_runs_and_dismisses(window, qtbot):
    page = window.current_page()
    calls = []
    page.show_error("Meter did not answer", action_text="Retry", action=lambda: calls.append(1))
    assert page.banner.action_button.isVisible() and page.banner.action_button.text() == "Retry"
    qtbot.mouseClick(page.banner.action_button, Qt.MouseButton.LeftButton)
    assert calls == [1] and page.banner.isHidden()


def test_banner_buttons_are_large_targets(window):
    page = window.current_page()
    page.show_error("x")
    for larger in (False, True):
        window.set_larger_text(larger)
        QApplication.processEvents()
        assert page.banner.dismiss_button.sizeHint().height() >= 44


def test_status_bar_shows_connection_and_simulation(window):
    ind = window.connection_indicator
    assert ind.badge.isHidden()
    assert "Not connected" in ind.label.text()
    window.ctx.connection.update(state="connected", port="/dev/ttyUSB0", baud=2400)
    assert ind.label.text() == "Connected · /dev/ttyUSB0 · 2400 Bd"
    assert ind.badge.isHidden()
    window.ctx.connection.update(state="connected", port=None, gateway="socket://192.0.2.7:10001", baud=9600)
    assert "gateway socket://192.0.2.7:10001" in ind.label.text() and "9600 Bd" in ind.label.text()
    window.ctx.connection.update(simulated=True, gateway=None)
    assert ind.badge.isVisible() and ind.badge.text() == "SIMULATION"
    assert "[SIMULATION]" in window.windowTitle()
    with pytest.raises(ValueError):
        window.ctx.connection.update(state="sort of")


def test_demo_mode_marks_simulation(make_window):
    from app.ui.demo import connect_demo_bus

    win = make_window(demo=True)
    connect_demo_bus(win.ctx)
    assert win.connection_indicator.badge.isVisible()
    assert win.ctx.connection.value.connected


class _StubbornPage(Page):
    name = "stubborn"
    title = "Stubborn"
    leave = False

    def can_leave(self) -> bool:
        if not self.leave:
            self.show_warning("Answer the required question first.")
        return self.leave


def _broken_module_page():
    raise RuntimeError("not importable")


@pytest.fixture
def extra_pages():
    specs = [PageSpec("stubborn", "Stubborn", "info", "office", _StubbornPage),
             PageSpec("broken", "Broken", "info", "office", "app.ui.no_such_module:Nothing")]
    for s in specs:
        register_page(s)
    yield
    for s in specs:
        unregister_page(s.name)


def test_page_can_refuse_to_be_left(extra_pages, make_window):
    win = make_window(page="stubborn")
    win.show_page("connect")
    assert win.current_name == "stubborn"
    assert win.nav.buttons["stubborn"].isChecked()
    assert "required" in win.current_page().banner.text
    win.current_page().leave = True
    win.show_page("connect")
    assert win.current_name == "connect"


def test_a_page_that_fails_to_load_does_not_stop_the_app(extra_pages, make_window):
    win = make_window()
    page = win.show_page("broken")
    assert win.current_name == "broken"
    assert page.banner.level == "error" and "could not be opened" in page.banner.text
    win.show_page("scan")
    assert win.current_name == "scan"


def test_f5_calls_the_pages_refresh(window, qtbot):
    window.show_page("live")
    page = window.current_page()
    calls = []
    page.refresh = lambda: calls.append(1) or True
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert calls == [1]


@pytest.mark.qt_no_exception_capture
def test_unexpected_error_in_a_slot_lands_in_the_banner(window, qtbot, monkeypatch):
    import sys

    from PySide6.QtCore import QTimer

    from app.ui.main import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(window.ctx)
    QTimer.singleShot(0, lambda: {}["no such key"])
    page = window.current_page()
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=3000)
    assert page.banner.level == "error"
    assert page.banner.text == "Unexpected error: 'no such key'"
    assert window.isVisible()


def _watchers():
    import threading

    return [t for t in threading.enumerate() if t.name == "port-watcher" and t.is_alive()]


def test_closing_the_window_stops_the_port_watcher(make_window, qtbot):
    """No background thread outlives the window: a leaked watcher would list the ports every 2 s forever."""
    before = len(_watchers())
    win = make_window("connect")
    page = win.current_page()
    qtbot.waitUntil(lambda: page.watcher._thread is not None and page.watcher._thread.is_alive(), timeout=5000)
    assert len(_watchers()) == before + 1
    win.close()
    page.watcher._thread.join(5.0)
    assert len(_watchers()) == before


def test_a_deleted_connect_page_stops_its_port_watcher(make_window, qtbot):
    """Even when nobody closes it: the watcher's thread ends with the page that owns it."""
    from PySide6.QtCore import QCoreApplication, QEvent

    win = make_window("connect")
    page = win.current_page()
    qtbot.waitUntil(lambda: page.watcher._thread is not None and page.watcher._thread.is_alive(), timeout=5000)
    thread = page.watcher._thread
    page.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    thread.join(5.0)
    assert not thread.is_alive()


def test_larger_text_gives_the_register_search_a_row_of_its_own(make_window, qtbot):
    """At the larger-text setting the five filter lists keep room for their words."""
    win = make_window(page="register")
    page = win.current_page()
    assert page.filter_row.indexOf(page.search) == 0
    win.act_larger.trigger()
    assert win.ctx.larger_text
    assert page.filter_row.indexOf(page.search) < 0 and page.search_row.indexOf(page.search) == 0
    win.act_larger.trigger()
    assert page.filter_row.indexOf(page.search) == 0 and page.search_row.indexOf(page.search) < 0
