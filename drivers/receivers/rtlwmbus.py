"""rtl-wmbus text lines (software-defined radio) behind the receiver interface.

rtl-wmbus prints one line per telegram:
``MODE;CRC_OK;3OUTOF6_OK;TIMESTAMP;PACKET_RSSI;CURRENT_RSSI;LINK_ID;0xHEX``,
e.g. ``T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x2e44...``; the hex is
the telegram without its block CRCs. Lines with a failed CRC or 3-out-of-6
check, and any other text, are skipped. Its RSSI is the demodulator's
uncalibrated level, not dBm: it is kept as ``rssi_raw`` and ``rssi_dbm`` stays
None.

Sources: a file or named pipe (path), standard input (``-``), or
``socket://HOST:PORT`` (a TCP stream of such lines).
"""
from __future__ import annotations

import datetime as _dt
import re
import select
import socket
import sys

from drivers import errors

from .base import Heard, Receiver

__all__ = ["parse_line", "RtlWmbusReceiver"]

_LINE = re.compile(r"^\s*[A-Za-z]*?([TCS])1;([01]);([01]);([^;]*);(\d+);(\d+);([0-9A-Fa-f]{8});0x([0-9A-Fa-f]+)")


def parse_line(line: str, source: str = "rtl-wmbus") -> Heard | None:
    """One rtl-wmbus line -> Heard, or None for text that is not a good telegram line."""
    m = _LINE.match(line)
    if not m or m.group(2) != "1" or m.group(3) != "1":
        return None
    hexs = m.group(8)
    if len(hexs) % 2:
        return None
    data = bytes.fromhex(hexs)
    if not data:
        return None
    data = bytes((len(data) - 1,)) + data[1:]       # its L-field counts the bytes without CRCs
    when = None
    try:
        when = _dt.datetime.strptime(m.group(4).strip()[:19], "%Y-%m-%d %H:%M:%S").astimezone(_dt.timezone.utc)
    except ValueError:
        pass
    h = Heard(data, None, int(m.group(5)), mode=m.group(1).lower() + "1", source=source)
    if when is not None:
        h.received_at = when
    return h


class RtlWmbusReceiver(Receiver):
    name = "rtl-wmbus"

    def __init__(self, source: str):
        super().__init__()
        self.source = source
        self._fh = None
        self._sock = None
        self._buf = b""
        self._eof = False

    def _open(self) -> None:
        src = self.source
        if src.startswith("socket://"):
            host, _, port = src[len("socket://"):].rpartition(":")
            if not port.isdigit():
                raise errors.BadPortURL("expected socket://HOST:PORT, not %s" % src)
            try:
                self._sock = socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=5)
            except ConnectionRefusedError:
                raise errors.ConnectionRefused("connection refused: %s" % src) from None
            except OSError as exc:
                raise errors.GatewayUnreachable("cannot reach %s: %s" % (src, exc.strerror or exc)) from None
        elif src == "-":
            self._fh = sys.stdin.buffer
        else:
            try:
                self._fh = open(src, "rb", buffering=0)
            except FileNotFoundError:
                raise errors.PortNotFound("no such file or pipe: %s" % src) from None
            except PermissionError:
                raise errors.PortPermission("no permission to read %s" % src) from None

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._fh is not None and self._fh is not sys.stdin.buffer:
            self._fh.close()
        self._fh = None

    def _chunk(self, timeout_s: float) -> bytes | None:
        if self._sock is not None:
            r, _, _ = select.select([self._sock], [], [], timeout_s)
            if not r:
                return b""
            data = self._sock.recv(65536)
            return data or None
        try:
            r, _, _ = select.select([self._fh], [], [], timeout_s)
        except (ValueError, OSError):
            r = [self._fh]
        if not r:
            return b""
        data = self._fh.read(65536) if hasattr(self._fh, "read") else b""
        return data or None

    def _read(self, timeout_s: float) -> list[Heard] | None:
        if self._eof:
            return None
        data = self._chunk(timeout_s)
        if data is None:
            self._eof = True
            data = b"\n" if self._buf else b""
            if not data:
                return None
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        out = []
        for ln in lines:
            h = parse_line(ln.decode("latin-1"), self.source)
            if h is not None:
                out.append(h)
        if self._eof and not out:
            return None
        return out
