"""Wired M-Bus: EN 13757-2 link layer and EN 13757-3 application layer.

Plain Python, standard library only (no Qt, nothing from ``app``). Three layers:

Link layer (:mod:`drivers.mbus.frame`)
    ``parse_frame(data) -> Frame``           one complete frame, checked strictly
    ``extract_frame(buf) -> (frame, consumed, status)``
                                             for a receive buffer; ``status`` is
                                             ``ExtractStatus.FRAME`` / ``NEED_MORE`` /
                                             ``GARBAGE`` (collision or noise: drop
                                             ``consumed`` bytes and call again;
                                             ``result.error`` says why)
    ``short_frame(c, a)``, ``control_frame(c, a, ci)``, ``long_frame(c, a, ci, payload)``
                                             build frames with checksum
    constants: ``SND_NKE``, ``REQ_UD2``/``REQ_UD2_FCB``, ``REQ_UD1``, ``SND_UD``,
    ``RSP_UD``, ``C_FCB``/``C_FCV``/``C_ACD``/``C_DFC``, ``CI_*`` (0x72, 0x76, 0x7A,
    0x73, 0x70, 0x51, 0x52, 0x50, 0xB8..0xBF baud rates), ``ADDRESS_*``.

Application layer (:mod:`drivers.mbus.decoder`)
    ``decode(frame_bytes) -> Telegram``      link + application layer of one frame
    ``decode_frame(frame) -> Telegram``      application layer of a parsed ``Frame``
    ``parse_hex(text) -> bytes``             the hex file format of ``heatmeter decode``
    ``Telegram`` / ``Record``                slotted dataclasses; ``.to_json()`` gives
                                             the objects of the decode JSON contract;
                                             ``.raw`` keeps the bytes (telegram and record)

Encoder (:mod:`drivers.mbus.encoder`), for tests and the bus simulator
    ``RecordSpec(...)``, ``encode_record(spec) -> bytes``
    ``encode_rsp_ud(records, identification=..., manufacturer="KAM", ...) -> bytes``
    ``encode_application_error(code, address=...)``, ``encode_selection("1234FFFF", manufacturer=None, ...)``
    ``manufacturer_code_to_int("KAM")`` / ``manufacturer_int_to_code(0x2C2D)``
    (import from ``drivers.mbus.encoder``; decoding never loads it)

Every error about bytes is an :class:`MBusError` (a ``ValueError``) whose message
is one line naming the fault and the byte offset (``err.offset``).

Example::

    from drivers.mbus import decode, parse_hex
    t = decode(parse_hex("68 03 03 68 08 01 70 79 16"))
    t.application_error            # 'unspecified_error'
"""
from .errors import MBusError
from .frame import (
    ACK, ADDRESS_BROADCAST, ADDRESS_SECONDARY, ADDRESS_TEST, ADDRESS_UNCONFIGURED, BAUD_RATES,
    C_ACD, C_DFC, C_FCB, C_FCV, C_PRM, CI_ALARM_STATUS, CI_APPLICATION_ERROR, CI_APPLICATION_RESET,
    CI_BAUD_300, CI_BAUD_600, CI_BAUD_1200, CI_BAUD_2400, CI_BAUD_4800, CI_BAUD_9600, CI_BAUD_19200,
    CI_BAUD_38400, CI_DATA_SEND, CI_DATA_SEND_MSB, CI_RESP_FIXED, CI_RESP_FIXED_MSB, CI_RESP_NO_HEADER,
    CI_RESP_SHORT_HEADER, CI_RESP_VARIABLE, CI_RESP_VARIABLE_MSB, CI_SELECT_SLAVE, CI_SELECT_SLAVE_MSB,
    REQ_UD1, REQ_UD1_FCB, REQ_UD2, REQ_UD2_FCB, RSP_UD, RSP_UD_VALUES, SND_NKE, SND_UD, SND_UD_FCB,
    ExtractStatus, Extraction, Frame, FrameType, ack_frame, c_field_name, checksum, control_frame,
    extract_frame, long_frame, parse_frame, short_frame,
)
from .decoder import Record, Telegram, decode, decode_frame, parse_hex
from .tables import manufacturer_code_to_int, manufacturer_int_to_code, medium_name, status_words

__all__ = [
    "MBusError",
    # link layer
    "Frame", "FrameType", "ExtractStatus", "Extraction", "parse_frame", "extract_frame",
    "ack_frame", "short_frame", "control_frame", "long_frame", "checksum", "c_field_name",
    "ACK", "SND_NKE", "SND_UD", "SND_UD_FCB", "REQ_UD2", "REQ_UD2_FCB", "REQ_UD1", "REQ_UD1_FCB",
    "RSP_UD", "RSP_UD_VALUES", "C_PRM", "C_FCB", "C_FCV", "C_ACD", "C_DFC",
    "ADDRESS_UNCONFIGURED", "ADDRESS_SECONDARY", "ADDRESS_TEST", "ADDRESS_BROADCAST",
    "CI_APPLICATION_RESET", "CI_DATA_SEND", "CI_DATA_SEND_MSB", "CI_SELECT_SLAVE", "CI_SELECT_SLAVE_MSB",
    "CI_APPLICATION_ERROR", "CI_ALARM_STATUS", "CI_RESP_VARIABLE", "CI_RESP_VARIABLE_MSB",
    "CI_RESP_FIXED", "CI_RESP_FIXED_MSB", "CI_RESP_NO_HEADER", "CI_RESP_SHORT_HEADER",
    "CI_BAUD_300", "CI_BAUD_600", "CI_BAUD_1200", "CI_BAUD_2400", "CI_BAUD_4800", "CI_BAUD_9600",
    "CI_BAUD_19200", "CI_BAUD_38400", "BAUD_RATES",
    # application layer
    "Telegram", "Record", "decode", "decode_frame", "parse_hex",
    "manufacturer_code_to_int", "manufacturer_int_to_code", "medium_name", "status_words",
]
