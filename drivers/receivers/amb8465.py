"""Amber / Würth Elektronik AMB8465 wireless M-Bus USB stick: its command interface over the serial line.

Command frame: ``FF`` (start), command, payload length, payload, checksum (XOR of
every byte before it). The stick answers a request with the command code
plus 0x80.

* set the receive mode: ``CMD_SET_MODE_REQ`` (0x04) with the mode byte (T1 and
  C1 meters: collector modes T2-other 0x08 and C2-other 0x0E; S1: S2 0x03),
  answered by 0x84 with status 0;
* RSSI and command output switched on through ``CMD_SET_REQ`` (0x09): the
  parameter bytes 0x45 (RSSI_Enable) and 0x05 (UART_CMD_Out_Enable);
* a telegram heard: ``CMD_DATA_IND`` (0x03), payload = the telegram from its
  C-field on (CRCs removed), then one RSSI byte counted in the length.

RSSI byte to dBm (the stick's manual): the byte as a signed number, halved,
minus 74.
"""
from __future__ import annotations

__all__ = ["SOF", "CMD_DATA_IND", "CMD_SET_MODE_REQ", "CMD_SET_REQ", "RX_MODES", "checksum", "command",
           "set_mode_request", "enable_request", "indication", "Amb8465Parser", "rssi_to_dbm", "dbm_to_rssi"]

SOF = 0xFF
CMD_DATA_IND = 0x03
CMD_SET_MODE_REQ = 0x04
CMD_SET_REQ = 0x09
RX_MODES = {"t1": 0x08, "c1": 0x0E, "s1": 0x03}


def checksum(data: bytes) -> int:
    c = 0
    for b in data:
        c ^= b
    return c


def command(cmd: int, payload: bytes = b"") -> bytes:
    body = bytes((SOF, cmd, len(payload))) + payload
    return body + bytes((checksum(body),))


def set_mode_request(mode: str) -> bytes:
    return command(CMD_SET_MODE_REQ, bytes((RX_MODES[mode],)))


def enable_request(parameter: int, value: int = 1) -> bytes:
    """CMD_SET_REQ writing one byte of the volatile parameter memory (0x45 RSSI, 0x05 command output)."""
    return command(CMD_SET_REQ, bytes((parameter, 1, value)))


def indication(telegram: bytes, rssi_raw: int) -> bytes:
    return command(CMD_DATA_IND, bytes(telegram[1:]) + bytes((rssi_raw & 0xFF,)))


def rssi_to_dbm(raw: int) -> float:
    signed = raw - 256 if raw >= 128 else raw
    return signed / 2.0 - 74.0


def dbm_to_rssi(dbm: float) -> int:
    v = max(-128, min(127, round((dbm + 74.0) * 2)))
    return v & 0xFF


class Amb8465Parser:
    """``feed(bytes) -> [(cmd, payload)]``; frames with a wrong checksum are dropped (``dropped``)."""

    def __init__(self):
        self.buf = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        buf = self.buf
        out = []
        while True:
            i = buf.find(SOF)
            if i < 0:
                self.dropped += len(buf)
                buf.clear()
                break
            if i:
                self.dropped += i
                del buf[:i]
            if len(buf) < 4:
                break
            n = buf[2]
            total = 4 + n
            if len(buf) < total:
                break
            frame = bytes(buf[:total])
            if checksum(frame[:-1]) != frame[-1]:
                self.dropped += 1               # resynchronise on the next start byte
                del buf[:1]
                continue
            del buf[:total]
            out.append((frame[1], frame[3:3 + n]))
        return out
