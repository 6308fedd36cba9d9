"""Reading a file the user names, within limits: a device (``/dev/zero``) or a file far larger than any real
one of its kind is refused in one line instead of being read until the memory runs out."""
from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["TooLarge", "read_limited", "MAX_IMPORT_BYTES", "MAX_SMALL_FILE_BYTES"]

#: A meters or results file (a million meters' CSV is about 120 MB).
MAX_IMPORT_BYTES = 1 << 30
#: A JSON input: calibration points, a mapping profile.
MAX_SMALL_FILE_BYTES = 50 << 20


class TooLarge(ValueError):
    """The file is a device or holds more than the limit (the message names it)."""


def read_limited(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them. Raises :class:`TooLarge` for a device or a larger
    file, ``OSError`` when it cannot be read."""
    p = Path(path)
    with p.open("rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise TooLarge(f"{p}: a device, not a file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{p}: larger than {limit:,} bytes: not a file of this kind")
    return data
