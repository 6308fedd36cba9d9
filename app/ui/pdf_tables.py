"""PDF documents made of headings, paragraphs and tables, laid out row by row (Qt's PDF writer, no widgets).

Why not rich text (``app.ui.pdf``): a table there may split a row across two
pages, and adjacent cells come out of the PDF's text as one run ("in
servicenone recorded"). Here every row is measured first and moved whole to
the next page when it does not fit (the header row is repeated there), every
cell is its own text with a separating space after it, and pages are
numbered "page i of n". Safe in a worker thread (QPdfWriter, QPainter on it).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

_FLAGS = int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)


@dataclass
class Heading:
    text: str
    level: int = 1
    new_page: bool = False


@dataclass
class Paragraph:
    text: str
    muted: bool = False


@dataclass
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    widths: Sequence[float] | None = None   # relative column widths (default equal)
    min_row_mm: float = 0.0                 # e.g. room to write a result by hand
    shade: Sequence[str | None] | None = None  # per row: None or a colour name for the row's background


@dataclass
class _Op:
    kind: str            # text | rect | line
    rect: QRectF
    text: str = ""
    font: str = "body"
    fill: str | None = None


@dataclass
class _Page:
    ops: list[_Op] = field(default_factory=list)


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


class _Layout:
    def __init__(self, writer: QPdfWriter, base_pt: float):
        self.dpi = writer.resolution()
        rect = writer.pageLayout().paintRectPixels(self.dpi)
        self.width, self.height = float(rect.width()), float(rect.height())
        self.fonts = {"body": QFont("DejaVu Sans", base_pt), "bold": QFont("DejaVu Sans", base_pt),
                      "h1": QFont("DejaVu Sans", base_pt * 1.8), "h2": QFont("DejaVu Sans", base_pt * 1.35),
                      "muted": QFont("DejaVu Sans", base_pt * 0.9), "small": QFont("DejaVu Sans", base_pt * 0.85)}
        for k in ("bold", "h1", "h2"):
            self.fonts[k].setBold(True)
        self.metrics = {k: QFontMetricsF(f, writer) for k, f in self.fonts.items()}
        self.pad = self.mm(1.2)
        self.footer = self.metrics["small"].height() * 1.6
        self.pages = [_Page()]
        self.y = 0.0

    def mm(self, v: float) -> float:
        return v / 25.4 * self.dpi

    @property
    def bottom(self) -> float:
        return self.height - self.footer

    def new_page(self) -> None:
        self.pages.append(_Page())
        self.y = 0.0

    def text_height(self, text: str, font: str, width: float) -> float:
        r = self.metrics[font].boundingRect(QRectF(0, 0, width, 1e7), _FLAGS, text or " ")
        return r.height()

    def block(self, text: str, font: str, gap_before: float, gap_after: float) -> None:
        h = self.text_height(text, font, self.width)
        if self.y > 0 and self.y + gap_before + h > self.bottom:
            self.new_page()
        self.y += gap_before if self.y > 0 else 0
        self.pages[-1].ops.append(_Op("text", QRectF(0, self.y, self.width, h), text, font))
        self.y += h + gap_after

    def table(self, t: Table) -> None:
        n = len(t.headers)
        weights = list(t.widths or [1.0] * n)
        total = sum(weights)
        xs = [0.0]
        for w in weights:
            xs.append(xs[-1] + self.width * w / total)
        min_h = self.mm(t.min_row_mm)

        def row_height(cells: Sequence[str], font: str) -> float:
            h = max(self.text_height(c, font, xs[i + 1] - xs[i] - 2 * self.pad) for i, c in enumerate(cells))
            return max(h + 2 * self.pad, min_h if font == "body" else 0.0)

        head = [str(h) for h in t.headers]
        head_h = row_height(head, "bold")

        def draw_row(cells: Sequence[str], h: float, font: str, fill: str | None) -> None:
            ops = self.pages[-1].ops
            for i, c in enumerate(cells):
                r = QRectF(xs[i], self.y, xs[i + 1] - xs[i], h)
                ops.append(_Op("rect", r, fill=fill))
                inner = r.adjusted(self.pad, self.pad, -self.pad, -self.pad)
                ops.append(_Op("text", inner, c, font))
            self.y += h

        if self.y + head_h + (row_height([_cell_text(c) for c in t.rows[0]], "body") if t.rows else 0) > self.bottom:
            self.new_page()
        draw_row(head, head_h, "bold", "#e6e6e6")
        for k, row in enumerate(t.rows):
            cells = [_cell_text(c) for c in row] + [""] * (n - len(row))
            h = row_height(cells, "body")
            if self.y + h > self.bottom:  # never split a row: the whole row goes to the next page, under the header
                self.new_page()
                draw_row(head, head_h, "bold", "#e6e6e6")
            fill = (t.shade[k] if t.shade and k < len(t.shade) else None)
            draw_row(cells, h, "body", fill)
        self.y += self.mm(3)


def write_document(path: str, blocks: Sequence[Heading | Paragraph | Table], *, title: str = "heatmeter",
                   landscape: bool = True, base_pt: float = 8.0, footer: str = "") -> int:
    """Write the blocks as an A4 PDF to ``path``; returns the number of pages (raises OSError when it cannot)."""
    with open(path, "wb"):
        pass  # the writer fails silently: find out here, and start from an empty file
    writer = QPdfWriter(path)
    writer.setTitle(title)
    writer.setCreator("heatmeter")
    writer.setResolution(300)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Landscape if landscape else
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
    lay = _Layout(writer, base_pt)
    for b in blocks:
        if isinstance(b, Heading):
            if b.new_page and lay.y > 0:
                lay.new_page()
            lay.block(b.text, "h1" if b.level == 1 else "h2", lay.mm(4), lay.mm(1.5))
        elif isinstance(b, Paragraph):
            lay.block(b.text, "muted" if b.muted else "body", lay.mm(1), lay.mm(1.5))
        else:
            lay.table(b)
    pages = lay.pages
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write {path}")
    try:
        pen = QPen(QColor("#808080"))
        pen.setWidthF(lay.mm(0.15))
        for i, page in enumerate(pages):
            if i:
                writer.newPage()
            for op in page.ops:
                if op.kind == "rect":
                    if op.fill:
                        painter.fillRect(op.rect, QColor(op.fill))
                    painter.setPen(pen)
                    painter.drawRect(op.rect)
                else:
                    painter.setPen(QColor("#555555") if op.font == "muted" else QColor("#000000"))
                    painter.setFont(lay.fonts[op.font])
                    # the trailing space keeps neighbouring cells apart in the PDF's text
                    painter.drawText(op.rect, _FLAGS, op.text + " " if op.text else "")
            painter.setPen(QColor("#555555"))
            painter.setFont(lay.fonts["small"])
            painter.drawText(QRectF(0, lay.height - lay.footer * 0.8, lay.width, lay.footer), _FLAGS,
                             f"{footer}  —  page {i + 1} of {len(pages)}" if footer else f"page {i + 1} of {len(pages)}")
    finally:
        painter.end()
    del writer
    with open(path, "rb") as f:
        if f.read(5) != b"%PDF-":
            raise OSError(f"cannot write {path}")
    return len(pages)
