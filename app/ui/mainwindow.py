"""The main window: navigation of large targets, a stack of pages, menus, shortcuts, status bar."""
from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QButtonGroup, QDialog, QDialogButtonBox,
                               QFrame, QHBoxLayout, QHeaderView, QLabel, QMainWindow, QMessageBox,
                               QScrollArea, QSizePolicy, QStackedWidget, QTableWidget, QTableWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from app import __version__
from app.ui import icons, theme
from app.ui.context import AppContext
from app.ui.pages import page_spec, page_specs
from app.ui.pages.base import GROUPS, Page, PageSpec
from app.ui.widgets.statusbar import ConnectionIndicator, TaskIndicator
from app.ui.workers import Task

log = logging.getLogger("heatmeter.ui")

DEFAULT_PAGE = "connect"
DEFAULT_SIZE = QSize(1366, 768)


class NavPanel(QFrame):
    """The navigation column: one large icon-and-text target per page, grouped.

    The targets scroll when the window is too short for them (larger text on a
    768-px screen); the larger-text toggle stays at the bottom, always visible.
    """

    pageRequested = Signal(str)

    def __init__(self, specs: list[PageSpec], shortcuts: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NavPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("NavScroll")
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget(self.scroll)
        inner.setObjectName("NavInner")
        inner.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(0, 4, 0, 4)
        lay.setSpacing(2)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        self.headings: list[QLabel] = []
        self._specs = specs
        for key, heading in GROUPS.items():
            members = [s for s in specs if s.group == key]
            if not members:
                continue
            label = QLabel(heading.upper(), inner)
            label.setObjectName("NavHeading")
            self.headings.append(label)
            lay.addWidget(label)
            for spec in members:
                b = QToolButton(inner)
                b.setObjectName(f"Nav_{spec.name}")
                b.setText(spec.title)
                b.setCheckable(True)
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                key_text = shortcuts.get(spec.name)
                b.setToolTip(f"{spec.title}: {spec.summary}" + (f"  ({key_text})" if key_text else ""))
                b.setAccessibleName(spec.title)
                b.clicked.connect(lambda _c=False, n=spec.name: self.pageRequested.emit(n))
                self.group.addButton(b)
                self.buttons[spec.name] = b
                lay.addWidget(b)
        lay.addStretch(1)
        self.scroll.setWidget(inner)
        outer.addWidget(self.scroll, 1)
        self.text_toggle = QToolButton(self)
        self.text_toggle.setObjectName("TextSizeToggle")
        self.text_toggle.setText("Larger text")
        self.text_toggle.setCheckable(True)
        self.text_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.text_toggle.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.text_toggle.setToolTip("Larger text and targets (Ctrl+Shift+T)")
        outer.addWidget(self.text_toggle)

    def set_current(self, name: str) -> None:
        b = self.buttons.get(name)
        if b is not None:
            b.setChecked(True)
            self.scroll.ensureWidgetVisible(b, 0, 0)

    def apply_metrics(self, m: theme.Metrics) -> None:
        self.setFixedWidth(m.nav_width)
        size = QSize(m.nav_icon, m.nav_icon)
        for spec in self._specs:
            b = self.buttons[spec.name]
            b.setIcon(icons.icon(spec.icon, theme.NAV_INK, theme.NAV_CURRENT_INK, pad=0.1))
            b.setIconSize(size)
            b.setFixedHeight(m.nav_height)
        self.text_toggle.setIcon(icons.icon("text-size", theme.NAV_INK, theme.NAV_CURRENT_INK))
        self.text_toggle.setIconSize(QSize(m.icon, m.icon))


class _BrokenPage(Page):
    """Stands in for a page whose module failed to load, so the app keeps running."""

    name = "_broken"
    title = "Page not available"


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: every action with a shortcut, from the live actions."""

    def __init__(self, rows: list[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        lay = QVBoxLayout(self)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Where", "Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for r, (where, what, keys) in enumerate(rows):
            for c, text in enumerate((where, what, keys)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        hdr = self.table.horizontalHeader()
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)
        self.resize(760, 720)

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]


def _plain(text: str) -> str:
    return text.replace("&", "")


class MainWindow(QMainWindow):
    """The app's window. ``show_page(name)`` navigates; pages are built on first show."""

    pageChanged = Signal(str)

    def __init__(self, ctx: AppContext, initial_page: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        ctx.window = self
        ctx.tasks.error_sink = self._task_failed
        self.setWindowIcon(icons.app_icon())
        self.setObjectName("MainWindow")
        self._pages: dict[str, Page] = {}
        self._current: str | None = None
        self._specs = page_specs()
        self.page_shortcuts: dict[str, str] = {}
        for i, spec in enumerate(self._specs):
            key = spec.shortcut or (f"Ctrl+{i + 1}" if i < 9 else None)
            if key:
                self.page_shortcuts[spec.name] = key

        central = QWidget(self)
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.nav = NavPanel(self._specs, self.page_shortcuts, central)
        self.nav.pageRequested.connect(self.show_page)
        self.stack = QStackedWidget(central)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        sb = self.statusBar()
        sb.setSizeGripEnabled(False)
        self.connection_indicator = ConnectionIndicator(ctx.connection, sb)
        self.task_indicator = TaskIndicator(ctx.tasks, sb)
        sb.addWidget(self.connection_indicator, 1)
        sb.addPermanentWidget(self.task_indicator)

        self._build_actions()
        self._build_menus()
        self.nav.text_toggle.toggled.connect(self.set_larger_text)
        ctx.connection.changed.connect(lambda _c: self._update_title())

        self.apply_text_scale(ctx.text_scale)
        self.resize(DEFAULT_SIZE)
        if ctx.mode.persistent:
            self.restore_layout()
            self.restore_connection()
        start = initial_page or (ctx.settings.last_page if ctx.mode.persistent else None) or DEFAULT_PAGE
        try:
            page_spec(start)
        except KeyError:
            start = DEFAULT_PAGE if DEFAULT_PAGE in self.page_shortcuts else self._specs[0].name
        self.show_page(start)

    # -- actions and menus ---------------------------------------------------------
    def _action(self, text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None,
                checkable: bool = False, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        act.setCheckable(checkable)
        if tip:
            act.setStatusTip(tip)
        if checkable:
            act.toggled.connect(slot)
        else:
            act.triggered.connect(lambda _c=False: slot())
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        self.page_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for spec in self._specs:
            act = self._action(spec.title, lambda n=spec.name: self.show_page(n), self.page_shortcuts.get(spec.name))
            act.setCheckable(True)
            act.setIcon(icons.icon(spec.icon))
            group.addAction(act)
            self.page_actions[spec.name] = act
        self.act_next = self._action("Next page", lambda: self._step_page(1), "Ctrl+PgDown")
        self.act_prev = self._action("Previous page", lambda: self._step_page(-1), "Ctrl+PgUp")
        self.act_refresh = self._action("Refresh / read", self.refresh_current, "F5",
                                        tip="Read again or reload what the page shows")
        self.act_cancel = self._action("Cancel running task", self.cancel_task, "Esc")
        self.act_larger = self._action("Larger text", self.set_larger_text, "Ctrl+Shift+T", checkable=True,
                                       tip="Larger text and larger targets, readable at arm's length")
        self.act_fullscreen = self._action("Full screen", self.toggle_full_screen, "F11")
        self.act_shortcuts = self._action("Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = self._action("About heatmeter", self.show_about)
        self.act_quit = self._action("Quit", self.close, "Ctrl+Q")

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_quit)
        m = mb.addMenu("&Go")
        for key, heading in GROUPS.items():
            names = [s.name for s in self._specs if s.group == key]
            if names:
                m.addSection(heading)
                for n in names:
                    m.addAction(self.page_actions[n])
        m.addSeparator()
        m.addAction(self.act_next)
        m.addAction(self.act_prev)
        m = mb.addMenu("&View")
        m.addAction(self.act_larger)
        m.addAction(self.act_fullscreen)
        m = mb.addMenu("&Task")
        m.addAction(self.act_refresh)
        m.addAction(self.act_cancel)
        m = mb.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """(where, action, keys) for every action with a shortcut: the window's and the current page's."""
        rows = []
        pages = set(self.page_actions.values())
        for act in self.actions():
            if not act.shortcut().isEmpty():
                what = ("Go to " if act in pages else "") + _plain(act.text())
                rows.append(("Everywhere", what, act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        page = self.current_page()
        if page is not None:
            for act in page.page_actions():
                if not act.shortcut().isEmpty():
                    rows.append((page.title, _plain(act.text()),
                                 act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        return rows

    # -- pages -----------------------------------------------------------------------
    def page(self, name: str, build: bool = True) -> Page | None:
        """The page ``name``, built now if needed (unless ``build`` is False)."""
        page = self._pages.get(name)
        if page is None and build:
            page = self._build_page(page_spec(name))
        return page

    def built_pages(self) -> dict[str, Page]:
        return dict(self._pages)

    def _build_page(self, spec: PageSpec) -> Page:
        try:
            cls = spec.load()
            page = cls(self.ctx, self.stack)
        except Exception as exc:  # noqa: BLE001 - a broken page must not take the app down
            log.exception("could not build page %s", spec.name)
            page = _BrokenPage(self.ctx, self.stack)
            page.title_label.setText(spec.title)
            page.show_error(f"The {spec.title} page could not be opened: {exc}")
        self._pages[spec.name] = page
        self.stack.addWidget(page)
        return page

    def current_page(self) -> Page | None:
        return self._pages.get(self._current) if self._current else None

    @property
    def current_name(self) -> str | None:
        return self._current

    def show_page(self, name: str) -> Page:
        """Make ``name`` the current page (building it on first show)."""
        old = self.current_page()
        if old is not None and self._current != name and not old.can_leave():
            self.nav.set_current(self._current)
            self.page_actions[self._current].setChecked(True)
            return old
        page = self.page(name)
        self.stack.setCurrentWidget(page)
        self._current = name
        self.nav.set_current(name)
        if name in self.page_actions:
            self.page_actions[name].setChecked(True)
        if old is not None and old is not page:
            old.on_hidden()
        self._update_title()
        if self.ctx.mode.persistent:
            self.ctx.settings.last_page = name
        page._became_current()
        self.pageChanged.emit(name)
        return page

    def _step_page(self, step: int) -> None:
        names = [s.name for s in self._specs]
        if self._current in names:
            self.show_page(names[(names.index(self._current) + step) % len(names)])

    def clear_messages(self, group: str) -> None:
        """Take the messages of ``group`` away from every page's banner (e.g. "connection" once connected)."""
        for page in self._pages.values():
            page.banner.clear_group(group)

    def _update_title(self) -> None:
        spec_title = page_spec(self._current).title if self._current else ""
        sim = " [SIMULATION]" if self.ctx.connection.value.simulated else ""
        # "Page — heatmeter": ending with the application's display name, Qt does not append it a second time
        self.setWindowTitle(f"{spec_title}{sim} — heatmeter" if spec_title else "heatmeter")

    # -- messages and tasks -----------------------------------------------------------
    def show_message(self, text: str, level: str = "error", group: str | None = None) -> None:
        """Show ``text`` in the banner of the current page (``group``: see ``MessageBanner.show_message``)."""
        page = self.current_page()
        if page is not None:
            page.banner.show_message(text, level, group=group)
        else:
            self.statusBar().showMessage(text, 10000)

    def _task_failed(self, task: Task, message: str) -> None:
        text = f"{task.name} failed: {message}"
        origin = task.origin if isinstance(task.origin, Page) else None
        current = self.current_page()
        if origin is not None:
            origin.show_error(text)
        if current is not None and current is not origin:
            current.show_error(text)

    def refresh_current(self) -> None:
        page = self.current_page()
        if page is not None and not page.refresh():
            self.statusBar().showMessage(f"Nothing to refresh on {page.title}.", 4000)

    def cancel_task(self) -> bool:
        task = self.ctx.tasks.current()
        if task is None:
            return False
        self.task_indicator.cancel()
        return True

    # -- view ---------------------------------------------------------------------------
    def set_larger_text(self, on: bool) -> None:
        scale = theme.text_scale(bool(on))
        if self.ctx.mode.persistent:
            self.ctx.settings.larger_text = bool(on)
        self.apply_text_scale(scale)

    def apply_text_scale(self, scale: float) -> None:
        app = QApplication.instance()
        m = theme.apply_theme(app, scale)
        self.nav.apply_metrics(m)
        larger = scale > theme.NORMAL_SCALE
        for w in (self.act_larger, self.nav.text_toggle):
            if w.isChecked() != larger:
                w.blockSignals(True)
                w.setChecked(larger)
                w.blockSignals(False)
        self.task_indicator.bar.setMinimumWidth(round(180 * scale))
        self.ctx.set_text_scale(scale)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def show_shortcuts(self) -> ShortcutsDialog:
        dlg = ShortcutsDialog(self.shortcut_rows(), self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg

    def show_about(self) -> None:
        QMessageBox.about(self, "About heatmeter",
                          f"<b>heatmeter {__version__}</b><p>Open-source tool for heat meters on heat "
                          "networks: M-Bus readout, meter register, maintenance planning, metrology.</p>"
                          "<p>Licence: GPL-3.0-or-later. Works offline.</p>")

    # -- persistence ----------------------------------------------------------------------
    def restore_layout(self) -> None:
        s = self.ctx.settings
        geometry = s.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = s.window_state
        if state is not None:
            self.restoreState(state)

    def restore_connection(self) -> None:
        """Pre-fill (not connect) the last real port, baud and profile, unless one is given."""
        c, s = self.ctx.connection.value, self.ctx.settings
        if c.simulated or c.port or c.gateway or not s.port:
            return
        where = {"gateway": s.port} if "://" in s.port else {"port": s.port}
        self.ctx.connection.update(baud=s.baud, profile=s.profile, **where)

    def save_connection(self) -> None:
        """Remember the port (or gateway), baud and profile of a real connection."""
        c, s = self.ctx.connection.value, self.ctx.settings
        if c.simulated or not (c.port or c.gateway):
            return
        s.port = c.port or c.gateway
        if c.baud:
            s.baud = c.baud
        s.profile = c.profile

    def save_layout(self) -> None:
        s = self.ctx.settings
        s.geometry = self.saveGeometry()
        s.window_state = self.saveState()
        if self._current:
            s.last_page = self._current
        self.save_connection()
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.ctx.mode.persistent:
            self.save_layout()
        if not self.ctx.tasks.is_idle():
            self.statusBar().showMessage("Stopping running tasks…")
        page = self.current_page()
        if page is not None:
            page.on_hidden()          # the current page stops its own watchers and timers
        self.ctx.tasks.shutdown(3.0)
        self.ctx.close_register()     # its connections end with the window (a PostgreSQL session cleanly)
        super().closeEvent(event)
