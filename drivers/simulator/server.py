"""Putting the simulated bus on a line: pseudo-terminal, TCP, in-process loopback.

* :class:`SimServer` serves a :class:`SimBus` on a pseudo-terminal (``PATH``
  becomes a symlink to the slave side; the line baud is read from the
  terminal settings the master applied, so baud changes work as on a real
  converter) and/or on a TCP port (a transparent gateway with a fixed line
  baud). ``start()`` runs it in background threads, ``stop()`` ends them;
  ``serve_forever()`` blocks (the CLI). Use it as a context manager.
* :class:`LoopbackTransport` is a transport (same interface as
  :class:`drivers.transport.SerialTransport`) wired straight to a bus in the
  same process, with a virtual clock: nothing sleeps, which makes it right
  for the GUI's demo mode and for fast tests of the scan algorithms.

Line timing: ``line_scale`` 1.0 paces the answers like a real line (each
character 11 bit times, the slave's answer delay, the request's own line
time); 0.0 answers at once (tests). ``time_scale`` makes the meters' registers
run faster than the wall clock.
"""
from __future__ import annotations

import os
import select
import socket
import threading
import time
from typing import Callable

from drivers import errors, framing, timing
from drivers.simulator.bus import SimBus
from drivers.simulator.optical import LoopbackOpticalLine, OpticalPort, serve_optical

_PREAMBLE_BYTES = (0x55, 0x00)


class _Receiver:
    """Splits the byte stream from the master into frames and preamble runs."""

    def __init__(self):
        self.buf = bytearray()
        self.run_byte: int | None = None
        self.run_len = 0

    def feed(self, data: bytes) -> list[tuple[bytes, int | None, int]]:
        self.buf += data
        out = []
        while self.buf:
            st = framing.frame_status(bytes(self.buf))
            if st == "need":
                break
            if isinstance(st, int):
                frame = bytes(self.buf[:st])
                del self.buf[:st]
                out.append((frame, self.run_byte, self.run_len))
                self.run_byte, self.run_len = None, 0
                continue
            b = self.buf.pop(0)             # not a frame start: preamble or line noise
            if b in _PREAMBLE_BYTES and b == self.run_byte:
                self.run_len += 1
            elif b in _PREAMBLE_BYTES:
                self.run_byte, self.run_len = b, 1
            else:
                self.run_byte, self.run_len = None, 0
        return out


def _termios_baud(fd: int) -> int | None:
    try:
        import termios
        speed = termios.tcgetattr(fd)[5]
    except Exception:
        return None
    for b in timing.BAUD_RATES:
        if getattr(termios, f"B{b}", None) == speed:
            return b
    return None


class SimServer:
    """Serve a simulated bus on a pty and/or TCP. See the module docstring."""

    def __init__(self, bus: SimBus, *, baud: int = 2400, line_scale: float = 1.0, time_scale: float = 1.0,
                 echo: bool = False, state_file: str | None = None,
                 on_event: Callable[[str], None] | None = None, optical_meter=None):
        self.bus = bus
        # a meter of the bus whose optical port this server is (EN 62056-21 / KMP / M-Bus), or None: the M-Bus
        self.optical_meter = optical_meter
        self.optical_ports: list[OpticalPort] = []
        self.baud = baud
        self.line_scale = line_scale
        self.time_scale = time_scale
        self.echo = echo
        self.state_file = state_file
        self.on_event = on_event
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cleanup: list[Callable[[], None]] = []
        self.pty_path: str | None = None
        self.tcp_address: tuple[str, int] | None = None
        self.ready = threading.Event()

    # --- clock ----------------------------------------------------------------
    def sim_now(self) -> float:
        return (time.monotonic() - self._t0) * self.time_scale

    # --- set-up -----------------------------------------------------------------
    def open_pty(self, path: str) -> str:
        import tty
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        slave_name = os.ttyname(slave)
        path = os.path.abspath(path)
        if os.path.islink(path) or os.path.exists(path):
            if not os.path.islink(path):
                os.close(master)
                os.close(slave)
                raise errors.PortBusy(f"{path} exists and is not a link this simulator may replace")
            os.unlink(path)
        os.symlink(slave_name, path)
        self.pty_path = path

        def cleanup():
            try:
                if os.path.islink(path) and os.readlink(path) == slave_name:
                    os.unlink(path)
            except OSError:
                pass
            for fd in (master, slave):
                try:
                    os.close(fd)
                except OSError:
                    pass

        self._cleanup.append(cleanup)
        # the slave fd stays open here so the pty lives while masters come and go
        self._threads.append(threading.Thread(target=self._serve_fd, args=(master,), name="sim-pty", daemon=True))
        return path

    def open_tcp(self, host: str, port: int) -> tuple[str, int]:
        srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            srv.bind((host, port))
        except OSError as exc:
            srv.close()
            raise errors.PortBusy(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        srv.listen(4)
        self.tcp_address = srv.getsockname()[:2]
        self._cleanup.append(srv.close)
        self._threads.append(threading.Thread(target=self._accept, args=(srv,), name="sim-tcp", daemon=True))
        return self.tcp_address

    def start(self) -> "SimServer":
        if not self.ready.is_set():
            for t in self._threads:
                t.start()
            self.ready.set()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        for c in reversed(self._cleanup):
            c()
        self._cleanup.clear()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self.stop()

    # --- serving ------------------------------------------------------------------
    def _accept(self, srv: socket.socket) -> None:
        srv.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve_socket, args=(conn,), name="sim-tcp-conn", daemon=True)
            t.start()

    def _serve_socket(self, conn: socket.socket) -> None:
        try:
            self._session(conn.fileno(), lambda: conn.recv(4096), conn.sendall, lambda: self.baud)
        finally:
            conn.close()

    def _serve_fd(self, fd: int) -> None:
        def read() -> bytes:
            try:
                return os.read(fd, 4096)
            except OSError:
                return b""

        def write(data: bytes) -> None:
            try:
                os.write(fd, data)
            except OSError:
                pass

        self._session(fd, read, write, lambda: _termios_baud(fd) or self.baud, persistent=True)

    def _session(self, fd: int, read, write, line_baud, persistent: bool = False) -> None:
        if self.optical_meter is not None:     # one meter's optical port (drivers.simulator.optical)
            port = OpticalPort(self.optical_meter, self.sim_now)
            self.optical_ports.append(port)
            serve_optical(port, fd, read, write, line_baud if persistent else (lambda: None), self._stop,
                          self.line_scale, persistent)
            return
        rx = _Receiver()
        while not self._stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            t_arrival = time.monotonic()
            data = read()
            if not data:
                if persistent:
                    continue
                return
            baud = line_baud()
            if self.echo:
                write(data)
            for frame, pre_byte, pre_len in rx.feed(data):
                now = self.sim_now()
                if pre_byte is not None and pre_len:
                    self.bus.preamble(pre_byte, pre_len, baud, now)
                ans = self.bus.request(frame, baud, now)
                if self.on_event:
                    self.on_event(f"rx {frame.hex()} -> {len(ans.data)} bytes from {ans.answering} slave(s)")
                if self.state_file:
                    self.bus.write_state(self.state_file, now)
                if not ans.data:
                    continue
                self._send_paced(write, ans, t_arrival + self.line_scale * timing.frame_time_s(len(frame), baud))

    def _send_paced(self, write, ans, t_req_end: float) -> None:
        if self.line_scale <= 0:
            write(ans.data)
            return
        i = 0
        n = len(ans.data)
        while i < n:
            now = time.monotonic()
            j = i
            while j < n and t_req_end + ans.times_s[j] * self.line_scale <= now:
                j += 1
            if j > i:
                write(ans.data[i:j])
                i = j
                continue
            wait = t_req_end + ans.times_s[i] * self.line_scale - now
            time.sleep(min(max(wait, 0.0), 0.05))  # line timing of the simulated UART


class LoopbackTransport:
    """A transport wired to a :class:`SimBus` in this process, on a virtual clock.

    Same interface as :class:`drivers.transport.SerialTransport`. ``now_s``
    is the simulated time; each exchange advances it by the line time of the
    request, the answer (or the full response timeout when nobody answers).
    ``realtime``: use the wall clock for the meters instead (demo mode).
    """

    def __init__(self, bus: SimBus, baud: int = 2400, *, timeout_s: float | None = None, echo: bool = False,
                 realtime: bool = False, url: str = "loopback://simulator"):
        self.bus = bus
        self.baud = baud
        self.url = url
        self._timeout = timeout_s
        self.echo = echo
        self.realtime = realtime
        self._t0 = time.monotonic()
        self.now_s = 0.0
        self.frames_sent = 0
        self._last_rx = -1.0
        self._optical: list[OpticalPort] | None = None

    @property
    def response_timeout_s(self) -> float:
        return self._timeout if self._timeout is not None else timing.response_timeout_s(self.baud)

    def _now(self) -> float:
        return time.monotonic() - self._t0 if self.realtime else self.now_s

    def supports_baud_change(self) -> bool:
        return True

    def set_baud(self, baud: int) -> None:
        self.baud = baud

    def idle(self, seconds: float) -> None:
        self.now_s += max(0.0, seconds)

    def send_preamble(self, byte: int, duration_s: float, *, parity: str = "N") -> None:
        count = max(1, int(round(duration_s * self.baud / 10)))
        self.bus.preamble(byte, count, self.baud, self._now())
        self.now_s += duration_s

    def transact(self, frame: bytes, *, listen: str = "frame", timeout_s: float | None = None) -> bytes:
        self.frames_sent += 1
        self.now_s = max(self.now_s, self._last_rx + timing.inter_frame_gap_s(self.baud))
        self.now_s += timing.frame_time_s(len(frame), self.baud)
        ans = self.bus.request(frame, self.baud, self._now())
        if listen == "none":
            return b""
        timeout = self.response_timeout_s if timeout_s is None else timeout_s
        if not ans.data or ans.times_s[0] - 11 / self.baud > timeout:
            self.now_s += timeout
            return b""
        self.now_s += max(ans.times_s[-1], timeout if listen == "window" else 0.0)
        self._last_rx = self.now_s
        return ans.data

    def byte_line(self, *, cancel=None, trace=None) -> LoopbackOpticalLine:
        """An optical head on the simulated meters that have an optical port (EN 62056-21, KMP),
        for :func:`drivers.optical.line.line_for_transport`; on this transport's clock."""
        if self._optical is None:
            self._optical = [OpticalPort(m, self._now) for m in self.bus.meters if m.cfg.optical]

        def advance(seconds: float) -> None:
            self.now_s += seconds
        return LoopbackOpticalLine(self._optical, url=self.url, advance=advance, trace=trace)

    def close(self) -> None:
        pass

    def __enter__(self) -> "LoopbackTransport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
