"""Simulated wireless M-Bus sticks (iM871A, AMB8465) on a pseudo-terminal or TCP port.

:class:`WMBusSimServer` plays a :class:`~drivers.simulator.wmbus.RadioField`
through the serial protocol of the chosen stick: it answers the host's
configuration commands like the stick does and, once the host has set a
receive mode, sends every telegram the field produces as the stick's
telegram indication, with the RSSI byte of the simulated distance. ``speed``
runs simulated time faster than the wall clock (tests).
"""
from __future__ import annotations

import os
import select
import socket
import threading
import time

from drivers import errors
from drivers.receivers import amb8465, im871a

__all__ = ["Im871aEmulator", "Amb8465Emulator", "WMBusSimServer", "emulator"]


class Im871aEmulator:
    name = "im871a"

    def __init__(self):
        self.parser = im871a.Im871aParser()
        self.mode: str | None = None

    def feed(self, data: bytes) -> bytes:
        out = b""
        modes = {v: k for k, v in im871a.LINK_MODES.items()}
        for ep, msg_id, payload, _rssi in self.parser.feed(data):
            if ep == im871a.DEVMGMT and msg_id == im871a.SET_CONFIG_REQ:
                if len(payload) >= 3 and payload[1] & 0x02:
                    self.mode = modes.get(payload[2], "t1")
                out += im871a.message(im871a.DEVMGMT, im871a.SET_CONFIG_RSP, b"\x00")
            elif ep == im871a.DEVMGMT and msg_id == im871a.PING_REQ:
                out += im871a.message(im871a.DEVMGMT, im871a.PING_RSP)
        return out

    def indication(self, telegram: bytes, rssi_dbm: float) -> bytes:
        return im871a.indication(telegram, im871a.dbm_to_rssi(rssi_dbm))


class Amb8465Emulator:
    name = "amb8465"

    def __init__(self):
        self.parser = amb8465.Amb8465Parser()
        self.mode: str | None = None

    def feed(self, data: bytes) -> bytes:
        out = b""
        modes = {v: k for k, v in amb8465.RX_MODES.items()}
        for cmd, payload in self.parser.feed(data):
            if cmd == amb8465.CMD_SET_MODE_REQ and payload:
                self.mode = modes.get(payload[0], "t1")
            if cmd in (amb8465.CMD_SET_MODE_REQ, amb8465.CMD_SET_REQ):
                out += amb8465.command(cmd | 0x80, b"\x00")
        return out

    def indication(self, telegram: bytes, rssi_dbm: float) -> bytes:
        return amb8465.indication(telegram, amb8465.dbm_to_rssi(rssi_dbm))


def emulator(dongle: str):
    if dongle == "im871a":
        return Im871aEmulator()
    if dongle == "amb8465":
        return Amb8465Emulator()
    raise ValueError("dongle must be im871a or amb8465")


class _Session:
    def __init__(self, emu, write):
        self.emu = emu
        self.write = write
        self.alive = True


class WMBusSimServer:
    """Serve a radio field through a simulated stick. ``start()``/``stop()`` or use as a context manager."""

    def __init__(self, field, dongle: str = "im871a", *, speed: float = 1.0):
        emulator(dongle)                          # check the name early
        self.field = field
        self.dongle = dongle
        self.speed = speed
        self.pty_path: str | None = None
        self.tcp_address: tuple[str, int] | None = None
        self.sent = 0
        self._sessions: list[_Session] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conn_threads: list[threading.Thread] = []
        self._cleanup: list = []
        self._t0 = time.monotonic()
        self.ready = threading.Event()

    def sim_now(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def open_pty(self, path: str) -> str:
        import tty
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        slave_name = os.ttyname(slave)
        path = os.path.abspath(path)
        if os.path.lexists(path):
            if not os.path.islink(path):
                os.close(master)
                os.close(slave)
                raise errors.PortBusy(f"{path} exists and is not a link this simulator may replace")
            os.unlink(path)
        os.symlink(slave_name, path)
        self.pty_path = path

        def write(data: bytes) -> None:
            view = memoryview(data)
            while view:
                try:
                    n = os.write(master, view)
                except BlockingIOError:
                    if self._stop.wait(0.01):
                        return
                    continue
                view = view[n:]

        session = _Session(emulator(self.dongle), write)
        self._sessions.append(session)

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
        self._threads.append(threading.Thread(target=self._serve, args=(session, master, lambda: os.read(master, 4096)),
                                              name="wmbus-sim-pty", daemon=True))
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
        self._threads.append(threading.Thread(target=self._accept, args=(srv,), name="wmbus-sim-tcp", daemon=True))
        return self.tcp_address

    def start(self) -> "WMBusSimServer":
        if not self.ready.is_set():
            self._t0 = time.monotonic()
            self._threads.append(threading.Thread(target=self._radio, name="wmbus-sim-radio", daemon=True))
            for t in self._threads:
                t.start()
            self.ready.set()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads + self._conn_threads:
            if t.is_alive():
                t.join(timeout=5)
        for c in reversed(self._cleanup):
            c()
        self._cleanup.clear()

    def __enter__(self) -> "WMBusSimServer":
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

    def _radio(self) -> None:
        while not self._stop.is_set():
            wait = (self.field.next_time() - self.sim_now()) / self.speed
            if wait > 0 and self._stop.wait(min(wait, 0.5)):
                return
            items = self.field.due(self.sim_now())
            if not items:
                continue
            with self._lock:
                sessions = [s for s in self._sessions if s.alive and s.emu.mode is not None]
            for _m, tg, rssi in items:
                for s in sessions:
                    try:
                        s.write(s.emu.indication(tg, rssi))
                        self.sent += 1
                    except OSError:
                        s.alive = False

    def _serve(self, session: _Session, fd: int, read) -> None:
        while not self._stop.is_set() and session.alive:
            try:
                r, _, _ = select.select([fd], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                data = read()
            except BlockingIOError:
                continue
            except OSError:                        # pty: no master side open just now
                if self._stop.wait(0.05):
                    return
                continue
            if not data:
                if isinstance(fd, int) and session in self._sessions and self.pty_path:
                    if self._stop.wait(0.05):
                        return
                    continue
                return
            answer = session.emu.feed(data)
            if answer:
                try:
                    session.write(answer)
                except OSError:
                    session.alive = False

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
            session = _Session(emulator(self.dongle), conn.sendall)
            with self._lock:
                self._sessions.append(session)
            t = threading.Thread(target=self._serve_conn, args=(session, conn), name="wmbus-sim-conn", daemon=True)
            self._conn_threads.append(t)
            t.start()

    def _serve_conn(self, session: _Session, conn: socket.socket) -> None:
        try:
            self._serve(session, conn.fileno(), lambda: conn.recv(4096))
        finally:
            session.alive = False
            with self._lock:
                if session in self._sessions:
                    self._sessions.remove(session)
            conn.close()
