"""EN 62056-21 data readout over a byte line: modes A, B and C.

:func:`read_iec62056` wakes the optical port (a run of NUL characters, as the
Landis+Gyr UH50 needs), sends the request at 300 baud 7E1, reads the
identification, switches the baud rate as the protocol mode asks (mode A: stays
at 300; mode B: both switch to the baud of the identification; mode C: the
reader sends the acknowledgement/option select at 300 baud and both switch to
the baud it chose, at most the one offered), reads the data message and checks
its BCC. The data sets become records through the maker's register map
(:mod:`drivers.iec62056.landis` for LUG), all in a
:class:`~drivers.optical.readout.OpticalReadout` with every byte sent and
received kept.

Timing (EN 62056-21): the meter answers 200 ms to 1.5 s after a message
(``reaction_s`` is the 200 ms the reader itself waits before the option select);
characters of a message follow each other within 1.5 s (``gap_s``).

Faults are the typed errors of :mod:`drivers.errors`: ``NoAnswer`` (silence),
``ChecksumError`` (BCC mismatch), ``UnexpectedAnswer`` (an identification or
data message that does not parse, a protocol mode other than the one asked
for, a reserved baud character).
"""
from __future__ import annotations

import time

from drivers import errors
from drivers.iec62056 import landis
from drivers.iec62056.message import (
    BAUD_MODE_C, Iec62056Error, message_complete, option_select, parse_data_message, parse_identification,
    request_message,
)
from drivers.ops import OpProgress
from drivers.optical.line import ByteLine
from drivers.optical.readout import OpticalReadout, OpticalTelegram

PROTOCOL = "iec62056-21"
WAKEUP_NULS = 40          # Landis+Gyr UH50: 40 NUL characters before the request (sedelmaier.at, ultraheat-api)
MAX_DATA_BYTES = 16384


def _ident_line(buf: bytes, request: bytes) -> bytes | None:
    """The identification line in ``buf`` (an echoed request and NULs before it skipped)."""
    i = 0
    while True:
        s = buf.find(b"/", i)
        if s < 0:
            return None
        e = buf.find(b"\n", s)
        if e < 0:
            return None
        line = buf[s:e + 1]
        if line.startswith(request[:2]) and line.rstrip(b"\r\n").endswith(b"!"):
            i = e + 1              # our own request, echoed by the head
            continue
        return line


def read_iec62056(line: ByteLine, *, address: str = "", mode: str = "auto", max_baud: int = 19200,
                  wakeup_nuls: int = WAKEUP_NULS, reaction_s: float = 0.2, timeout_s: float = 2.0,
                  gap_s: float = 1.5, progress=None) -> OpticalReadout:
    """Read one meter's data message (see the module docstring).

    ``mode``: ``"auto"`` follows the identification; ``"A"``, ``"B"``, ``"C"``
    insist on that mode (a meter offering another one is an error).
    ``max_baud``: in mode C, the highest rate to select (the head's limit).
    """
    if mode not in ("auto", "A", "B", "C"):
        raise ValueError("mode must be auto, A, B or C")
    t0 = time.monotonic()
    tx: list[bytes] = []
    rx: list[bytes] = []
    request = request_message(address)

    def note(done: int, text: str) -> None:
        if progress:
            progress(OpProgress(done, 2, None, text))

    line.set_format(300, "7E1")
    line.flush_input()
    out = bytes(wakeup_nuls) + request
    line.write(out)
    line.drain()
    tx.append(out)
    note(0, "identification at 300 baud")
    buf = line.receive(lambda b: _ident_line(b, request) is not None, timeout_s, gap_s, 1024)
    ident_raw = _ident_line(buf, request)
    rest = b""
    if ident_raw is not None:               # what came after the identification belongs to the data message
        cut = buf.find(ident_raw) + len(ident_raw)
        buf, rest = buf[:cut], buf[cut:]
    rx.append(buf)
    if ident_raw is None:
        if not buf or not buf.strip(b"\x00"):
            raise errors.NoAnswer("no identification at 300 baud: is the optical head on the meter's eye "
                                  "(and the meter's optical port not locked)?")
        raise errors.UnexpectedAnswer(f"no identification message in {len(buf)} bytes received at 300 baud")
    try:
        ident = parse_identification(ident_raw)
    except Iec62056Error as exc:
        raise errors.UnexpectedAnswer(f"identification: {exc}") from None
    offered = "C" if ident.mode == "E" else ident.mode
    if mode != "auto" and mode != offered:
        raise errors.UnexpectedAnswer(
            f"the meter offers protocol mode {offered} (baud character {ident.baud_char!r}), not mode {mode}")
    baud = ident.baud
    if offered == "B":
        line.set_format(baud)                  # both sides switch right after the identification
    elif offered == "C":
        baud = max(b for b in BAUD_MODE_C.values() if b <= max(300, min(ident.baud, max_baud)))
        z = next(ch for ch, b in BAUD_MODE_C.items() if b == baud)
        line.pause(reaction_s)
        ack = option_select(z)
        line.write(ack)
        line.drain()
        tx.append(ack)
        line.set_format(baud)
    note(1, f"data message at {baud} baud (mode {offered})")
    need_bcc = offered != "A"
    data = rest
    if not message_complete(data):
        data += line.receive(lambda b: message_complete(rest + b), timeout_s, gap_s, MAX_DATA_BYTES)
    if offered == "A" and data and message_complete(data, expect_bcc=False) and not message_complete(data):
        # mode A may end without a BCC; give it one gap to arrive
        data += line.receive(lambda b: len(b) >= 1, gap_s, gap_s, 1)
    rx.append(data)
    if not data:
        raise errors.NoAnswer(f"identification {ident.manufacturer}{ident.baud_char}{ident.ident} received, "
                              f"but no data message at {baud} baud")
    try:
        msg = parse_data_message(data, require_bcc=need_bcc)
    except Iec62056Error as exc:
        if "BCC" in str(exc):
            raise errors.ChecksumError(f"data message: {exc}") from None
        raise errors.UnexpectedAnswer(f"data message at {baud} baud: {exc}") from None
    flag = ident.flag
    notes: list[str] = []
    if flag == "LUG":
        records, identification, notes = landis.records_from_datasets(msg.datasets)
    else:
        records, identification = landis.generic_records(msg.datasets), address or None
    tel = OpticalTelegram(PROTOCOL, msg.raw, manufacturer=flag, identification=identification,
                          model=ident.ident or None, records=records, notes=notes)
    return OpticalReadout(PROTOCOL, rx, [tel], tx_frames=tx, baud=baud, mode=ident.mode,
                          requests=len(tx), elapsed_s=time.monotonic() - t0)
