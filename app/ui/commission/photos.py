"""Photos of a commissioning: the gallery under the checklist, and the thumbnails it shows.

A photo belongs to a step of the record (``installation``, ``checklist:<item>``,
``clock`` ...); the register keeps its bytes with their SHA-256. The gallery
shows each photo small, with its step, file name and the first digits of its
hash; "Add photos…" picks image files (JPEG, PNG). The page adds and loads them
in workers (``app.ui.commission.flow_evidence``).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.services.commissioning import step_words

THUMB_PX = 150


def thumbnail(data: bytes, px: int = THUMB_PX) -> QImage:
    """A small image of a photo's bytes (worker side: QImage, not QPixmap)."""
    img = QImage.fromData(data)
    if img.isNull():
        return img
    return img.scaled(px, px, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class PhotoGallery(QFrame):
    """See the module docstring. ``addRequested(step)``: the user wants to add photos to ``step``."""

    addRequested = Signal(str)

    def __init__(self, step: str = "installation", title: str = "Photos of the installation",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = step
        self.setObjectName("PhotoGallery")
        self.setStyleSheet("#PhotoGallery { background: #ffffff; border: 1px solid #9a9a9a; border-radius: 4px; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        top = QHBoxLayout()
        self.title = QLabel(f"<b>{title}</b>", self)
        top.addWidget(self.title)
        self.count_label = QLabel("", self)
        top.addWidget(self.count_label, 1)
        self.add_button = QPushButton("Add photos…", self)
        self.add_button.setObjectName("AddPhotos")
        self.add_button.setToolTip("Attach photos (JPEG, PNG) of the installation; each is kept in the register "
                                   "with its SHA-256 and printed on the certificate")
        self.add_button.clicked.connect(lambda: self.addRequested.emit(self.step))
        top.addWidget(self.add_button)
        lay.addLayout(top)
        self.hint = QLabel("Photos of the meter, its sensors, straight lengths and seals (HNTAS evidence). Each "
                           "checklist item has its own Photo button too.", self)
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(10)
        lay.addLayout(self.grid)
        self.photos: list[dict[str, Any]] = []
        self._cells: list[QWidget] = []
        self._columns = 4
        self._refresh_count()

    def clear(self) -> None:
        for w in self._cells:
            self.grid.removeWidget(w)
            w.deleteLater()
        self._cells = []
        self.photos = []
        self._refresh_count()

    def set_photos(self, items: list[tuple[dict[str, Any], QImage | None]]) -> None:
        self.clear()
        for photo, image in items:
            self.add(photo, image)

    def add(self, photo: dict[str, Any], image: QImage | None) -> None:
        """Show one photo (``photo``: the register's dict without bytes; ``image``: its thumbnail)."""
        if any(p["id"] == photo["id"] for p in self.photos):
            return
        cell = QWidget(self)
        cell.setObjectName(f"Photo_{photo['id']}")
        cl = QVBoxLayout(cell)
        cl.setContentsMargins(0, 0, 0, 0)
        pic = QLabel(cell)
        pic.setFixedSize(THUMB_PX, THUMB_PX)
        pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pic.setStyleSheet("background: #eeeeee;")
        if image is not None and not image.isNull():
            pic.setPixmap(QPixmap.fromImage(image))
        else:
            pic.setText("(no preview)")
        cl.addWidget(pic)
        ok = "" if photo.get("hash_ok", True) else " <b style='color:#a4001d'>CHANGED</b>"
        text = QLabel(f"{step_words(photo['step'])}<br><span style='color:#333'>{photo.get('filename') or ''}"
                      f"<br>SHA-256 {photo['sha256'][:12]}…</span>{ok}", cell)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setWordWrap(True)
        text.setMaximumWidth(THUMB_PX + 20)
        text.setToolTip(f"SHA-256 {photo['sha256']}, {photo.get('size_bytes', 0):,} bytes")
        cl.addWidget(text)
        n = len(self._cells)
        self.grid.addWidget(cell, n // self._columns, n % self._columns, Qt.AlignmentFlag.AlignTop)
        self._cells.append(cell)
        self.photos.append(photo)
        self._refresh_count()

    def _refresh_count(self) -> None:
        n = len(self.photos)
        self.count_label.setText(f"{n} photo{'s' if n != 1 else ''}" if n else "none yet")

    def set_enabled_for(self, has_record: bool) -> None:
        self.add_button.setEnabled(has_record)
        self.add_button.setToolTip("" if has_record else "Place the meter first (step 2): photos are kept with the "
                                                         "register's record.")

    def set_target(self, px: int) -> None:
        self.add_button.setMinimumHeight(px)

    def steps_with_photos(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.photos:
            out[p["step"]] = out.get(p["step"], 0) + 1
        return out
