"""A disk that fills up: for exports that must fail cleanly and keep the earlier file."""
from __future__ import annotations


class FillingDisk:
    """A file on a disk with ``room`` bytes left: writes beyond it fail as a full disk does (ENOSPC)."""

    def __init__(self, f, room: int):
        self._f, self._room = f, room

    def write(self, data):
        self._room -= len(data)
        if self._room < 0:
            import errno

            raise OSError(errno.ENOSPC, "No space left on device")
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()
