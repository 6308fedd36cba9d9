"""A page body that scrolls instead of forcing a minimum window size."""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget


def scroll_body(page) -> QVBoxLayout:
    """Put a scroll area into ``page.body_layout`` and return the layout to fill instead.

    The page then fits any window (a small laptop screen, larger text): when the
    window is smaller than the page's content, scroll bars appear rather than
    the window growing past the screen."""
    area = QScrollArea(page.body)
    area.setObjectName("PageScroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    inner = QWidget(area)
    inner.setObjectName("PageScrollInner")
    lay = QVBoxLayout(inner)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(10)
    area.setWidget(inner)
    page.body_layout.addWidget(area, 1)
    page.scroll_area = area
    return lay
