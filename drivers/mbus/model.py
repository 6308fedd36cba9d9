"""Decoded telegrams: the :class:`Telegram` and :class:`Record` data classes.

``to_json()`` gives the objects of the decode JSON contract (docs/decoder.md,
docs/wireless.md). Filled in by :mod:`drivers.mbus.decoder` (wired frames) and
:mod:`drivers.wmbus.decoder` (wireless telegrams).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .tables import APPLICATION_STATUS, status_words

__all__ = ["Record", "Telegram", "WMBusLink"]

# ---------------------------------------------------------------------------
# data classes

@dataclass(slots=True)
class Record:
    """One data record (DIB + VIB + data).

    ``value`` is in the canonical ``unit`` (see docs/decoder.md): ``int`` or
    ``float`` for numbers, ISO 8601 ``str`` for dates, ``str`` for BCD/text
    identifiers, ``None`` where the data carries no usable value (then
    ``flags`` says why, unless the data field is simply empty).
    ``raw`` holds the record's bytes; ``vib_offset``/``data_offset`` index into it.
    """
    storage: int
    tariff: int
    subunit: int
    function: str
    quantity: str
    unit: str
    value: object
    raw: bytes
    vib_offset: int = 0
    data_offset: int = 0
    modifiers: tuple = ()
    flags: tuple = ()
    subject: str | None = None
    record_error: str | None = None
    action: str | None = None

    @property
    def dif(self) -> int | None:
        return self.raw[0] if self.vib_offset else None

    @property
    def dib(self) -> bytes:
        return self.raw[:self.vib_offset]

    @property
    def vib(self) -> bytes:
        return self.raw[self.vib_offset:self.data_offset]

    @property
    def data(self) -> bytes:
        """The data field (for variable length data, starting with the LVAR byte)."""
        return self.raw[self.data_offset:]

    def to_json(self) -> dict:
        """The contract's record object (plus extra keys only where they say something)."""
        d = {"storage": self.storage, "tariff": self.tariff, "subunit": self.subunit,
             "function": self.function, "quantity": self.quantity, "unit": self.unit,
             "value": self.value, "raw": self.raw.hex().upper()}
        if self.modifiers:
            d["modifiers"] = list(self.modifiers)
        if self.subject is not None:
            d["subject"] = self.subject
        if self.flags:
            d["flags"] = list(self.flags)
        if self.record_error is not None:
            d["record_error"] = self.record_error
        if self.action is not None:
            d["action"] = self.action
        return d


@dataclass(slots=True)
class WMBusLink:
    """The link-layer address of a wireless telegram (EN 13757-4 DLL).

    It names the radio part that sent the telegram, which can differ from the
    meter named in a long transport-layer header (radio converters, repeaters).
    """
    c_field: int
    manufacturer: str
    identification: str
    version: int
    device_type: int

    def to_json(self) -> dict:
        from .tables import medium_name
        return {"kind": "wmbus", "c_field": self.c_field, "manufacturer": self.manufacturer,
                "identification": self.identification, "version": self.version,
                "device_type": self.device_type, "medium": medium_name(self.device_type)}


@dataclass(slots=True)
class Telegram:
    """A decoded frame. Fields that the frame does not carry are ``None``.

    ``header`` says which application header was present: ``"long"`` (12 bytes,
    CI 0x72/0x76), ``"short"`` (4 bytes, CI 0x7A), ``"none"`` (CI 0x51/0x78),
    ``"fixed"`` (CI 0x73/0x77) or ``None`` (no data structure).

    Security (EN 13757-7 / OMS): ``security_mode`` is the mode from the
    configuration field (``None`` when the frame has none), ``"ell_ctr"`` for
    AES-CTR in the extended link layer; ``decrypted`` is true when the data was
    encrypted and has been decrypted; ``security_reason`` says why the records
    are withheld (``"no key"``, ``"mode 13 not supported"``): then ``records``
    is empty and never holds values made of ciphertext. ``plaintext`` keeps the
    decrypted application data.

    Wireless telegrams (``frame_type == "wmbus"``) also carry ``link`` (the
    link-layer address), ``frame_format`` (``"A"``, ``"B"`` or ``"none"``: how
    the block CRCs were present), ``ell``/``afl`` (extended link layer and
    authentication layer fields) and, when a receiver measured it, ``rssi_dbm``.
    """
    frame_type: str
    raw: bytes
    c_field: int | None = None
    address: int | None = None
    ci_field: int | None = None
    header: str | None = None
    manufacturer: str | None = None
    identification: str | None = None
    version: int | None = None
    medium_code: int | None = None
    medium: str | None = None
    access_number: int | None = None
    status: int | None = None
    signature: int | None = None
    records: list = field(default_factory=list)
    manufacturer_data: bytes = b""
    more_records_follow: bool = False
    application_error_code: int | None = None
    application_error: str | None = None
    alarm_status: int | None = None
    baud_rate: int | None = None
    extra_data: bytes = b""
    security_mode: int | str | None = None
    decrypted: bool = False
    security_reason: str | None = None
    security_note: str | None = None
    plaintext: bytes = b""
    link: WMBusLink | None = None
    frame_format: str | None = None
    ell: dict | None = None
    afl: dict | None = None
    rssi_dbm: float | None = None

    @property
    def status_flags(self) -> list[str]:
        """The status byte in words (``[]`` when all is well or there is no status)."""
        if self.status is None:
            return []
        if self.header == "fixed":
            return _fixed_status_words(self.status)
        return status_words(self.status)

    @property
    def has_data_structure(self) -> bool:
        return self.header is not None

    @property
    def lists_records(self) -> bool:
        """True when the JSON object carries a ``records`` list (possibly withheld: empty)."""
        return self.header is not None or self.security_reason is not None

    @property
    def encryption(self) -> dict:
        """The contract's ``encryption`` object."""
        d: dict = {"mode": 0 if self.security_mode is None else self.security_mode, "decrypted": self.decrypted}
        if self.security_reason is not None:
            d["reason"] = self.security_reason
        if self.security_note is not None:
            d["note"] = self.security_note
        return d

    def to_json(self) -> dict:
        """The contract's ``telegram`` object, with extra keys where the frame says more."""
        d = self.header_json()
        if self.lists_records:
            d["records"] = [r.to_json() for r in self.records]
        return d

    def header_json(self) -> dict:
        """``to_json()`` without the ``records`` list (for writers that serialise records themselves)."""
        d: dict = {"frame_type": self.frame_type}
        if self.frame_type == "ack":
            return d
        d["c_field"] = self.c_field
        if self.link is None:
            d["address"] = self.address
        if self.ci_field is not None:
            d["ci_field"] = self.ci_field
        if self.manufacturer is not None:
            d["manufacturer"] = self.manufacturer
        if self.identification is not None:
            d["identification"] = self.identification
        if self.version is not None:
            d["version"] = self.version
        if self.medium_code is not None:
            d["medium_code"] = self.medium_code
            d["medium"] = self.medium
        if self.access_number is not None:
            d["access_number"] = self.access_number
        if self.status is not None:
            d["status"] = self.status
            d["status_flags"] = self.status_flags
        if self.signature is not None:
            d["signature"] = self.signature
        if self.header is not None:
            d["header"] = self.header
            d["manufacturer_data"] = self.manufacturer_data.hex().upper()
            d["more_records_follow"] = self.more_records_follow
        if self.application_error is not None:
            d["application_error_code"] = self.application_error_code
            d["application_error"] = self.application_error
        if self.alarm_status is not None:
            d["alarm_status"] = self.alarm_status
        if self.baud_rate is not None:
            d["baud_rate"] = self.baud_rate
        if self.extra_data:
            d["extra_data"] = self.extra_data.hex().upper()
        if self.ci_field is not None:
            d["encryption"] = self.encryption
        if self.link is not None:
            d["link"] = self.link.to_json()
            d["frame_format"] = self.frame_format
        if self.ell is not None:
            d["ell"] = self.ell
        if self.afl is not None:
            d["afl"] = self.afl
        if self.rssi_dbm is not None:
            d["rssi_dbm"] = self.rssi_dbm
        return d


def _fixed_status_words(status: int) -> list[str]:
    words = []
    app = APPLICATION_STATUS[status & 0x03]
    if app:
        words.append(app)
    for bit, word in ((0x04, "power_low"), (0x08, "permanent_error"), (0x10, "temporary_error"),
                      (0x20, "manufacturer_specific_5"), (0x40, "stored_values"), (0x80, "binary_counters")):
        if status & bit:
            words.append(word)
    return words

