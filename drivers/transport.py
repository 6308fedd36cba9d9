"""Byte transports for wired M-Bus: serial devices, TCP gateways, RFC 2217.

``SerialTransport`` wraps pyserial's ``serial_for_url`` (device paths,
``socket://HOST:PORT`` transparent gateways, ``rfc2217://HOST:PORT`` gateways
that set the line baud) with the timing of EN 13757-2:

* 8E1 framing, the per-baud response timeout (330 bit times + 50 ms) unless
  overridden, an inter-frame gap before each request;
* stale input is flushed before each request;
* echo cancellation: level converters and optical heads that echo what the
  master sends are detected (the received bytes start with the request) and the
  echo is dropped (``echo="auto"``, the default; ``"on"`` requires it, ``"off"``
  never strips);
* opening errors and a port that disappears mid-operation become the typed
  errors of :mod:`drivers.errors`.

Every transport has the same small interface (see :class:`Transport`), which
the link layer drives and which the simulator's in-process loopback also
implements. :func:`drivers.ports.list_ports` lists the serial ports the OS knows.
"""
from __future__ import annotations

import errno
import socket
import time
from typing import Callable, Protocol

from drivers import errors, timing
from drivers.framing import frame_status

CancelHook = Callable[[], bool]


class Transport(Protocol):
    """What the link layer needs from a transport."""

    baud: int
    url: str

    @property
    def response_timeout_s(self) -> float: ...

    def transact(self, frame: bytes, *, listen: str = "frame", timeout_s: float | None = None) -> bytes:
        """Send ``frame`` and return the raw answer bytes (echo removed; b"" when silent).

        ``listen``: ``"frame"`` returns once one complete frame has arrived and
        the line stayed quiet for a few character times; ``"window"`` listens
        until the whole response window has passed (to see every slave that
        answers a wildcard selection); ``"none"`` only sends (broadcasts).
        """
        ...

    def send_preamble(self, byte: int, duration_s: float, *, parity: str = "N") -> None: ...

    def set_baud(self, baud: int) -> None: ...

    def supports_baud_change(self) -> bool: ...

    def idle(self, seconds: float) -> None: ...

    def close(self) -> None: ...


def check_baud(baud: int) -> int:
    if baud not in timing.BAUD_RATES:
        raise errors.BadPortURL(f"unsupported baud rate {baud} (use one of {', '.join(map(str, timing.BAUD_RATES))})")
    return baud


def _is_local_device(url: str) -> bool:
    return "://" not in url


def _is_pty(url: str) -> bool:
    """A pseudo-terminal carries no parity; Linux refuses PARENB on it after the first open."""
    import os
    try:
        return _is_local_device(url) and os.path.realpath(url).startswith("/dev/pts/")
    except OSError:
        return False


def _classify_open_error(url: str, exc: BaseException) -> errors.PortError:
    """Turn whatever pyserial raised while opening into one typed error."""
    cause = exc.__cause__ or exc.__context__
    code = getattr(exc, "errno", None)
    if code is None and isinstance(cause, OSError):
        code = cause.errno
    text = str(exc)
    if isinstance(exc, ValueError) or "invalid URL" in text or "expected" in text and "://" in text:
        return errors.BadPortURL(f"cannot open {url}: {text}")
    if isinstance(cause, ConnectionRefusedError) or code == errno.ECONNREFUSED or "Connection refused" in text:
        return errors.ConnectionRefused(f"gateway {url} refused the connection")
    if isinstance(cause, (socket.timeout, TimeoutError)) or "timed out" in text:
        return errors.GatewayUnreachable(f"gateway {url} did not answer the connection request")
    if isinstance(cause, socket.gaierror) or "Name or service not known" in text:
        return errors.GatewayUnreachable(f"gateway host of {url} is unknown")
    if code in (errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        return errors.PortBusy(f"port {url} is busy (another program has it open)")
    if code == errno.EBUSY:
        return errors.PortBusy(f"port {url} is busy")
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return errors.PortNotFound(f"port {url} not found")
    if code in (errno.EACCES, errno.EPERM):
        return errors.PortPermission(f"no permission to open {url}")
    if isinstance(cause, OSError) and not _is_local_device(url):
        return errors.GatewayUnreachable(f"cannot connect to {url}: {cause.strerror or cause}")
    return errors.PortError(f"cannot open {url}: {text}")


classify_open_error = _classify_open_error   # public name for drivers.optical.line


class SerialTransport:
    """A pyserial port with M-Bus timing. Use it as a context manager.

    ``timeout_s``: response timeout (default: EN 13757-2 for the baud rate).
    ``gap_s``: idle time kept between an answer and the next request
    (default 33 bit times). ``echo``: "auto", "on" or "off".
    ``exclusive``: lock a local device so no other program can use it
    meanwhile (a second opener gets :class:`errors.PortBusy`).
    """

    READ_SLICE_S = 0.004

    def __init__(self, url: str, baud: int = 2400, *, timeout_s: float | None = None, gap_s: float | None = None,
                 echo: str = "auto", exclusive: bool = True, connect_timeout_s: float = 3.0,
                 trace: Callable[[str, bytes], None] | None = None):
        if echo not in ("auto", "on", "off"):
            raise ValueError("echo must be 'auto', 'on' or 'off'")
        self.url = url
        self.baud = check_baud(baud)
        self._timeout_override = timeout_s
        self._gap_override = gap_s
        self.echo = echo
        self.echo_seen = False
        self.exclusive = exclusive
        self.connect_timeout_s = connect_timeout_s
        self.trace = trace
        self._ser = None
        self._last_activity = 0.0
        self.frames_sent = 0

    # --- life cycle -------------------------------------------------------
    def open(self) -> "SerialTransport":
        import serial

        parity = serial.PARITY_NONE if _is_pty(self.url) else serial.PARITY_EVEN
        kwargs = dict(baudrate=self.baud, bytesize=serial.EIGHTBITS, parity=parity,
                      stopbits=serial.STOPBITS_ONE, timeout=self.READ_SLICE_S, write_timeout=5.0)
        if _is_local_device(self.url) and self.exclusive:
            kwargs["exclusive"] = True
        old_default = socket.getdefaulttimeout()
        try:
            if not _is_local_device(self.url):
                socket.setdefaulttimeout(self.connect_timeout_s)
            self._ser = serial.serial_for_url(self.url, **kwargs)
        except Exception as exc:  # SerialException, OSError, ValueError, termios.error
            raise _classify_open_error(self.url, exc) from None
        finally:
            socket.setdefaulttimeout(old_default)
        self._last_activity = time.monotonic()
        return self

    def close(self) -> None:
        ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except Exception:  # a vanished port may fail to close; nothing to do about it
                pass

    def __enter__(self) -> "SerialTransport":
        if self._ser is None:
            self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- timing -------------------------------------------------------------
    @property
    def response_timeout_s(self) -> float:
        if self._timeout_override is not None:
            return self._timeout_override
        return timing.response_timeout_s(self.baud)

    @property
    def gap_s(self) -> float:
        return self._gap_override if self._gap_override is not None else timing.inter_frame_gap_s(self.baud)

    def set_baud(self, baud: int) -> None:
        check_baud(baud)
        ser = self._require()
        try:
            ser.baudrate = baud
        except (ValueError, OSError) as exc:
            raise errors.BaudNotSupported(f"{self.url} cannot switch to {baud} baud: {exc}") from None
        self.baud = baud

    def supports_baud_change(self) -> bool:
        """A socket:// gateway carries bytes only: its line baud is fixed at the gateway."""
        return not self.url.startswith("socket://")

    def serial_port(self):
        """The open pyserial port, lent to the optical protocols (drivers.optical.line.line_for_transport)."""
        return self._require()

    # --- I/O ------------------------------------------------------------------
    def _require(self):
        if self._ser is None:
            raise errors.PortError(f"port {self.url} is not open")
        return self._ser

    def _lost(self, exc: BaseException) -> errors.PortLost:
        self.close()
        return errors.PortLost(f"lost the port {self.url}: {os_error_words(exc)}")

    def _write(self, data: bytes) -> None:
        ser = self._require()
        try:
            ser.write(data)
        except Exception as exc:  # SerialException, OSError, write timeout: the port is gone
            raise self._lost(exc) from None
        if self.trace:
            self.trace("tx", data)

    def _read_some(self) -> bytes:
        ser = self._require()
        try:
            n = ser.in_waiting
            data = ser.read(n if n > 0 else 1)
        except Exception as exc:
            raise self._lost(exc) from None
        if data and self.trace:
            self.trace("rx", data)
        return data

    def _flush_input(self) -> None:
        ser = self._require()
        try:
            ser.reset_input_buffer()
        except Exception as exc:
            raise self._lost(exc) from None

    def _wait_gap(self) -> None:
        wait = self._last_activity + self.gap_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # line timing, not synchronisation: the bus must be idle this long

    def idle(self, seconds: float) -> None:
        """Keep the line quiet for ``seconds`` (a pause an optical port needs after its wake-up)."""
        time.sleep(max(0.0, seconds))  # line timing, not synchronisation
        self._last_activity = time.monotonic()

    def send_preamble(self, byte: int, duration_s: float, *, parity: str = "N") -> None:
        """Send ``byte`` repeatedly for ``duration_s`` (an optical head's wake-up), then flush the echo."""
        import serial

        ser = self._require()
        bits = 10 if parity == "N" else 11
        count = max(1, int(round(duration_s * self.baud / bits)))
        self._wait_gap()
        changed = False
        if parity != "E" and _is_local_device(self.url) and not _is_pty(self.url):
            try:
                ser.parity = serial.PARITY_NONE
                changed = True
            except Exception:
                changed = False
        try:
            self._write(bytes([byte]) * count)
            end = time.monotonic() + count * bits / self.baud
            while time.monotonic() < end:  # let the line carry it before switching back
                self._read_some()
        finally:
            if changed:
                try:
                    ser.parity = serial.PARITY_EVEN
                except Exception:
                    # pseudo-terminals refuse to change parity back (they have none); a real
                    # adapter does not fail here. The port stays usable either way.
                    pass
        self._flush_input()
        self._last_activity = time.monotonic()

    def transact(self, frame: bytes, *, listen: str = "frame", timeout_s: float | None = None) -> bytes:
        if listen not in ("frame", "window", "none"):
            raise ValueError(listen)
        self._wait_gap()
        self._flush_input()
        t0 = time.monotonic()
        self._write(frame)
        self.frames_sent += 1
        req_end = t0 + timing.frame_time_s(len(frame), self.baud)
        if listen == "none":
            self._last_activity = req_end
            remaining = req_end - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
            return b""
        timeout = self.response_timeout_s if timeout_s is None else timeout_s
        answer = self._collect(frame, req_end, timeout, listen == "window")
        return answer

    def _collect(self, sent: bytes, req_end: float, timeout: float, window: bool) -> bytes:
        char = timing.char_time_s(self.baud)
        settle = max(3 * char, 0.006)              # quiet line after a complete frame
        stall = max(timeout, 0.05)                 # a frame that stops mid-way is given up after this
        first_deadline = req_end + timeout
        buf = bytearray()
        echo_pending = self.echo != "off"
        last_rx: float | None = None
        while True:
            chunk = self._read_some()
            now = time.monotonic()
            if chunk:
                buf += chunk
                last_rx = now
            if echo_pending and buf:
                n = min(len(buf), len(sent))
                if buf[:n] == sent[:n]:
                    if len(buf) < len(sent) and now < first_deadline + stall:
                        continue  # the rest of the echo is still coming
                    if len(buf) >= len(sent):
                        del buf[:len(sent)]
                        self.echo_seen = True
                        echo_pending = False
                        # the echo shares the line time of the request: the answer window starts now
                        continue
                echo_pending = False
            if window:
                if now >= first_deadline and (last_rx is None or now - last_rx >= settle):
                    break
                if last_rx is not None and now - last_rx > stall and now >= first_deadline:
                    break
                continue
            if not buf:
                if now >= first_deadline:
                    break
                continue
            st = frame_status(bytes(buf))
            quiet = now - (last_rx or now)
            if st != "need":  # a complete frame, or garbage: done once the line is quiet
                if quiet >= settle:
                    break
            elif quiet >= stall:
                break
        self._last_activity = last_rx if last_rx is not None else time.monotonic()
        return bytes(buf)


def open_transport(url: str, baud: int = 2400, **kwargs) -> SerialTransport:
    """Open ``url`` (device path, socket://, rfc2217://) and return the open transport."""
    return SerialTransport(url, baud, **kwargs).open()



# errno -> what it means for a serial port or a gateway connection
_ERRNO_WORDS = {5: "the device stopped responding (input/output error: unplugged?)",
                6: "the device is gone (unplugged?)", 19: "the device is gone (unplugged?)",
                9: "the port was closed", 32: "the connection was closed by the other end",
                104: "the connection was reset by the gateway", 110: "the connection timed out",
                113: "no route to the gateway"}


def os_error_words(exc: BaseException) -> str:
    """A port failure in words, never a raw tuple such as ``(5, 'Input/output error')``.

    pyserial and termios hand errors up as ``(errno, text)`` pairs, sometimes inside a message of their
    own; the errno is looked up, else the first plain sentence is kept."""
    import errno as _errno
    import re

    code = getattr(exc, "errno", None)
    args = getattr(exc, "args", ())
    if code is None and len(args) >= 2 and isinstance(args[0], int):
        code = args[0]
    text = " ".join(str(exc).split())
    if code is None:
        m = re.search(r"\[Errno (\d+)\]|\((\d+), '", text)
        if m:
            code = int(m.group(1) or m.group(2))
    if code is not None and code in _ERRNO_WORDS:
        return _ERRNO_WORDS[code]
    if code is not None:
        name = _errno.errorcode.get(code, "")
        import os

        return f"{os.strerror(code).lower()}{f' ({name})' if name else ''}"
    text = re.sub(r"\(\d+, '([^']*)'\)", r"\1", text)
    return text or type(exc).__name__
