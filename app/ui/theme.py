"""The high-contrast, bad-light friendly look of the app, and the larger-text setting.

Fusion style with a black-on-white palette (readable in glare and in a dim
plant room), a dark navigation column with a yellow current-page marker, thick
focus rings, and sizes that all grow with the text scale. No network, no web
fonts: the system's sans-serif face is used.

Page authors use :func:`metrics` for sizes instead of hard-coding pixels, so
the larger-text setting scales their targets too.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QProxyStyle, QStyledItemDelegate, QStyleFactory

NORMAL_SCALE = 1.0
LARGER_SCALE = 1.4
BASE_POINT_SIZE = 11.0

# Colours (contrast ratios against their background all >= 7:1, except the
# disabled text which keeps >= 4.5:1).
INK = "#000000"
PAPER = "#ffffff"
PANEL = "#f0f0f0"
ACCENT = "#0b3d91"          # dark blue: selection, links, primary buttons
NAV_BG = "#161616"
NAV_INK = "#ffffff"
NAV_CURRENT_BG = "#ffd100"  # yellow marker of the current page
NAV_CURRENT_INK = "#000000"
DISABLED_INK = "#5a5a5a"
ERROR_BG = "#b3261e"
ERROR_INK = "#ffffff"
WARNING_BG = "#ffd100"
WARNING_INK = "#000000"
INFO_BG = "#0b3d91"
INFO_INK = "#ffffff"
SIM_BG = "#ff8c00"
SIM_INK = "#000000"


def text_scale(larger: bool) -> float:
    return LARGER_SCALE if larger else NORMAL_SCALE


@dataclass(frozen=True)
class Metrics:
    """Sizes in device-independent pixels for one text scale."""

    scale: float
    point_size: float      # body text
    nav_height: int        # one navigation target (>= 44 px in every mode)
    nav_icon: int
    nav_width: int
    target: int            # minimum height of buttons and other touch targets
    input_height: int      # line edits, combo and spin boxes
    icon: int              # icons on ordinary buttons
    banner_icon: int


def metrics(scale: float) -> Metrics:
    return Metrics(
        scale=scale,
        point_size=round(BASE_POINT_SIZE * scale, 1),
        nav_height=max(44, round(54 * (1 + (scale - 1) * 0.45))),
        nav_icon=round(32 * scale),
        nav_width=round(210 * scale),
        target=max(44, round(44 * scale)),
        input_height=max(36, round(38 * scale)),
        icon=round(22 * scale),
        banner_icon=round(30 * scale),
    )


def palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colours = {
        role.Window: PANEL, role.WindowText: INK, role.Base: PAPER, role.AlternateBase: "#e8e8e8",
        role.Text: INK, role.Button: "#e4e4e4", role.ButtonText: INK, role.BrightText: PAPER,
        role.Highlight: ACCENT, role.HighlightedText: PAPER, role.Link: ACCENT, role.LinkVisited: "#4b1a8c",
        role.ToolTipBase: "#fffbd6", role.ToolTipText: INK, role.PlaceholderText: "#4a4a4a",
        role.Light: PAPER, role.Midlight: "#d0d0d0", role.Mid: "#8a8a8a", role.Dark: "#404040",
        role.Shadow: INK,
    }
    for r, c in colours.items():
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor(DISABLED_INK))
    p.setColor(group.Disabled, role.Base, QColor(PANEL))
    return p


def stylesheet(m: Metrics) -> str:
    big = round(m.point_size * 1.15, 1)
    title = round(m.point_size * 1.6, 1)
    toggle = max(44, round(44 * (1 + (m.scale - 1) * 0.5)))
    return f"""
QWidget {{ font-size: {m.point_size}pt; }}
QPushButton, QToolButton {{ min-height: {m.target - 8}px; padding: 4px 14px; border: 2px solid #303030;
    border-radius: 4px; background: #e4e4e4; color: {INK}; }}
QPushButton:hover, QToolButton:hover {{ background: #d4d4d4; }}
QPushButton:pressed, QToolButton:pressed, QToolButton:checked {{ background: #bcbcbc; }}
QPushButton:disabled, QToolButton:disabled {{ color: {DISABLED_INK}; border-color: #9a9a9a; }}
QPushButton:focus, QToolButton:focus {{ border: 3px solid {ACCENT}; }}
QPushButton[primary="true"] {{ background: {ACCENT}; color: {PAPER}; border-color: {ACCENT}; font-weight: bold; }}
QPushButton[primary="true"]:disabled {{ background: #c8c8c8; color: {DISABLED_INK}; border-color: #9a9a9a; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QDateEdit {{ min-height: {m.input_height - 8}px;
    padding: 2px 6px; border: 2px solid #505050; border-radius: 3px; background: {PAPER}; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ width: {round(26 * m.scale)}px; }}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus {{ border: 3px solid {ACCENT}; }}
QComboBox QAbstractItemView {{ background: {PAPER}; color: {INK}; border: 2px solid #303030;
    selection-background-color: {ACCENT}; selection-color: {PAPER}; outline: none; }}
QComboBox QAbstractItemView::item {{ min-height: {m.target}px; padding: 0 8px; color: {INK}; }}
QComboBox QAbstractItemView::item:hover, QComboBox QAbstractItemView::item:selected {{
    background: {ACCENT}; color: {PAPER}; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: {round(20 * m.scale)}px; height: {round(20 * m.scale)}px; }}
QProgressBar {{ border: 2px solid #303030; border-radius: 3px; background: {PAPER}; text-align: center;
    min-height: {round(22 * m.scale)}px; font-weight: bold; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QHeaderView::section {{ background: #dcdcdc; border: 1px solid #9a9a9a; padding: 4px; font-weight: bold; }}
QToolTip {{ border: 2px solid {INK}; padding: 4px; }}
QMenuBar {{ background: {PANEL}; border-bottom: 1px solid #9a9a9a; }}
QMenuBar::item {{ padding: 4px 10px; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {ACCENT}; color: {PAPER}; }}
QMenu::item {{ padding: 6px 28px 6px 20px; }}
QStatusBar {{ background: {PANEL}; border-top: 2px solid #303030; }}
QStatusBar::item {{ border: none; }}

#NavPanel, #NavInner, #NavScroll {{ background: {NAV_BG}; }}
#NavScroll QScrollBar:vertical {{ background: #2a2a2a; width: 12px; }}
#NavScroll QScrollBar::handle:vertical {{ background: #9a9a9a; min-height: 30px; }}
#NavHeading {{ color: #d8d8d8; font-weight: bold; font-size: {round(m.point_size * 0.85, 1)}pt;
    padding: {round(10 * m.scale)}px 12px 2px 14px; letter-spacing: 1px; }}
#NavPanel QToolButton {{ min-height: {m.nav_height}px; max-height: {m.nav_height}px; border: none;
    border-radius: 0; border-left: 6px solid {NAV_BG}; background: {NAV_BG}; color: {NAV_INK}; margin: 0;
    padding: 0 10px; text-align: left; font-size: {big}pt; }}
#NavPanel QToolButton:hover {{ background: #333333; border-left-color: #333333; }}
#NavPanel QToolButton:focus {{ border-left: 6px solid #6fa8ff; }}
#NavPanel QToolButton:checked {{ background: {NAV_CURRENT_BG}; color: {NAV_CURRENT_INK};
    border-left-color: {NAV_CURRENT_BG}; font-weight: bold; }}
#NavPanel QToolButton#TextSizeToggle {{ min-height: {toggle}px; max-height: {toggle}px; border: 2px solid #8a8a8a;
    border-radius: 4px; margin: 6px 8px;
    font-size: {m.point_size}pt; }}
#NavPanel QToolButton#TextSizeToggle:checked {{ background: {NAV_CURRENT_BG}; color: {NAV_CURRENT_INK}; }}

#PageTitle {{ font-size: {title}pt; font-weight: bold; color: {INK}; }}
#PageSummary {{ color: #222222; }}
#PagePlaceholder {{ background: {PAPER}; border: 2px dashed #707070; border-radius: 6px; }}

#Banner {{ border-radius: 4px; }}
#Banner[level="error"] {{ background: {ERROR_BG}; }}
#Banner[level="warning"] {{ background: {WARNING_BG}; }}
#Banner[level="info"] {{ background: {INFO_BG}; }}
#Banner QLabel {{ font-size: {big}pt; font-weight: bold; background: transparent; }}
#Banner[level="error"] QLabel {{ color: {ERROR_INK}; }}
#Banner[level="warning"] QLabel {{ color: {WARNING_INK}; }}
#Banner[level="info"] QLabel {{ color: {INFO_INK}; }}
#Banner QPushButton {{ background: {PAPER}; color: {INK}; border: 2px solid {INK}; font-weight: bold; }}

#SimulationBadge {{ background: {SIM_BG}; color: {SIM_INK}; font-weight: bold; border: 2px solid {INK};
    border-radius: 4px; padding: 2px 10px; font-size: {big}pt; }}
#ConnectionLabel {{ font-weight: bold; padding: 0 8px; }}
#TaskLabel {{ padding: 0 8px; }}
"""


class _Style(QProxyStyle):
    """Fusion, with every combo box's drop-down drawn by a styled item delegate so that the style sheet's
    rows apply: 44 px (a gloved finger) and the row under the pointer dark blue with white text. Qt's
    default delegate for combo boxes ignores item rules, which left that row white on white. Done when a
    widget is polished (once), not per event."""

    def polish(self, obj):  # noqa: D102 - QStyle.polish(QWidget | QApplication | QPalette)
        if isinstance(obj, QComboBox):
            glove_friendly(obj)
        return super().polish(obj)


def glove_friendly(combo: QComboBox) -> QComboBox:
    """Give ``combo`` the drop-down rows of the theme (done for every combo box by :func:`apply_theme`)."""
    if not isinstance(combo.itemDelegate(), QStyledItemDelegate):
        combo.setItemDelegate(QStyledItemDelegate(combo))
    return combo


def apply_theme(app: QApplication, scale: float) -> Metrics:
    """Apply style, palette, font and style sheet for ``scale``; returns its metrics."""
    m = metrics(scale)
    if app.property("heatmeter_text_scale") == scale:
        return m  # already applied: re-polishing every widget costs time for nothing
    app.setProperty("heatmeter_text_scale", scale)
    if not isinstance(app.style(), _Style):
        app.setStyle(_Style(QStyleFactory.create("Fusion")))
    app.setPalette(palette())
    font = QFont(app.font())
    font.setPointSizeF(m.point_size)
    app.setFont(font)
    app.setStyleSheet(stylesheet(m))
    return m
