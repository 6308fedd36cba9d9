"""PDF documents (certificates, reports) with Qt's own PDF writer.

A document is HTML (the subset Qt's rich text supports: headings, paragraphs,
tables, ``<img src="name">`` for images handed in as ``images``). Text stays
text in the PDF, so reports can be searched and checked.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument, QTextFormat

# Width of the text column in HTML pixels on a portrait A4 page: give images at
# most this ``width`` (landscape: about 1.5 times as much).
CONTENT_WIDTH_PX = 520

BASE_CSS = """
body { font-family: sans-serif; font-size: 9pt; color: #000; }
h1 { font-size: 16pt; margin-bottom: 2pt; }
h2 { font-size: 12pt; margin-top: 10pt; margin-bottom: 3pt; }
table { border-collapse: collapse; }
th { background: #e6e6e6; text-align: left; }
th, td { padding: 2pt 4pt; }
.mono { font-family: monospace; font-size: 7.5pt; }
.pass { color: #0a6b2d; font-weight: bold; }
.fail { color: #a4001d; font-weight: bold; }
.muted { color: #555; }
"""


def esc(value: object) -> str:
    """HTML text of a value (None as an empty cell)."""
    return "" if value is None else html.escape(str(value))


def table(headers: Iterable[str], rows: Iterable[Iterable[object]], *, widths: Iterable[str] | None = None,
          css_class: str = "") -> str:
    """An HTML table with a header row; cell values are escaped."""
    ws = list(widths or [])
    head = "".join(f'<th{f" width={ws[i]!r}" if i < len(ws) else ""}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    cls = f' class="{css_class}"' if css_class else ""
    return f'<table border="1" cellspacing="0" width="100%"{cls}><tr>{head}</tr>{body}</table>'


def write_pdf(path: str, body_html: str, *, title: str = "heatmeter", images: Mapping[str, QImage] | None = None,
              landscape: bool = False, header: str | None = None, footer: str | None = None) -> None:
    """Write ``body_html`` as an A4 PDF to ``path`` (raises OSError when it cannot be written).

    With ``header`` / ``footer`` (e.g. the meter's id), every page carries them, the footer with
    "page n of N", and the pages break only between blocks, table rows and lines that leave at least
    two lines of a paragraph on each side, never right after a heading (:func:`page_breaks`)."""
    # Qt's writer fails silently (a warning on stderr) and would leave an older file in place: find out
    # here, with the reason, and start from an empty file
    with open(path, "wb"):
        pass
    writer = QPdfWriter(path)
    writer.setTitle(title)
    writer.setCreator("heatmeter")
    writer.setResolution(300)
    layout = QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                         QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait,
                         QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setPageLayout(layout)
    doc = QTextDocument()
    doc.setDefaultStyleSheet(BASE_CSS)
    for name, image in (images or {}).items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    doc.setHtml(f"<html><head><title>{esc(title)}</title></head><body>{body_html}</body></html>")
    if header is None and footer is None:
        doc.print_(writer)  # lays the text out for the writer's page and resolution, numbers the pages
    else:
        _print_with_running_text(writer, doc, header or "", footer or "")
    del writer  # finishes the file
    with open(path, "rb") as f:
        if f.read(5) != b"%PDF-":
            raise OSError(f"cannot write {path}")


RUNNING_PT = 7.5      # header and footer text
_RUNNING_MM = 8.0     # room each takes at the top and the bottom of the page


def _px(mm: float, dpi: int) -> float:
    return mm / 25.4 * dpi


def page_breaks(doc: QTextDocument, page_height: float) -> list[tuple[float, float]]:
    """Where the pages of ``doc`` (laid out without pagination) start and end, in its own units.

    A page may end before a top-level block, before a table row, or between two lines of a paragraph
    that leave at least two of its lines on each side (no orphan or widow line); never right after a
    heading (it stays with what it heads); a block asking for a page break before it gets one. Only
    an element taller than a page is cut where the page ends."""
    from PySide6.QtGui import QTextTable

    layout = doc.documentLayout()
    candidates: list[float] = []
    forced: list[float] = []
    after_heading = False
    bottom = 0.0
    it = doc.rootFrame().begin()
    while not it.atEnd():
        frame, block = it.currentFrame(), it.currentBlock()
        it += 1
        if frame is not None:
            rect = layout.frameBoundingRect(frame)
            if not after_heading:
                candidates.append(rect.top())
            if isinstance(frame, QTextTable):
                prev_bottom = None
                for r in range(frame.rows()):
                    tops, bottoms = [], []
                    for c in range(frame.columns()):
                        cell = frame.cellAt(r, c)
                        if not cell.isValid():
                            continue
                        first = layout.blockBoundingRect(cell.firstCursorPosition().block())
                        last = layout.blockBoundingRect(cell.lastCursorPosition().block())
                        tops.append(first.top())
                        bottoms.append(last.bottom())
                    if tops and prev_bottom is not None:
                        # just above the row's text: the rule between the rows stays with the page before
                        candidates.append(max(prev_bottom, min(tops) - 2))
                    prev_bottom = max(bottoms) if bottoms else prev_bottom
            bottom = max(bottom, rect.bottom())
            after_heading = False
            continue
        if not block.isValid():
            continue
        rect = layout.blockBoundingRect(block)
        top = max(rect.top(), bottom)               # (the empty block after a table may report less)
        if block.blockFormat().pageBreakPolicy() & QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore:
            forced.append(top)
        elif not after_heading:
            candidates.append(top)
        lines = block.layout().lineCount()
        for k in range(2, lines - 1):            # keep two lines together at either end of a paragraph
            candidates.append(rect.top() + block.layout().lineAt(k).y())
        after_heading = block.blockFormat().headingLevel() > 0 and bool(block.text().strip())
        bottom = max(bottom, rect.bottom())
    end = max(doc.size().height(), bottom)
    candidates = sorted(set(c for c in candidates if c > 0))
    forced = sorted(set(f for f in forced if f > 0))
    pages: list[tuple[float, float]] = []
    start = 0.0
    while start < end - 0.5:
        limit = start + page_height
        brk = next((f for f in forced if start < f <= limit), None)
        if brk is None:
            if end <= limit:
                brk = end
            else:
                fits = [c for c in candidates if start + page_height * 0.05 < c <= limit]
                brk = fits[-1] if fits else limit
        pages.append((start, brk))
        start = brk
    return pages or [(0.0, end)]


def _print_with_running_text(writer: QPdfWriter, doc: QTextDocument, header: str, footer: str) -> None:
    """Lay ``doc`` out on ``writer``'s pages between a running header and footer (see :func:`write_pdf`)."""
    from PySide6.QtCore import QRectF, QSizeF, Qt
    from PySide6.QtGui import QFont, QPainter, QPen

    dpi = writer.resolution()
    area = writer.pageLayout().paintRectPixels(dpi)
    w, h = float(area.width()), float(area.height())
    band = _px(_RUNNING_MM, dpi)
    body_h = h - 2 * band
    doc.documentLayout().setPaintDevice(writer)
    doc.setPageSize(QSizeF(w, -1))                  # one long page: the breaks are chosen below
    pages = page_breaks(doc, body_h)
    font = QFont()
    font.setFamilies(["sans-serif"])
    font.setPointSizeF(RUNNING_PT)
    painter = QPainter(writer)
    try:
        for n, (start, end) in enumerate(pages, start=1):
            if n > 1:
                writer.newPage()
            painter.save()
            painter.translate(0, band - start)
            doc.drawContents(painter, QRectF(0, start, w, end - start))
            painter.restore()
            painter.setFont(font)
            painter.setPen(QPen(Qt.GlobalColor.black, max(1.0, dpi / 150)))
            text_h = band * 0.6
            painter.drawText(QRectF(0, 0, w, text_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             header)
            painter.drawLine(0, round(text_h + band * 0.1), round(w), round(text_h + band * 0.1))
            foot = f"{footer} · page {n} of {len(pages)}" if footer else f"page {n} of {len(pages)}"
            y = h - text_h
            painter.drawLine(0, round(y - band * 0.1), round(w), round(y - band * 0.1))
            painter.drawText(QRectF(0, y, w, text_h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             foot)
    finally:
        painter.end()
