"""Kamstrup Meter Protocol (KMP) through the optical eye of a MULTICAL.

* :mod:`.frame` - stuffing, CRC-16 CCITT, message encode/decode, the number
  format, GetRegister blocks; errors are :class:`KmpError` (a ValueError);
* :mod:`.registers` - register ids, unit codes, register -> decoder record;
* :mod:`.client` - :func:`read_kmp` over a :class:`drivers.optical.line.ByteLine`.
"""
from drivers.kmp.frame import (
    KmpError, Message, RegisterValue, crc16, decode, decode_number, encode, encode_number, parse_registers, stuff,
    unstuff,
)

__all__ = ["KmpError", "Message", "RegisterValue", "crc16", "decode", "decode_number", "encode", "encode_number",
           "parse_registers", "stuff", "unstuff"]
