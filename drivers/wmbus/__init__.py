"""Wireless M-Bus (EN 13757-4) and OMS: link layer, extended link layer, decoding.

Plain Python over :mod:`drivers.mbus` (the transport layer, its security and
the data records are shared with wired M-Bus); AES and CMAC come from the
``cryptography`` package. Nothing here imports ``app`` or Qt.

Decoding (:mod:`drivers.wmbus.decoder`)
    ``decode_wmbus(data, keys=None, *, crc="auto", rssi_dbm=None) -> Telegram``
    ``decode_any(data, keys=None, *, crc="auto") -> Telegram``   wired or wireless, told from the bytes
    ``keys`` is a callable ``keys(manufacturer, identification) -> bytes | None``
    (e.g. :meth:`drivers.wmbus.keys.KeyTable.keys_for` or the key store's).

Link layer (:mod:`drivers.wmbus.link`)
    ``crc16(data)``, ``strip_crcs(data, crc="auto") -> (telegram, "A"|"B"|"none")``,
    ``add_crcs(telegram, "A"|"B")``

Encoding, for tests, the simulator and benchmarks (:mod:`drivers.wmbus.encoder`)
    ``encode_wmbus(records, manufacturer=..., identification=..., security=0|5|7|"ell_ctr", key=...)``

Keys (:mod:`drivers.wmbus.keys`)
    ``parse_key_csv(text) -> KeyTable``; ``KeyTable.keys_for(manufacturer, identification)``

Errors are :class:`drivers.mbus.MBusError` (one line).
"""
from drivers.mbus.errors import MBusError

from .decoder import decode_any, decode_wmbus, is_wired_frame
from .link import add_crcs, crc16, strip_crcs

__all__ = ["MBusError", "decode_any", "decode_wmbus", "is_wired_frame", "add_crcs", "crc16", "strip_crcs"]
