"""The page framework: the :class:`Page` base class and the page registry.

A page is one screen of the app (connect, scan, … calculators). The main window
lists the registered pages in the navigation, builds each page the first time
it is shown (so starting the app imports no page module) and calls
:meth:`Page.on_shown` every time it becomes current.

Add a page::

    # app/ui/pages/mypage.py
    from app.ui.pages.base import Page

    class MyPage(Page):
        name = "mypage"; title = "My page"; icon = "readout"
        summary = "What this page is for, in one line."

        def build(self) -> None:            # fill self.body_layout
            self.body_layout.addWidget(...)

        def on_shown(self) -> None: ...      # each time it becomes current
        def refresh(self) -> None: ...       # F5
        def prepare_demo(self) -> None: ...  # demo data for --demo / screenshots

    # and register it (app/ui/pages/__init__.py does this for the built-in pages):
    register_page(PageSpec("mypage", "My page", "readout", "office", "app.ui.pages.mypage:MyPage"))
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.ui.widgets.banner import MessageBanner

if TYPE_CHECKING:  # pragma: no cover
    from app.ui.context import AppContext
    from app.ui.workers import Task

GROUPS = {"plant": "Plant room", "office": "Office"}


@dataclass(frozen=True)
class PageSpec:
    """What the navigation needs to list a page without importing it.

    ``target`` is ``"package.module:ClassName"`` (imported on first show) or the
    class itself. ``shortcut`` defaults to Ctrl+<position> for the first nine pages.
    """

    name: str
    title: str
    icon: str
    group: str
    target: str | type
    summary: str = ""
    shortcut: str | None = None

    def load(self) -> type[Page]:
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            cls = getattr(importlib.import_module(module), attr)
        else:
            cls = self.target
        if not (isinstance(cls, type) and issubclass(cls, Page)):
            raise TypeError(f"page {self.name!r}: {self.target!r} is not a Page subclass")
        if cls.name != self.name:
            raise TypeError(f"page {self.name!r}: class {cls.__name__} says its name is {cls.name!r}")
        return cls


_REGISTRY: dict[str, PageSpec] = {}


def register_page(spec: PageSpec, *, replace: bool = False) -> PageSpec:
    """Add ``spec`` to the navigation (in registration order)."""
    if spec.group not in GROUPS:
        raise ValueError(f"page {spec.name!r}: group must be one of {sorted(GROUPS)}")
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"a page named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_page(name: str) -> None:
    _REGISTRY.pop(name, None)


def page_specs() -> list[PageSpec]:
    """The registered pages, in navigation order."""
    return list(_REGISTRY.values())


def page_spec(name: str) -> PageSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no page named {name!r} (known: {', '.join(_REGISTRY)})") from None


class Page(QWidget):
    """Base class of every page.

    Layout: a title line, the page's :class:`MessageBanner` (``self.banner``),
    then ``self.body`` whose ``self.body_layout`` (a QVBoxLayout) the subclass
    fills in :meth:`build`. ``self.ctx`` is the shared
    :class:`~app.ui.context.AppContext`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    icon: ClassVar[str] = "info"
    summary: ClassVar[str] = ""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"Page_{self.name}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 12, 18, 12)
        outer.setSpacing(10)
        head = QHBoxLayout()
        self.title_label = QLabel(self.title, self)
        self.title_label.setObjectName("PageTitle")
        head.addWidget(self.title_label)
        head.addStretch(1)
        self.header_layout = head   # pages may add a few header widgets (right of the title)
        outer.addLayout(head)
        if self.summary:
            self.summary_label = QLabel(self.summary, self)
            self.summary_label.setObjectName("PageSummary")
            self.summary_label.setWordWrap(True)
            outer.addWidget(self.summary_label)
        self.banner = MessageBanner(self)
        outer.addWidget(self.banner)
        self.body = QWidget(self)
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(10)
        outer.addWidget(self.body, 1)
        self._shown_once = False
        self.build()
        ctx.textScaleChanged.connect(self._text_scale_changed)

    # -- hooks for subclasses ----------------------------------------------------
    def build(self) -> None:
        """Create the page's widgets into ``self.body_layout``."""

    def on_shown(self) -> None:
        """Called each time the page becomes the current page."""

    def on_hidden(self) -> None:
        """Called when another page becomes current."""

    def refresh(self) -> bool:
        """F5: read or reload. Return False when the page has nothing to refresh."""
        return False

    def prepare_demo(self) -> None:
        """Fill the page with demo data (``--demo`` and screenshots). May start tasks:
        the screenshot is taken once the task runner is idle."""

    def on_text_scale_changed(self, scale: float) -> None:
        """The larger-text setting changed; fonts follow by themselves, fix fixed sizes here."""

    def page_actions(self) -> list[QAction]:
        """Actions of this page with shortcuts, listed in Help > Keyboard shortcuts.

        By default the QActions added to the page (``self.addAction``)."""
        return list(self.actions())

    def can_leave(self) -> bool:
        """Return False to keep the user on this page (e.g. unsaved required answers)."""
        return True

    # -- services ----------------------------------------------------------------
    def show_error(self, text: str, **kw: Any) -> None:
        self.banner.show_message(text, "error", **kw)

    def show_warning(self, text: str, **kw: Any) -> None:
        self.banner.show_message(text, "warning", **kw)

    def show_info(self, text: str, **kw: Any) -> None:
        self.banner.show_message(text, "info", **kw)

    def recall(self, key: str, default: Any = None, type_: type | None = None) -> Any:
        """This page's remembered ``key`` (``default`` when none, or in a screenshot run: ``ctx.mode``)."""
        return self.ctx.mode.recall(self.name, key, default, type_)

    def remember(self, key: str, value: Any) -> None:
        """Remember ``key`` for this page (not in a screenshot run)."""
        self.ctx.mode.remember(self.name, key, value)

    def run_task(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Task:
        """Run ``fn`` in a worker (see :meth:`app.ui.workers.TaskRunner.start`).

        It shows in the status bar with Cancel; a failure lands in this page's
        banner (and in the current page's banner if the user has moved on)."""
        return self.ctx.tasks.start(name, fn, *args, origin=self, **kwargs)

    def make_action(self, text: str, slot: Callable[[], Any], shortcut: str | None = None,
                    icon: str | None = None) -> QAction:
        """A QAction active while this page is shown (listed in the shortcuts dialog)."""
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(shortcut)
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if icon:
            from app.ui import icons
            act.setIcon(icons.icon(icon))
        act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)
        return act

    # -- framework internals -----------------------------------------------------
    def _became_current(self) -> None:
        self._shown_once = True
        self.on_shown()

    def _text_scale_changed(self, scale: float) -> None:
        self.banner.set_text_scale(scale)
        self.on_text_scale_changed(scale)


class PlaceholderPage(Page):
    """A page that is not built yet: says what will be there."""

    planned: ClassVar[tuple[str, ...]] = ()

    def build(self) -> None:
        box = QWidget(self.body)
        box.setObjectName("PagePlaceholder")
        lay = QVBoxLayout(box)
        lay.setContentsMargins(24, 18, 24, 18)
        head = QLabel("<b>Coming here:</b>", box)
        lay.addWidget(head)
        items = "".join(f"<li style='margin-bottom:6px'>{_escape(p)}</li>" for p in self.planned)
        text = QLabel(f"<ul style='margin-left:-12px'>{items}</ul>", box)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(text)
        lay.addStretch(1)
        self.placeholder_text = text
        self.body_layout.addWidget(box, 1)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
