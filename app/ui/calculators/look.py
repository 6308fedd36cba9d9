"""Looks of the office pages' own widgets (big results, verdict colours, field errors).

Each styled widget gets a small style sheet of its own (a leaf, or a small
panel), never the whole page: a style sheet on a page makes Qt re-resolve the
style of every widget below it whenever the larger-text setting changes, which
with the calculators' forms and plots cost seconds. ``styled(w, role, scale)``
records the role on the widget; ``restyle(root, scale)`` re-applies every role
under ``root`` for a new text scale.
"""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.ui import theme

PASS_BG = "#0a6b2d"
PASS_INK = "#0a6b2d"
FAIL_INK = "#a4001d"
WARN_INK = "#7a3e00"
INK = {"pass": PASS_INK, "fail": FAIL_INK, "warn": WARN_INK}
BADGE = {"pass": (PASS_BG, "#ffffff"), "fail": (theme.ERROR_BG, "#ffffff"), "warn": (theme.WARNING_BG, "#000000"),
         "info": (theme.INFO_BG, "#ffffff"), "": ("#e4e4e4", "#000000")}


def css(role: str, scale: float, state: str = "") -> str:
    m = theme.metrics(scale)
    pt = m.point_size
    if role == "badge":
        bg, ink = BADGE.get(state, BADGE[""])
        return (f"font-size: {pt * 1.45:.1f}pt; font-weight: bold; padding: 6px 12px; border-radius: 4px; "
                f"background: {bg}; color: {ink};")
    if role == "value":
        return f"font-size: {pt * 1.35:.1f}pt; font-weight: bold; color: {INK.get(state, '#000000')};"
    if role == "value-mid":
        return f"font-size: {pt * 1.15:.1f}pt; font-weight: bold; color: {INK.get(state, '#000000')};"
    if role == "value-small":
        return f"font-weight: bold; color: {INK.get(state, '#000000')};"
    if role == "header":
        return "font-weight: bold; color: #222222; border-bottom: 2px solid #505050;"
    if role == "section":
        return f"font-weight: bold; font-size: {pt * 1.05:.1f}pt; padding-top: 8px; border-bottom: 1px solid #8a8a8a;"
    if role == "intro":
        return f"color: #222222; font-size: {pt * 0.95:.1f}pt;"
    if role == "error":
        return f"color: {FAIL_INK}; font-weight: bold;"
    if role == "error-box":
        return f"color: {FAIL_INK}; font-weight: bold; background: #fde8e6; border: 2px solid {theme.ERROR_BG}; padding: 6px;"
    if role == "invalid":
        return f"border: 3px solid {theme.ERROR_BG}; background: #fde8e6;"
    if role == "panel":
        return (f"#{state} {{ background: {theme.PAPER}; border: 2px solid #505050; border-radius: 6px; }}"
                if state else "")
    if role == "tabs":
        return (f"QTabBar::tab {{ min-height: {m.target - 10}px; padding: 4px 14px; border: 2px solid #8a8a8a; "
                f"border-bottom: none; background: #dcdcdc; margin-right: 2px; border-top-left-radius: 4px; "
                f"border-top-right-radius: 4px; }} "
                f"QTabBar::tab:selected {{ background: {theme.PAPER}; font-weight: bold; border-color: #303030; "
                f"border-top: 4px solid {theme.ACCENT}; }}")
    return ""


def styled(w: QWidget, role: str, scale: float, state: str = "") -> QWidget:
    w.setProperty("hm_role", role)
    w.setProperty("hm_state", state)
    w.setStyleSheet(css(role, scale, state))
    return w


def set_state(w: QWidget, state: str, scale: float) -> None:
    styled(w, w.property("hm_role") or "", scale, state)


def restyle(root: QWidget, scale: float) -> None:
    for w in [root, *root.findChildren(QWidget)]:
        role = w.property("hm_role")
        if role:
            w.setStyleSheet(css(role, scale, w.property("hm_state") or ""))


def scrolling(content: QWidget, parent: QWidget) -> QWidget:
    """``content`` in a frameless scroll area: it fills the page, and scrolls when the window is
    smaller than its minimum size (a small laptop screen, larger text) instead of forcing the
    window wider or taller than the screen."""
    from PySide6.QtWidgets import QFrame, QScrollArea

    area = QScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(content)
    return area
