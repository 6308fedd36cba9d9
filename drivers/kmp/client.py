"""Reading a Kamstrup MULTICAL through its optical eye with KMP.

:func:`read_kmp` sets the line to 1200 baud 8N2 (the optical eye's rate in
PyKMP and PyKamstrup), asks GetType (CID 0x01) and GetSerialNo (CID 0x02), then
GetRegister (CID 0x10) for the readout registers, at most 8 per request, and
returns an :class:`~drivers.optical.readout.OpticalReadout` of decoder records.
Each request is retried ``retries`` times on silence or a damaged answer (a
head that echoes the request is handled: the echo is dropped).

Faults: ``NoAnswer`` (silence: the eye needs the head's magnet, and older
meters a key press), ``ChecksumError`` (CRC mismatch or broken stuffing),
``UnexpectedAnswer`` (an answer to another command or register).
"""
from __future__ import annotations

import time

from drivers import errors
from drivers.kmp import frame, registers
from drivers.ops import OpProgress
from drivers.optical.line import ByteLine
from drivers.optical.readout import OpticalReadout, OpticalTelegram

PROTOCOL = "kmp"
BAUD = 1200
FORMAT = "8N2"


class KmpSession:
    """Request/answer over a line, keeping every byte sent and received."""

    def __init__(self, line: ByteLine, *, address: int = frame.ADDRESS_HEAT_METER, retries: int = 2,
                 timeout_s: float = 1.5, gap_s: float = 0.2):
        self.line = line
        self.address = address
        self.retries = retries
        self.timeout_s = timeout_s
        self.gap_s = gap_s
        self.tx: list[bytes] = []
        self.rx: list[bytes] = []

    def exchange(self, request: bytes, cid: int, what: str) -> frame.Message:
        last: errors.LinkError | None = None
        for _ in range(1 + self.retries):
            self.line.flush_input()
            self.line.write(request)
            self.line.drain()
            self.tx.append(request)
            buf = self.line.receive(lambda b: frame.message_complete(_strip_echo(b, request)), self.timeout_s,
                                    self.gap_s, 4096)
            self.rx.append(buf)
            buf = _strip_echo(buf, request)
            if not buf:
                last = errors.NoAnswer(f"{what}: no answer from the meter's optical eye")
                continue
            s = buf.find(bytes((frame.START_FROM_METER,)))
            e = buf.find(bytes((frame.STOP,)), s + 1) if s >= 0 else -1
            if s < 0 or e < 0:
                last = errors.ChecksumError(f"{what}: incomplete answer ({len(buf)} bytes)")
                continue
            try:
                msg = frame.decode(buf[s:e + 1])
            except frame.KmpError as exc:
                last = errors.ChecksumError(f"{what}: {exc}")
                continue
            if msg.cid != cid or msg.address != self.address:
                raise errors.UnexpectedAnswer(f"{what}: answer to CID 0x{msg.cid:02X} from address "
                                              f"0x{msg.address:02X}")
            return msg
        assert last is not None
        raise last

    def get_type(self) -> tuple[int, int]:
        msg = self.exchange(frame.encode(frame.CID_GET_TYPE, address=self.address), frame.CID_GET_TYPE, "GetType")
        if len(msg.data) < 4:
            raise errors.UnexpectedAnswer(f"GetType: {len(msg.data)} data bytes, 4 expected")
        return msg.data[0] << 8 | msg.data[1], msg.data[2] << 8 | msg.data[3]

    def get_serial(self) -> int:
        msg = self.exchange(frame.encode(frame.CID_GET_SERIAL, address=self.address), frame.CID_GET_SERIAL,
                            "GetSerialNo")
        if len(msg.data) != 4:
            raise errors.UnexpectedAnswer(f"GetSerialNo: {len(msg.data)} data bytes, 4 expected")
        return int.from_bytes(msg.data, "big")

    def get_registers(self, rids: list[int]) -> list[frame.RegisterValue]:
        out: list[frame.RegisterValue] = []
        for i in range(0, len(rids), frame.MAX_REGISTERS):
            chunk = list(rids[i:i + frame.MAX_REGISTERS])
            req = frame.get_register_request(chunk, address=self.address)
            msg = self.exchange(req, frame.CID_GET_REGISTER, f"GetRegister {', '.join(map(str, chunk))}")
            try:
                values = frame.parse_registers(msg.data)
            except frame.KmpError as exc:
                raise errors.UnexpectedAnswer(f"GetRegister: {exc}") from None
            unasked = [v.register for v in values if v.register not in chunk]
            if unasked:
                raise errors.UnexpectedAnswer(f"GetRegister: the meter answered registers {unasked} not asked for")
            out.extend(values)
        return out


def _strip_echo(buf: bytes, request: bytes) -> bytes:
    return buf[len(request):] if buf.startswith(request) else buf


def read_kmp(line: ByteLine, *, registers_: tuple = registers.READOUT, address: int = frame.ADDRESS_HEAT_METER,
             retries: int = 2, timeout_s: float = 1.5, progress=None) -> OpticalReadout:
    """Read a MULTICAL: type, serial number and the readout registers (see the module docstring)."""
    t0 = time.monotonic()
    line.set_format(BAUD, FORMAT)
    s = KmpSession(line, address=address, retries=retries, timeout_s=timeout_s)
    steps = 2 + -(-len(registers_) // frame.MAX_REGISTERS)

    def note(done: int, text: str) -> None:
        if progress:
            progress(OpProgress(done, steps, None, text))

    note(0, "GetType")
    mtype, sw = s.get_type()
    note(1, "GetSerialNo")
    serial = s.get_serial()
    note(2, "GetRegister")
    values = s.get_registers(list(registers_))
    recs = registers.to_records(values)
    ident = f"{serial:08d}" if serial < 10 ** 8 else str(serial)
    tel = OpticalTelegram(PROTOCOL, b"".join(s.rx), manufacturer="KAM", identification=ident,
                          model=f"type 0x{mtype:04X}", records=recs,
                          notes=[f"meter type 0x{mtype:04X}, software revision 0x{sw:04X}"])
    return OpticalReadout(PROTOCOL, list(s.rx), [tel], tx_frames=list(s.tx), baud=BAUD,
                          requests=len(s.tx), elapsed_s=time.monotonic() - t0)
