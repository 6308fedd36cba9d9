"""A byte line for the optical-port protocols (EN 62056-21, KMP).

M-Bus frames carry their own length, so :class:`drivers.transport.SerialTransport`
reads "one frame". The optical protocols end their messages differently (a line
feed, an ETX and a check character, a stop byte 0x0D), start at 300 baud with 7
data bits and even parity (EN 62056-21) or at 1200 baud 8N2 (KMP), and switch
the baud rate in the middle of an exchange. They use this small interface:

* ``set_format(baud, fmt)`` - baud rate and character format (``"7E1"``, ``"8N2"``,
  ``"8E1"``, ``"8N1"``); a pseudo-terminal carries no parity or character size
  and is left at 8N1 (the protocols send 7-bit ASCII, which passes unchanged);
* ``write(data)`` then ``drain()`` - the bytes are on the line when ``drain``
  returns, so a baud switch after it does not cut the last characters;
* ``receive(done, first_s, gap_s)`` - collect bytes until ``done(buffer)`` says
  the message is complete, nothing arrived for ``first_s`` (the reaction time),
  or the line went quiet for ``gap_s`` in the middle of a message;
* ``pause(seconds)``, ``flush_input()``, ``close()``.

:class:`SerialLine` implements it over pyserial: opened from a URL
(:func:`open_line`: device path, ``socket://``, ``rfc2217://``) or borrowed from an
open :class:`~drivers.transport.SerialTransport` (:func:`line_for_transport`: the
session already holds the port; the transport's baud rate and format are put
back when the line is released). Errors are the typed errors of
:mod:`drivers.errors` (``PortLost``, ``BaudNotSupported``, ``Cancelled``).
"""
from __future__ import annotations

import time
from typing import Callable, Protocol

from drivers import errors

FORMATS = {"7E1": (7, "E", 1), "7E2": (7, "E", 2), "8N1": (8, "N", 1), "8N2": (8, "N", 2),
           "8E1": (8, "E", 1)}
SLICE_S = 0.004


class ByteLine(Protocol):
    """What an optical protocol needs from the line (see the module docstring)."""

    url: str
    baud: int
    fmt: str

    def set_format(self, baud: int, fmt: str | None = None) -> None: ...

    def write(self, data: bytes) -> None: ...

    def drain(self) -> None: ...

    def receive(self, done: Callable[[bytes], bool], first_s: float, gap_s: float,
                max_bytes: int = 65536) -> bytes: ...

    def pause(self, seconds: float) -> None: ...

    def flush_input(self) -> None: ...

    def close(self) -> None: ...


def check_format(fmt: str) -> tuple[int, str, int]:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown character format {fmt!r} (one of {', '.join(FORMATS)})") from None


class SerialLine:
    """A :class:`ByteLine` over an open pyserial port.

    ``owned``: close the port on :meth:`close` (opened by :func:`open_line`); a
    borrowed port (:func:`line_for_transport`) gets its baud rate and format back
    instead. ``cancel``: a threading.Event or callable checked while waiting.
    ``trace``: called with ("tx"|"rx", bytes) for everything sent and received.
    """

    def __init__(self, ser, url: str, *, owned: bool, cancel=None,
                 trace: Callable[[str, bytes], None] | None = None):
        self._ser = ser
        self.url = url
        self.owned = owned
        self.cancel = cancel
        self.trace = trace
        self.raw_pty = _is_pty(url)
        self.bytes_only = url.startswith("socket://")   # a TCP gateway: its line settings are fixed
        self._saved = (ser.baudrate, ser.bytesize, ser.parity, ser.stopbits)
        self.baud = int(ser.baudrate)
        self.fmt = "8N1"

    # --- settings -------------------------------------------------------------
    def set_format(self, baud: int, fmt: str | None = None) -> None:
        """Switch the baud rate (and the character format, unless ``fmt`` is None)."""
        import serial

        ser = self._require()
        try:
            if fmt is not None:
                bits, parity, stop = check_format(fmt)
                if not (self.raw_pty or self.bytes_only):
                    ser.bytesize = {7: serial.SEVENBITS, 8: serial.EIGHTBITS}[bits]
                    ser.parity = {"E": serial.PARITY_EVEN, "N": serial.PARITY_NONE}[parity]
                    ser.stopbits = {1: serial.STOPBITS_ONE, 2: serial.STOPBITS_TWO}[stop]
                self.fmt = fmt
            ser.baudrate = baud
        except (ValueError, OSError) as exc:
            raise errors.BaudNotSupported(f"{self.url} cannot switch to {baud} baud {fmt or self.fmt}: {exc}") from None
        self.baud = baud

    # --- I/O --------------------------------------------------------------------
    def _require(self):
        if self._ser is None:
            raise errors.PortError(f"port {self.url} is not open")
        return self._ser

    def _check_cancel(self) -> None:
        c = self.cancel
        if c is not None and (c.is_set() if hasattr(c, "is_set") else c()):
            raise errors.Cancelled("cancelled")

    def write(self, data: bytes) -> None:
        self._check_cancel()
        ser = self._require()
        try:
            ser.write(data)
        except Exception as exc:  # SerialException, OSError, write timeout: the port is gone
            raise errors.PortLost(f"lost the port {self.url}: {exc}") from None
        if self.trace:
            self.trace("tx", bytes(data))

    def drain(self) -> None:
        """Wait until everything written has left the port (before a baud switch)."""
        ser = self._require()
        try:
            ser.flush()
        except Exception as exc:
            raise errors.PortLost(f"lost the port {self.url}: {exc}") from None

    def flush_input(self) -> None:
        try:
            self._require().reset_input_buffer()
        except errors.PortError:
            raise
        except Exception as exc:
            raise errors.PortLost(f"lost the port {self.url}: {exc}") from None

    def pause(self, seconds: float) -> None:
        """Keep the line quiet (protocol timing, e.g. the reaction time before answering)."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            self._check_cancel()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))  # line timing, not synchronisation

    def _read_some(self) -> bytes:
        ser = self._require()
        try:
            n = ser.in_waiting
            data = ser.read(n if n > 0 else 1)
        except Exception as exc:
            raise errors.PortLost(f"lost the port {self.url}: {exc}") from None
        if data and self.trace:
            self.trace("rx", bytes(data))
        return data

    def receive(self, done: Callable[[bytes], bool], first_s: float, gap_s: float,
                max_bytes: int = 65536) -> bytes:
        """Bytes until ``done(buf)``, ``first_s`` of silence before the first byte, or a
        ``gap_s`` pause after one (whatever came so far is returned; b"" when silent)."""
        ser = self._require()
        old = ser.timeout
        ser.timeout = SLICE_S
        buf = bytearray()
        start = time.monotonic()
        last = None
        try:
            while len(buf) < max_bytes:
                self._check_cancel()
                chunk = self._read_some()
                now = time.monotonic()
                if chunk:
                    buf += chunk
                    last = now
                    if done(bytes(buf)):
                        break
                    continue
                if last is None and now - start > first_s:
                    break
                if last is not None and now - last > gap_s:
                    break
        finally:
            try:
                ser.timeout = old
            except Exception:  # a vanished port: the next call reports it
                pass
        return bytes(buf)

    def close(self) -> None:
        ser, self._ser = self._ser, None
        if ser is None:
            return
        if self.owned:
            try:
                ser.close()
            except Exception:  # a vanished port may fail to close; nothing to do about it
                pass
            return
        try:  # a borrowed port: give the transport its settings back
            ser.baudrate, ser.bytesize, ser.parity, ser.stopbits = self._saved
        except Exception:  # pseudo-terminals refuse parity; the transport reopens what it needs
            pass

    def __enter__(self) -> "SerialLine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_pty(url: str) -> bool:
    import os
    try:
        return "://" not in url and os.path.realpath(url).startswith("/dev/pts/")
    except OSError:
        return False


def open_line(url: str, baud: int = 300, fmt: str = "7E1", *, exclusive: bool = True, cancel=None,
              trace: Callable[[str, bytes], None] | None = None, connect_timeout_s: float = 3.0) -> SerialLine:
    """Open ``url`` (device path, socket://, rfc2217://) as a :class:`SerialLine` at ``baud`` ``fmt``."""
    import socket

    import serial

    from drivers.transport import classify_open_error

    bits, parity, stop = check_format(fmt)
    pty = _is_pty(url)
    kwargs = dict(baudrate=baud, timeout=SLICE_S, write_timeout=5.0,
                  bytesize=serial.EIGHTBITS if pty else {7: serial.SEVENBITS, 8: serial.EIGHTBITS}[bits],
                  parity=serial.PARITY_NONE if pty else {"E": serial.PARITY_EVEN, "N": serial.PARITY_NONE}[parity],
                  stopbits=serial.STOPBITS_ONE if pty else {1: serial.STOPBITS_ONE, 2: serial.STOPBITS_TWO}[stop])
    if "://" not in url and exclusive:
        kwargs["exclusive"] = True
    old_default = socket.getdefaulttimeout()
    try:
        if "://" in url:
            socket.setdefaulttimeout(connect_timeout_s)
        ser = serial.serial_for_url(url, **kwargs)
    except Exception as exc:  # SerialException, OSError, ValueError, termios.error
        raise classify_open_error(url, exc) from None
    finally:
        socket.setdefaulttimeout(old_default)
    line = SerialLine(ser, url, owned=True, cancel=cancel, trace=trace)
    line.fmt = fmt
    return line


def line_for_transport(transport, *, cancel=None, trace: Callable[[str, bytes], None] | None = None) -> ByteLine:
    """The byte line of an open transport (the bus session's port), for an optical protocol.

    A transport that offers ``byte_line()`` (the simulator's in-process loopback)
    gives its own; a :class:`drivers.transport.SerialTransport` lends its pyserial
    port (``serial_port()``). Release it with ``close()`` before the transport is
    used for M-Bus again: its baud rate and format are restored then.
    """
    own = getattr(transport, "byte_line", None)
    if callable(own):
        return own(cancel=cancel, trace=trace)
    get = getattr(transport, "serial_port", None)
    if not callable(get):
        raise errors.PortError(f"{getattr(transport, 'url', transport)} cannot carry an optical protocol")
    return SerialLine(get(), transport.url, owned=False, cancel=cancel, trace=trace)
