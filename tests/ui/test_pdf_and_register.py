"""The shared PDF writer keeps text as text; the app context opens (and fills) the demo register."""
import pypdf
from PySide6.QtGui import QColor, QImage

from app.ui.pdf import table, write_pdf


def test_pdf_text_images_and_pages(qapp, tmp_path, pdf_text):
    img = QImage(800, 300, QImage.Format.Format_RGB32)
    img.fill(QColor("orange"))
    body = "<h1>Certificate</h1>" + table(["serial", "note"], [["63000036", "a < b & c"]])
    body += '<p><img src="plot" width="500"></p>' + "<p>filler line</p>" * 120
    path = tmp_path / "out.pdf"
    write_pdf(str(path), body, title="Test", images={"plot": img})
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) >= 2  # long text flows onto more pages
    text = pdf_text(path)
    assert "63000036" in text and "a < b & c" in text and "filler line" in text
    assert reader.metadata.title == "Test"


def test_pdf_unwritable_path_raises(qapp, tmp_path):
    import pytest

    with pytest.raises(OSError):
        write_pdf(str(tmp_path / "no-such-dir" / "x.pdf"), "<p>x</p>")


def test_demo_register_is_built_once_in_the_demo_dir(qapp, tmp_path):
    from PySide6.QtCore import QSettings

    from app.ui.context import AppContext
    from app.ui.settings import Settings

    ctx = AppContext(Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)), demo=True)
    ctx.demo_dir = str(tmp_path)
    try:
        reg = ctx.register()
        assert ctx.register() is reg
        n = reg.count_meters()
        assert n >= 1000
        assert (tmp_path / "demo-register.db").exists()
        sites = reg.list_sites()
        assert len(sites) >= 4 and sum(s["meters"] for s in sites) == n
    finally:
        ctx.close_register()
