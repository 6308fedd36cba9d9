"""PDF documents (certificates, reports) with Qt's own PDF writer.

A document is HTML (the subset Qt's rich text supports: headings, paragraphs,
tables, ``<img src="name">`` for images handed in as ``images``). Text stays
text in the PDF, so reports can be searched and checked.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

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
              landscape: bool = False) -> None:
    """Write ``body_html`` as an A4 PDF to ``path`` (raises OSError when it cannot be written)."""
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
    doc.print_(writer)  # lays the text out for the writer's page and resolution, numbers the pages
    del writer  # finishes the file
    with open(path, "rb") as f:
        if f.read(5) != b"%PDF-":
            raise OSError(f"cannot write {path}")
