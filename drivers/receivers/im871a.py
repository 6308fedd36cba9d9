"""IMST iM871A wireless M-Bus USB stick: its host controller interface (HCI) over the serial line.

Message: ``A5`` (start of frame), control/endpoint byte (high nibble: bit 1
time stamp, bit 2 RSSI, bit 3 CRC attached; low nibble: endpoint 1 device
management, 2 radio link), message id, payload length, payload, then the
attachments: time stamp (4 bytes), RSSI (1 byte), CRC (2 bytes; CRC-16 X.25,
least significant byte first, over control byte .. last attachment).

* set the link mode: device management ``SET_CONFIG_REQ`` (0x03) with the
  radio-mode parameter and RSSI attachment switched on, answered by
  ``SET_CONFIG_RSP`` (0x04);
* a telegram heard: radio link ``WMBUSMSG_IND`` (0x03), payload = the telegram
  from its C-field on (the L-field is the payload length), CRCs removed.

RSSI byte to dBm: a straight-line reading of the radio chip's RSSI curve
(raw 45 -> -100 dBm, 205 -> -20 dBm, 0.5 dB per step, capped at 0 dBm).
"""
from __future__ import annotations

__all__ = ["SOF", "DEVMGMT", "RADIOLINK", "SET_CONFIG_REQ", "SET_CONFIG_RSP", "WMBUSMSG_IND", "PING_REQ", "PING_RSP",
           "LINK_MODES", "crc_x25", "message", "set_mode_request", "Im871aParser", "rssi_to_dbm", "dbm_to_rssi",
           "indication"]

SOF = 0xA5
DEVMGMT, RADIOLINK = 0x01, 0x02
PING_REQ, PING_RSP = 0x01, 0x02
SET_CONFIG_REQ, SET_CONFIG_RSP = 0x03, 0x04
WMBUSMSG_IND = 0x03
HAS_TIME, HAS_RSSI, HAS_CRC = 0x20, 0x40, 0x80
LINK_MODES = {"s1": 0x00, "t1": 0x03, "c1": 0x07}      # S1, T1, C1 (frame formats A and B)


def _x25_table() -> list[int]:
    out = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        out.append(c)
    return out


_T = _x25_table()


def crc_x25(data: bytes) -> int:
    c = 0xFFFF
    for b in data:
        c = (c >> 8) ^ _T[(c ^ b) & 0xFF]
    return c ^ 0xFFFF


def message(endpoint: int, msg_id: int, payload: bytes = b"", *, rssi: int | None = None, crc: bool = False) -> bytes:
    ctrl = endpoint | (HAS_RSSI if rssi is not None else 0) | (HAS_CRC if crc else 0)
    body = bytes((ctrl, msg_id, len(payload))) + payload + (bytes((rssi,)) if rssi is not None else b"")
    if crc:
        body += crc_x25(body).to_bytes(2, "little")
    return bytes((SOF,)) + body


def set_mode_request(mode: str) -> bytes:
    """SET_CONFIG_REQ: not saved in flash (0), radio mode given (IIFlag1 bit 1), RSSI attachment on (IIFlag2 0x10)."""
    return message(DEVMGMT, SET_CONFIG_REQ, bytes((0x00, 0x02, LINK_MODES[mode], 0x10, 0x01)))


def indication(telegram: bytes, rssi_raw: int, crc: bool = True) -> bytes:
    """What the stick sends for a telegram heard (``telegram`` starts with its L-field, no block CRCs)."""
    return message(RADIOLINK, WMBUSMSG_IND, bytes(telegram[1:]), rssi=rssi_raw, crc=crc)


def rssi_to_dbm(raw: int) -> float:
    return 0.0 if raw >= 230 else -100.0 + 0.5 * (raw - 45)


def dbm_to_rssi(dbm: float) -> int:
    return max(0, min(230, round(45 + (dbm + 100.0) * 2)))


class Im871aParser:
    """Splits the byte stream from the stick into messages: ``feed(bytes) -> [(endpoint, msg_id, payload, rssi_raw)]``.
    Bytes before a start-of-frame and messages whose CRC is wrong are dropped (counted in ``dropped``)."""

    def __init__(self):
        self.buf = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> list[tuple[int, int, bytes, int | None]]:
        self.buf += data
        out = []
        buf = self.buf
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
            ctrl, msg_id, n = buf[1], buf[2], buf[3]
            extra = (4 if ctrl & HAS_TIME else 0) + (1 if ctrl & HAS_RSSI else 0) + (2 if ctrl & HAS_CRC else 0)
            total = 4 + n + extra
            if len(buf) < total:
                break
            frame = bytes(buf[:total])
            del buf[:total]
            if ctrl & HAS_CRC and crc_x25(frame[1:-2]) != int.from_bytes(frame[-2:], "little"):
                self.dropped += total
                continue
            rssi = None
            if ctrl & HAS_RSSI:
                rssi = frame[4 + n + (4 if ctrl & HAS_TIME else 0)]
            out.append((ctrl & 0x0F, msg_id, frame[4:4 + n], rssi))
        return out
