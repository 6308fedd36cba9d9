"""The two USB sticks behind the receiver interface, over pyserial (device path, ``socket://``, ``rfc2217://``)."""
from __future__ import annotations

import time

from drivers import errors

from . import amb8465, im871a
from .base import Heard, Receiver, ReceiverError

__all__ = ["SerialDongle", "Im871aReceiver", "Amb8465Receiver"]


def _open_port(url: str, baud: int):
    import serial
    try:
        return serial.serial_for_url(url, baudrate=baud, timeout=0.05)
    except ValueError as exc:
        raise errors.BadPortURL("not a port: %s (%s)" % (url, exc)) from None
    except serial.SerialException as exc:
        text = str(exc)
        if "No such file" in text or "could not open port" in text and "2]" in text:
            raise errors.PortNotFound("no such port: %s" % url) from None
        if "Permission denied" in text or "13]" in text:
            raise errors.PortPermission("no permission to open %s" % url) from None
        if "refused" in text.lower():
            raise errors.ConnectionRefused("connection refused: %s" % url) from None
        raise errors.PortError("cannot open %s: %s" % (url, text.splitlines()[0] if text else "error")) from None


class SerialDongle(Receiver):
    baud = 57600
    answer_timeout_s = 2.0

    def __init__(self, url: str, *, port=None):
        super().__init__()
        self.url = url
        self._port = port
        self._own_port = port is None

    def _open(self) -> None:
        if self._port is None:
            self._port = _open_port(self.url, self.baud)

    def _close(self) -> None:
        if self._own_port and self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None

    def _read_bytes(self, timeout_s: float) -> bytes:
        import serial
        self._port.timeout = max(0.01, min(timeout_s, 0.2))
        try:
            n = max(1, self._port.in_waiting)
            return self._port.read(n)
        except (serial.SerialException, OSError) as exc:
            raise errors.PortLost("lost %s: %s" % (self.url, exc)) from None

    def _write(self, data: bytes) -> None:
        import serial
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise errors.PortLost("lost %s: %s" % (self.url, exc)) from None

    def _request(self, data: bytes, is_answer) -> None:
        """Send a command and wait for its answer; telegrams arriving meanwhile are kept."""
        self._write(data)
        deadline = time.monotonic() + self.answer_timeout_s
        while time.monotonic() < deadline:
            for item in self._parse(self._read_bytes(deadline - time.monotonic())):
                if isinstance(item, Heard):
                    self._pending.append(item)
                elif is_answer(item):
                    return
        raise ReceiverError("the %s on %s did not answer (is it a %s?)" % (self.name, self.url, self.name))

    def _read(self, timeout_s: float) -> list[Heard]:
        return [x for x in self._parse(self._read_bytes(timeout_s)) if isinstance(x, Heard)]


class Im871aReceiver(SerialDongle):
    name = "iM871A"

    def __init__(self, url: str, **kw):
        super().__init__(url, **kw)
        self._parser = im871a.Im871aParser()

    def _parse(self, data: bytes):
        out = []
        for ep, msg_id, payload, rssi in self._parser.feed(data):
            if ep == im871a.RADIOLINK and msg_id == im871a.WMBUSMSG_IND and payload:
                out.append(Heard(bytes((len(payload),)) + payload, None if rssi is None else im871a.rssi_to_dbm(rssi),
                                 rssi, mode=self.mode, source=self.url))
            else:
                out.append((ep, msg_id, payload))
        return out

    def _set_mode(self, mode: str) -> None:
        self._request(im871a.set_mode_request(mode),
                      lambda m: m[0] == im871a.DEVMGMT and m[1] == im871a.SET_CONFIG_RSP)


class Amb8465Receiver(SerialDongle):
    name = "AMB8465"

    def __init__(self, url: str, **kw):
        super().__init__(url, **kw)
        self._parser = amb8465.Amb8465Parser()

    def _parse(self, data: bytes):
        out = []
        for cmd, payload in self._parser.feed(data):
            if cmd == amb8465.CMD_DATA_IND and len(payload) >= 2:
                body, rssi = payload[:-1], payload[-1]
                out.append(Heard(bytes((len(body),)) + body, amb8465.rssi_to_dbm(rssi), rssi, mode=self.mode,
                                 source=self.url))
            else:
                out.append((cmd, payload))
        return out

    def _set_mode(self, mode: str) -> None:
        for param in (0x45, 0x05):            # RSSI attached, command frames on the UART
            self._request(amb8465.enable_request(param), lambda m: m[0] == (amb8465.CMD_SET_REQ | 0x80))
        self._request(amb8465.set_mode_request(mode), lambda m: m[0] == (amb8465.CMD_SET_MODE_REQ | 0x80))
