"""Thin adapter between the bus stack and the M-Bus package (:mod:`drivers.mbus`).

Frames are built, parsed, decoded and encoded by :mod:`drivers.mbus`; this
module only names what the link layer, the transports and the simulator need
from it (C fields with FCB, answer classification for collision detection)
so that they do not depend on its internal module layout.
"""
from __future__ import annotations

from dataclasses import dataclass

from drivers import errors
from drivers.mbus import frame as _fr

ACK = bytes([_fr.ACK])
C_SND_NKE = _fr.SND_NKE
CI_SELECT = _fr.CI_SELECT_SLAVE
CI_APPLICATION_RESET = _fr.CI_APPLICATION_RESET
CI_DATA_SEND = _fr.CI_DATA_SEND
CI_BY_BAUD = {b: ci for ci, b in _fr.BAUD_RATES.items()}

short_frame = _fr.short_frame
control_frame = _fr.control_frame
long_frame = _fr.long_frame


def c_req_ud2(fcb: bool) -> int:
    return _fr.REQ_UD2_FCB if fcb else _fr.REQ_UD2


def c_req_ud1(fcb: bool) -> int:
    return _fr.REQ_UD1_FCB if fcb else _fr.REQ_UD1


def c_snd_ud(fcb: bool) -> int:
    return _fr.SND_UD_FCB if fcb else _fr.SND_UD


def selection_frame(mask) -> bytes:
    """SND_UD to 253 with CI 0x52 for a :class:`drivers.address.SecondaryMask` (the package's builder)."""
    from drivers.address import WILD_BYTE, WILD_MAN, manufacturer_name
    from drivers.mbus.encoder import encode_selection

    return encode_selection(mask.digits, None if mask.manufacturer == WILD_MAN else manufacturer_name(mask.manufacturer),
                            None if mask.version == WILD_BYTE else mask.version,
                            None if mask.medium == WILD_BYTE else mask.medium, c_field=_fr.SND_UD_FCB)


def frame_status(buf: bytes):
    """``"need"`` (a frame has begun: wait for more), an int (a complete valid frame of that
    length starts ``buf``) or ``"garbage"`` (``buf`` does not start with a valid frame)."""
    ex = _fr.extract_frame(buf)
    if ex.status == _fr.ExtractStatus.FRAME:
        return ex.consumed
    if ex.status == _fr.ExtractStatus.NEED_MORE:
        return "need"
    return "garbage"


@dataclass(frozen=True)
class LinkFrame:
    kind: str            # ack, short, control, long
    c_field: int
    address: int
    ci: int | None
    payload: bytes
    raw: bytes


def parse_link_frame(data: bytes) -> LinkFrame:
    f = _fr.parse_frame(data)
    return LinkFrame(f.type.value, f.c if f.c is not None else 0, f.a if f.a is not None else 0, f.ci,
                     bytes(f.data), bytes(f.raw))


@dataclass(frozen=True)
class Answer:
    kind: str            # ack, short, control, long
    data: bytes          # the whole frame

    @property
    def is_ack(self) -> bool:
        return self.kind == "ack"


def classify_answer(raw: bytes) -> Answer:
    """One clean frame, or a typed error: NoAnswer, ChecksumError (one damaged frame), Collision."""
    if not raw:
        raise errors.NoAnswer("no answer")
    ex = _fr.extract_frame(raw)
    if ex.status == _fr.ExtractStatus.FRAME:
        if ex.consumed == len(raw):
            return Answer(ex.frame.type.value, bytes(ex.frame.raw))
        raise errors.Collision(f"several slaves answered at once ({len(raw) - ex.consumed} more bytes after "
                               f"a clean {ex.frame.type.value} frame)")
    if ex.status == _fr.ExtractStatus.NEED_MORE:
        raise errors.ChecksumError(f"answer truncated after {len(raw)} bytes")
    msg = ex.error or "garbled answer"
    if msg.startswith("checksum mismatch") or msg.startswith("bad stop byte"):
        # a whole frame whose length fields held: one slave, damaged on the line
        total = raw[1] + 6 if raw[0] == _fr.START_LONG and len(raw) > 1 else 5
        if len(raw) == total:
            raise errors.ChecksumError(msg)
    raise errors.Collision(f"garbled answer, several slaves answering at once? ({msg})")


def is_single_ack(raw: bytes) -> bool:
    return raw == ACK


def decode(frame: bytes, keys=None):
    """The decoded telegram of an RSP_UD frame (the decoder package's Telegram).

    ``keys``: the decoders' key lookup ``keys(manufacturer, identification) -> bytes | None`` for
    encrypted telegrams (without it, or without the meter's key, an encrypted telegram keeps its
    header and no records). A key that does not decrypt the telegram is :class:`errors.WrongKey`;
    an error of the lookup itself (a locked key store) comes through as it is."""
    from drivers.mbus import decode as _decode
    from drivers.mbus.errors import MBusError, WrongKey
    try:
        return _decode(frame) if keys is None else _decode(frame, keys)
    except WrongKey as exc:
        raise errors.WrongKey(str(exc), identification=exc.identification) from None
    except MBusError as exc:  # one line saying what is wrong
        raise errors.UnexpectedAnswer(f"undecodable answer: {exc}") from None


def encode_rsp_ud(*, address: int, identification: str, manufacturer: str, version: int, medium: int,
                  access_number: int, status: int, records: list, more_records_follow: bool,
                  security: int = 0, key: bytes | None = None) -> bytes:
    """An RSP_UD long frame, encoded by :mod:`drivers.mbus.encoder` (records: simulator ``Rec``);
    ``security=5`` and ``key``: the records encrypted in security mode 5."""
    from drivers.mbus.encoder import RecordSpec, encode_rsp_ud as _encode

    specs = []
    for r in records:
        data_type = {"date": "G", "datetime": "F"}.get(r.coding, r.coding)
        if r.vif == 0xFF:
            # manufacturer-specific record: VIF 0xFF and its VIFEs as given, the value unscaled
            specs.append(RecordSpec("manufacturer_specific", r.value, data_type=data_type, storage=r.storage,
                                    tariff=r.tariff, subunit=r.subunit, function=r.function,
                                    vif=bytes((0xFF, *r.vife))))
        elif r.modifiers:
            # let the encoder pick the VIF and add the VIFE for the modifier (e.g. a cooling register)
            specs.append(RecordSpec(r.quantity, r.value, unit=r.unit or None, data_type=data_type,
                                    storage=r.storage, tariff=r.tariff, subunit=r.subunit, function=r.function,
                                    modifiers=tuple(r.modifiers), scale=r.scale))
        else:
            specs.append(RecordSpec(r.quantity, r.value, unit=r.unit or None, data_type=data_type,
                                    storage=r.storage, tariff=r.tariff, subunit=r.subunit, function=r.function,
                                    scale=r.step))
    return _encode(specs, address=address, identification=identification, manufacturer=manufacturer,
                   version=version, medium=medium, access_number=access_number, status=status,
                   more_records_follow=more_records_follow, security=security, key=key)
