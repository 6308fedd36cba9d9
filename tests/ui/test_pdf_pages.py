"""Pages of the app's PDFs with a running header and footer: where they break, what every page carries."""
from __future__ import annotations

import random
import unicodedata

import pypdf
import pytest
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QPdfWriter, QTextDocument, QTextTable

from app.ui.pdf import BASE_CSS, page_breaks, table, write_pdf


def _body(seed: int) -> str:
    """Headings, paragraphs of 1 to 9 lines and tables of one- and multi-line rows, in random order."""
    rng = random.Random(seed)
    words = "flow return energy volume meter sensor pipe register reading kWh heat cooling".split()
    out = []
    for n in range(14):
        out.append(f"<h2>Section {n}</h2>")
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.3:
                rows = [[str(i), " ".join(rng.choice(words) for _ in range(rng.randint(2, 30)))]
                        for i in range(rng.randint(3, 25))]
                out.append(table(["#", "text"], rows, widths=["10%", "90%"]))
            else:
                out.append("<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(5, 140))) + "</p>")
    return "".join(out)


def _laid_out(body: str, tmp_path) -> tuple[QTextDocument, float, QPdfWriter]:
    writer = QPdfWriter(str(tmp_path / "probe.pdf"))
    writer.setResolution(300)
    area = writer.pageLayout().paintRectPixels(300)
    doc = QTextDocument()
    doc.setDefaultStyleSheet(BASE_CSS)
    doc.setHtml(f"<html><body>{body}</body></html>")
    doc.documentLayout().setPaintDevice(writer)
    doc.setPageSize(QSizeF(area.width(), -1))
    return doc, area.height() * 0.85, writer


@pytest.mark.parametrize("seed", range(6))
def test_pages_never_split_a_row_leave_a_lone_line_or_end_on_a_heading(qapp, tmp_path, seed):
    doc, page_h, writer = _laid_out(_body(seed), tmp_path)
    pages = page_breaks(doc, page_h)
    assert len(pages) >= 3
    assert all(b - a <= page_h + 0.5 for a, b in pages)                  # every page fits
    assert all(pages[i][1] == pages[i + 1][0] for i in range(len(pages) - 1))   # nothing lost between pages
    layout = doc.documentLayout()
    breaks = [b for _a, b in pages[:-1]]
    it = doc.rootFrame().begin()
    items = []
    while not it.atEnd():
        items.append((it.currentFrame(), it.currentBlock()))
        it += 1
    for y in breaks:
        before = None
        for frame, block in items:
            if frame is not None and isinstance(frame, QTextTable):
                for r in range(frame.rows()):
                    for c in range(frame.columns()):
                        cell = frame.cellAt(r, c)
                        b = cell.firstCursorPosition().block()
                        while b.isValid() and b.position() <= cell.lastCursorPosition().position():
                            rect = layout.blockBoundingRect(b)
                            assert not rect.top() < y < rect.bottom() - 1, "a page break inside a table row"
                            b = b.next()
                if layout.frameBoundingRect(frame).top() < y - 1:
                    before = ("table", frame)
                continue
            if not block.isValid() or not block.text().strip():
                continue
            rect = layout.blockBoundingRect(block)
            if rect.top() < y < rect.bottom() - 1:
                lines = [rect.top() + block.layout().lineAt(k).y() for k in range(block.layout().lineCount())]
                above = sum(1 for t in lines if t < y)
                assert above >= 2 and len(lines) - above >= 2, "a lone line at a page break"
            if rect.top() < y - 1:
                before = ("block", block)            # the last thing the page shows (some of)
        assert before is not None
        if before[0] == "block":
            assert before[1].blockFormat().headingLevel() == 0, "a heading left at the foot of a page"
    del writer


def test_every_page_carries_the_header_and_the_footer(qapp, tmp_path):
    path = tmp_path / "running.pdf"
    write_pdf(str(path), _body(1), title="t", header="Commissioning certificate · Kamstrup 71234567",
              footer="Kamstrup 71234567 (serial 71234567)")
    reader = pypdf.PdfReader(str(path))
    n = len(reader.pages)
    assert n >= 3
    for i, page in enumerate(reader.pages, start=1):
        text = " ".join(unicodedata.normalize("NFKC", page.extract_text() or "").split())
        assert "Commissioning certificate · Kamstrup 71234567" in text
        assert f"Kamstrup 71234567 (serial 71234567) · page {i} of {n}" in text
