"""One telegram as received, decoded into what the Radio page and the survey need (no Qt, any thread).

:func:`reception` decodes a :class:`drivers.receivers.Heard` with the key lookup and keeps the plain
facts: who sent it (the meter's FLAG code and identification, from the long transport header when there
is one, else the link layer), when, how strong, in which mode, whether it was encrypted and decrypted,
and a few current values. The raw bytes stay, so a telegram can be decoded again in full when someone
looks at it. A telegram that does not decode is kept too (``status`` "error"), named after its link
address when that much can be read.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

__all__ = ["Reception", "reception", "STATUS_WORDS", "decode_again", "summary_values"]

#: ``Reception.status`` in words (Radio page, survey report).
STATUS_WORDS = {"plain": "not encrypted", "decrypted": "decrypted", "no key": "no key", "wrong key": "wrong key",
                "unsupported": "not supported", "error": "error"}

# current values worth a glance, in this order
_GLANCE = ("energy", "volume", "power", "volume_flow", "flow_temperature", "return_temperature")


@dataclass(frozen=True, slots=True)
class Reception:
    received_at: _dt.datetime           # UTC, on the receiver's clock
    raw: bytes                          # the telegram as received (L-field first)
    crc: str                            # "A", "B" or "none": block CRCs in ``raw``
    rssi_dbm: float | None
    rssi_raw: int | None
    mode: str | None                    # t1, c1, s1
    meter: str | None                   # "KAM 12345678": the meter's FLAG code and identification
    manufacturer: str | None
    identification: str | None
    version: int | None
    medium: str | None
    security: int | str | None          # security mode (0, 5, 7, "ell_ctr", 13 ...), None: not known
    status: str                         # plain, decrypted, no key, wrong key, unsupported, error
    detail: str = ""                    # the reason or the error, one line
    values: tuple = ()                  # ((quantity, value, unit), ...) current values at a glance
    link: str | None = None             # the link-layer address when it differs (a radio converter)

    @property
    def ok(self) -> bool:
        return self.status != "error"


def summary_values(records) -> tuple:
    """(quantity, value, unit) of the first current (storage 0) record of each glance quantity."""
    seen: dict[str, tuple] = {}
    for r in records:
        q = r.quantity
        if q in _GLANCE and q not in seen and not r.storage and not r.tariff and r.value is not None \
                and not isinstance(r.value, (bytes, str)):
            seen[q] = (q, r.value, r.unit)
    return tuple(seen[q] for q in _GLANCE if q in seen)


def _status(t) -> tuple[str, str]:
    mode = t.security_mode
    if t.security_reason:
        reason = t.security_reason
        return ("no key" if reason == "no key" else "unsupported"), reason
    if mode in (None, 0):
        return "plain", ""
    return "decrypted", ""


def reception(heard, keys=None) -> Reception:
    """Decode ``heard`` (a :class:`drivers.receivers.Heard`) with the key lookup ``keys``."""
    from drivers.mbus.errors import MBusError, WrongKey
    from drivers.wmbus import decode_wmbus

    base = dict(received_at=heard.received_at, raw=bytes(heard.telegram), crc=heard.crc, rssi_dbm=heard.rssi_dbm,
                rssi_raw=heard.rssi_raw, mode=heard.mode)
    try:
        t = decode_wmbus(heard.telegram, keys, crc=heard.crc, rssi_dbm=heard.rssi_dbm)
    except MBusError as exc:
        man, ident, ver, medium = _link_of(heard)
        status = "wrong key" if isinstance(exc, WrongKey) else "error"
        return Reception(**base, meter=f"{man} {ident}" if ident else None, manufacturer=man,
                         identification=ident, version=ver, medium=medium, security=None, status=status,
                         detail=" ".join(str(exc).split()))
    status, detail = _status(t)
    link = t.link
    link_name = f"{link.manufacturer} {link.identification}" if link is not None else None
    name = f"{t.manufacturer} {t.identification}"
    return Reception(**base, meter=name, manufacturer=t.manufacturer, identification=t.identification,
                     version=t.version, medium=t.medium, security=t.security_mode, status=status, detail=detail,
                     values=summary_values(t.records), link=link_name if link_name != name else None)


def _link_of(heard) -> tuple:
    """(FLAG, identification, version, medium) of the link layer of an undecodable telegram, or Nones."""
    from drivers.mbus.tables import medium_name
    from drivers.wmbus.link import parse_link, strip_crcs

    data = bytes(heard.telegram)
    try:
        frame, _fmt = strip_crcs(data, heard.crc)
    except Exception:  # noqa: BLE001 - a CRC error: the link header still comes first
        frame = data
    try:
        if len(frame) < 11:
            raise ValueError("too short")
        h = parse_link(frame)
        ident = h.identification
        if not ident.isdigit():
            raise ValueError("not an identification")
        return h.manufacturer, ident, h.version, medium_name(h.device_type)
    except Exception:  # noqa: BLE001 - too broken to name: kept without a meter
        return None, None, None, None


def decode_again(rec: Reception, keys=None):
    """The full decoded telegram (``drivers.mbus.model.Telegram``) of a reception, or the one-line error."""
    from drivers.mbus.errors import MBusError
    from drivers.wmbus import decode_wmbus

    try:
        return decode_wmbus(rec.raw, keys, crc=rec.crc, rssi_dbm=rec.rssi_dbm), None
    except MBusError as exc:
        return None, " ".join(str(exc).split())
