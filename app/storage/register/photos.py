"""Photos of a commissioning's steps, stored in the register with the SHA-256 of their bytes.

A photo belongs to a commissioning record and one of its steps (``place``,
``checklist:<item key>``, ``clock`` ...). Its bytes go into the database with
their hash; every read checks the hash again (``hash_ok``), so a photo changed
outside heatmeter shows. A signed record's photos can be neither added nor
removed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, insert, select

from app.storage import models
from app.storage.errors import NotFound, SignedRecordError, ValidationError
from app.storage.register.tables import COM, PH
from app.storage.register.unit import UnitOfWork

#: what a photo may be (the first bytes of the file decide, not its name)
MEDIA_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MAX_PHOTO_BYTES = 25 * 1024 * 1024
_COLUMNS = ("id", "commissioning_id", "step", "caption", "filename", "media_type", "sha256", "size_bytes",
            "taken_at", "added_by", "added_at")


def media_type_of(data: bytes) -> str | None:
    """``image/jpeg`` or ``image/png`` from the file's signature, None for anything else."""
    for magic, kind in MEDIA_TYPES.items():
        if data.startswith(magic):
            return kind
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Photos(UnitOfWork):
    """Adding, listing, reading and removing the photos of a commissioning record."""

    def _open_record(self, conn, record_id: int):
        r = conn.execute(select(COM.c.id, COM.c.meter_id, COM.c.status).where(COM.c.id == record_id)).first()
        if r is None:
            raise NotFound(f"no commissioning record {record_id}")
        return r

    def _lock_open_record(self, conn, record_id: int):
        """The record, locked until the transaction ends: a photo is added or removed only while it is a
        draft, and a signature waits for (or comes before) the change."""
        rows = self._lock_rows(conn, COM, COM.c.id == record_id, columns=[COM.c.id, COM.c.meter_id, COM.c.status])
        if not rows:
            raise NotFound(f"no commissioning record {record_id}")
        return SimpleNamespace(**rows[0])

    def add_commissioning_photo(self, record_id: int, data: bytes, *, step: str, filename: str | None = None,
                                caption: str | None = None, taken_at: dt.datetime | None = None,
                                user: str | None = None) -> dict[str, Any]:
        """Attach a photo (JPEG or PNG bytes) to ``step`` of a draft record; returns it without its bytes.

        The same bytes attached to the same step again return the photo already there."""
        data = bytes(data)
        if not data:
            raise ValidationError("the photo is empty")
        if len(data) > MAX_PHOTO_BYTES:
            raise ValidationError(f"the photo is {len(data) / 1e6:.1f} MB; at most "
                                  f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB are kept")
        kind = media_type_of(data)
        if kind is None:
            raise ValidationError(f"{filename or 'the file'} is not a JPEG or PNG photo")
        step = (step or "").strip()
        if not step or len(step) > 60:
            raise ValidationError("a photo needs the step it belongs to (at most 60 characters)")
        digest = sha256_hex(data)
        with self._write() as conn:
            rec = self._lock_open_record(conn, record_id)
            if rec.status == "signed":
                raise SignedRecordError(f"commissioning record {record_id} is signed: no photo can be added")
            same = conn.execute(select(PH.c.id).where(PH.c.commissioning_id == record_id, PH.c.step == step,
                                                      PH.c.sha256 == digest)).scalar()
            if same is not None:
                pid = same
            else:
                pid = conn.execute(insert(PH).values(
                    commissioning_id=record_id, step=step, caption=caption or None,
                    filename=(filename or None) and filename[-300:], media_type=kind, sha256=digest,
                    size_bytes=len(data), data=data, taken_at=taken_at, added_by=self.user_name(user),
                    added_at=models.utcnow()).returning(PH.c.id)).scalar_one()
                h = self._seal_item(conn, "commissioning_photos", pid)
                self._log(conn, user, "commissioning_photos", pid, "add_photo", meter_id=rec.meter_id,
                          after={"commissioning_id": record_id, "step": step, "filename": filename,
                                 "sha256": digest, "size_bytes": len(data), "content_hash": h},
                          anchors=[("commissioning_photos", pid, h)])
        return self.commissioning_photo(pid, with_data=False)

    def commissioning_photos(self, record_id: int, *, with_data: bool = False) -> list[dict[str, Any]]:
        """The record's photos in the order added: id, step, caption, filename, media_type, sha256,
        size_bytes, taken_at, added_by, added_at, ``hash_ok`` (the bytes still have their hash) and,
        with ``with_data``, ``data``."""
        cols = [PH.c[c] for c in _COLUMNS] + [PH.c.data]
        with self._read() as conn:
            self._open_record(conn, record_id)
            rows = conn.execute(select(*cols).where(PH.c.commissioning_id == record_id).order_by(PH.c.id)).mappings()
            return [self._photo(dict(r), with_data) for r in rows]

    def commissioning_photo(self, photo_id: int, *, with_data: bool = True) -> dict[str, Any]:
        cols = [PH.c[c] for c in _COLUMNS] + [PH.c.data]
        with self._read() as conn:
            r = conn.execute(select(*cols).where(PH.c.id == photo_id)).mappings().first()
            if r is None:
                raise NotFound(f"no photo {photo_id}")
            return self._photo(dict(r), with_data)

    @staticmethod
    def _photo(d: dict[str, Any], with_data: bool) -> dict[str, Any]:
        data = bytes(d.pop("data"))
        d["hash_ok"] = sha256_hex(data) == d["sha256"]
        if with_data:
            d["data"] = data
        return d

    def remove_commissioning_photo(self, photo_id: int, *, user: str | None = None) -> None:
        """Take a photo off a draft record (logged with its hash)."""
        with self._write() as conn:
            r = conn.execute(select(PH.c.commissioning_id).where(PH.c.id == photo_id)).first()
            if r is None:
                raise NotFound(f"no photo {photo_id}")
            rec = self._lock_open_record(conn, r.commissioning_id)
            if rec.status == "signed":
                raise SignedRecordError(f"commissioning record {rec.id} is signed: its photos stay")
            found = self._lock_rows(conn, PH, PH.c.id == photo_id,
                                    columns=[PH.c.id, PH.c.step, PH.c.sha256, PH.c.filename])
            if not found:
                raise NotFound(f"no photo {photo_id}")
            old = found[0]
            conn.execute(delete(PH).where(PH.c.id == photo_id))
            self._log(conn, user, "commissioning_photos", photo_id, "remove_photo", meter_id=rec.meter_id,
                      before={"commissioning_id": rec.id, "step": old["step"], "filename": old["filename"],
                              "sha256": old["sha256"]},
                      anchors=[("commissioning_photos", photo_id, None)])
