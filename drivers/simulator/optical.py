"""Optical ports of simulated meters: EN 62056-21 (Landis+Gyr UH50/T550) and KMP (Kamstrup MULTICAL).

A meter whose configuration has ``"optical": {...}`` can be served on its optical
port (``SimServer(optical_meter=...)``, ``build_server(optical=...)``): one meter,
point to point, on a pseudo-terminal or TCP. What the port understands:

``"protocol": "iec62056-21"`` (a UH50)
    a run of at least ``wake_nuls`` NUL characters, then ``/?!`` or ``/?ADDRESS!``
    at 300 baud: the identification ``/LUG<Z>UH50`` at 300 baud, then the data
    message (mode A: at 300 baud; mode B: at the announced baud once the reader has
    switched; mode C: after the reader's acknowledgement/option select, at the
    baud it chose). After a NUL wake-up of at least ``mbus_wake_ms`` at 2400 baud
    the port speaks M-Bus instead (the meter's usual telegrams), as the real UH50.
``"protocol": "kmp"`` (a MULTICAL)
    KMP requests at 1200 baud: GetType, GetSerialNo, GetRegister (up to 8
    registers), every message stuffed and CRC-checked as the real meter does.

Options for tests: ``mode`` (A/B/C), ``baud_char`` (override the announced
character, e.g. a reserved one), ``data_baud`` (talk at another rate than the
one announced), ``corrupt_bcc``, ``corrupt_crc``, ``energy_unit`` (GJ, MWh,
kWh), ``address`` (the EN 62056-21 device address; default: the identification).

Bytes sent at a baud rate other than the reader's arrive garbled, as on a real
UART: a reader that does not switch (or switches to the wrong rate) gets garbage.
Registers and the monthly history come from the meter (stable between reads).
"""
from __future__ import annotations

import math
import select
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Callable

from drivers import framing
from drivers.iec62056 import message as iec
from drivers.kmp import frame as kmp

if TYPE_CHECKING:  # pragma: no cover
    from drivers.simulator.meter import SimMeter

PROTOCOLS = ("iec62056-21", "kmp")
_KEYS = {"protocol", "mode", "baud", "baud_char", "data_baud", "corrupt_bcc", "corrupt_crc", "energy_unit",
         "address", "flag", "ident", "wake_nuls", "mbus_wake_ms", "meter_type"}
SWITCH_WAIT_S = 1.5          # EN 62056-21: the longest reaction time; a reader that has not switched by then is late


def check_optical(cfg: dict) -> None:
    """Validate a meter's ``optical`` configuration (ValueError with what is wrong)."""
    if not isinstance(cfg, dict):
        raise ValueError("optical must be an object")
    unknown = set(cfg) - _KEYS
    if unknown:
        raise ValueError(f"unknown optical keys: {', '.join(sorted(unknown))}")
    if cfg.get("protocol") not in PROTOCOLS:
        raise ValueError(f"optical.protocol must be one of {', '.join(PROTOCOLS)}")
    if cfg.get("mode", "B") not in ("A", "B", "C"):
        raise ValueError("optical.mode must be A, B or C")
    if cfg.get("energy_unit", "GJ") not in ("GJ", "MWh", "kWh"):
        raise ValueError("optical.energy_unit must be GJ, MWh or kWh")
    bc = cfg.get("baud_char")
    if bc is not None and (not isinstance(bc, str) or len(bc) != 1):
        raise ValueError("optical.baud_char must be one character")


def garble(data: bytes, sent_baud: int, line_baud: int) -> bytes:
    """What a UART at ``line_baud`` makes of characters sent at ``sent_baud``: framing garbage."""
    n = max(1, len(data) * line_baud // max(sent_baud, 1)) if line_baud < sent_baud else len(data) * 2
    return bytes(((b * 37 + i * 11) & 0x7F) | 0x80 for i, b in enumerate((data * 3)[:n]))


@dataclass
class Out:
    data: bytes
    baud: int
    wait_switch: bool = False      # wait (up to 1.5 s) for the reader to switch to ``baud`` first


def _at(baud: int | None, want: int) -> bool:
    return baud is None or baud == want


def _trunc(value: float, decimals: int) -> float:
    f = 10 ** decimals
    return math.floor(value * f + 1e-9) / f


class OpticalPort:
    """The protocol state of one optical port (one reader connection)."""

    def __init__(self, meter: "SimMeter", now: Callable[[], float]):
        self.meter = meter
        self.cfg = dict(meter.cfg.optical or {})
        self.protocol = self.cfg.get("protocol")
        self.now = now
        self.buf = bytearray()
        self.run_byte: int | None = None
        self.run_len = 0
        self.await_ack: int | None = None        # mode C: the baud offered, waiting for the option select
        self.mbus_awake_until = -1.0             # M-Bus mode after a NUL wake-up (sim seconds)
        self.maxima: dict[str, float] = {}
        self.log: list[tuple[str, bytes]] = []

    # --- EN 62056-21 -------------------------------------------------------------
    def _mode(self) -> str:
        return self.cfg.get("mode", "B")

    def _offer(self) -> tuple[str, int]:
        mode = self._mode()
        baud = int(self.cfg.get("baud", 2400 if mode != "A" else 300))
        if mode == "A":
            return self.cfg.get("baud_char", "K"), 300
        ch = iec.baud_char_for(baud, mode)
        return self.cfg.get("baud_char", ch), baud

    def _data(self) -> bytes:
        msg = iec.data_message(self.uh50_block())
        if self.cfg.get("corrupt_bcc"):
            msg = msg[:-1] + bytes([msg[-1] ^ 0x21])
        return msg

    def uh50_block(self) -> str:
        """The data block of a UH50/T550 readout from the meter's registers (format of the captured readouts)."""
        m = self.meter
        now_s = self.now()
        m.advance(now_s)
        s = m.state
        clock = m.clock(now_s)
        ident = m.cfg.identification
        addr = self.cfg.get("address", ident)
        unit = self.cfg.get("energy_unit", "GJ")

        def energy(wh: float) -> str:
            if unit == "kWh":
                return f"{int(wh // 1000):07d}*kWh"
            v = wh / 1e6 if unit == "MWh" else wh * 3600.0 / 1e9
            return f"{_trunc(v, 3):08.3f}*{unit}"

        _, year_start = m.stored(now_s, clock.month)        # the values at 1 January (yearly set day 01-01)
        for k, v in (("p", s.power_w / 1000.0), ("q", s.flow_m3h), ("tf", s.theta_flow_c), ("tr", s.theta_return_c)):
            self.maxima[k] = max(self.maxima.get(k, v * 1.2), v)
        hours = int((s.on_time_s + 3600.0 * 24 * 400) // 3600)
        mx = self.maxima
        lines = [
            f"6.8({energy(s.energy_wh)})6.26({_trunc(s.volume_m3, 2):08.2f}*m3)9.21({ident})",
            f"6.26*01({_trunc(year_start['volume_m3'], 2):08.2f}*m3)6.8*01({energy(year_start['energy_wh'])})",
            f"F(0)9.20({ident})6.35(60*m)",
            f"6.6({mx['p']:06.1f}*kW)6.6*01({mx['p']:06.1f}*kW)6.33({mx['q']:07.3f}*m3ph)"
            f"9.4({mx['tf']:05.1f}*C&{mx['tr']:05.1f}*C)",
            f"6.31({hours:07d}*h)6.32(0000000*h)9.22(R)9.6(000&{ident}&0&000&{ident}&0)",
            f"9.7(20000)6.32*01(0000000*h)6.36(01-01&00:00)6.33*01({mx['q']:07.3f}*m3ph)",
            "6.8.1()6.8.2()6.8.3()6.8.4()6.8.5()",
            f"9.4*01({mx['tf']:05.1f}*C&{mx['tr']:05.1f}*C)",
            f"6.36*02(01&00:00)9.36({clock:%Y-%m-%d&%H:%M:%S})9.24(1.5*m3ph)",
            "9.17(0)9.18()9.19()9.25()",
            "9.1(0&1&0&0000&CECV&CECV&1&5.16&5.16&F&101008&040404&08&0)",
            f"9.2(&&)9.29()9.31({hours:07d}*h)",
            f"0.0({addr})",
            "!",
        ]
        return "\r\n".join(lines) + "\r\n"

    def _iec_request(self, req: bytes, baud: int | None) -> list[Out]:
        if not _at(baud, 300):
            return []                                  # garbage to a UART at 300 baud
        if self.run_byte != 0x00 or self.run_len < int(self.cfg.get("wake_nuls", 20)):
            return []                                  # the optical port sleeps without its NUL wake-up
        address = req[2:-3].decode("ascii", "replace")
        if address and address != self.cfg.get("address", self.meter.cfg.identification):
            return []
        z, offered = self._offer()
        out = [Out(iec.identification_line(self.cfg.get("flag", "LUG"), z, self.cfg.get("ident", "UH50")), 300)]
        mode = self._mode()
        talk = int(self.cfg.get("data_baud", offered))
        if mode == "A":
            out.append(Out(self._data(), talk))
        elif mode == "B":
            out.append(Out(self._data(), talk, wait_switch=True))
        else:
            self.await_ack = offered
        return out

    def _iec_ack(self, msg: bytes, baud: int | None) -> list[Out]:
        offered, self.await_ack = self.await_ack, None
        if len(msg) != 6 or msg[1:2] != b"0" or msg[3:4] != b"0":
            return []                                  # not a data-readout option select: back to idle
        chosen = iec.BAUD_MODE_C.get(chr(msg[2]))
        if chosen is None or offered is None or chosen > offered:
            return []
        # sent at 300 baud; a pseudo-terminal has no line time, so the reader may already have
        # switched to the chosen rate when the simulator looks at the line settings
        if not (_at(baud, 300) or baud == chosen):
            return []
        talk = int(self.cfg.get("data_baud", chosen))
        return [Out(self._data(), talk, wait_switch=True)]

    # --- KMP ------------------------------------------------------------------------
    def kmp_registers(self) -> dict[int, tuple[int, Decimal, int]]:
        """register id -> (unit code, value, decimals) from the meter's registers."""
        m = self.meter
        now_s = self.now()
        m.advance(now_s)
        s = m.state
        clock = m.clock(now_s)
        self.maxima["p"] = max(self.maxima.get("p", s.power_w / 1000.0 * 1.2), s.power_w / 1000.0)
        self.maxima["q"] = max(self.maxima.get("q", s.flow_m3h * 1.2), s.flow_m3h)

        def dec(v: float, decimals: int) -> Decimal:
            return Decimal(str(_trunc(v, decimals))) if decimals else Decimal(int(math.floor(v + 1e-9)))

        return {
            60: (0x02, dec(s.energy_wh / 1000.0, 0), 0), 63: (0x02, dec(s.cooling_energy_wh / 1000.0, 0), 0),
            68: (0x28, dec(s.volume_m3, 2), 2), 74: (0x29, dec(s.flow_m3h * 1000.0, 0), 0),
            80: (0x16, dec(s.power_w / 1000.0, 1), 1), 86: (0x25, dec(s.theta_flow_c, 2), 2),
            87: (0x25, dec(s.theta_return_c, 2), 2), 89: (0x26, dec(s.theta_flow_c - s.theta_return_c, 2), 2),
            97: (0x2B, dec(s.flow_temp_volume_m3c, 0), 0), 110: (0x2B, dec(s.return_temp_volume_m3c, 0), 0),
            99: (0x33, Decimal(0), 0), 113: (0x33, Decimal(0), 0),
            128: (0x16, dec(self.maxima["p"], 1), 1), 139: (0x29, dec(self.maxima["q"] * 1000.0, 0), 0),
            1001: (0x33, Decimal(int(m.cfg.identification)), 0),
            1002: (0x2F, Decimal(clock.hour * 10000 + clock.minute * 100 + clock.second), 0),
            1003: (0x30, Decimal((clock.year % 100) * 10000 + clock.month * 100 + clock.day), 0),
            1004: (0x2E, dec(s.on_time_s / 3600.0 + 24 * 400, 0), 0),
        }

    def _kmp_request(self, raw: bytes, baud: int | None) -> list[Out]:
        if not _at(baud, 1200):
            return []
        try:
            msg = kmp.decode(raw, from_meter=False)
        except kmp.KmpError:
            return []                                  # a damaged request gets no answer
        if msg.address != kmp.ADDRESS_HEAT_METER:
            return []
        if msg.cid == kmp.CID_GET_TYPE:
            mt = int(self.cfg.get("meter_type", 0x0034))
            data = bytes((mt >> 8, mt & 0xFF, 0x00, 0x0A))
        elif msg.cid == kmp.CID_GET_SERIAL:
            data = int(self.meter.cfg.identification).to_bytes(4, "big")
        elif msg.cid == kmp.CID_GET_REGISTER and msg.data:
            n = msg.data[0]
            ids = [msg.data[1 + 2 * i] << 8 | msg.data[2 + 2 * i] for i in range(n) if 2 + 2 * i < len(msg.data)]
            regs = self.kmp_registers()
            data = b"".join(kmp.register_block(r, *regs[r][:2], decimals=regs[r][2]) for r in ids if r in regs)
        else:
            return []
        out = kmp.encode(msg.cid, data, to_meter=False)
        if self.cfg.get("corrupt_crc"):
            body = bytearray(kmp.unstuff(out[1:-1]))
            body[-1] ^= 0x01
            out = bytes((kmp.START_FROM_METER,)) + kmp.stuff(bytes(body)) + bytes((kmp.STOP,))
        return [Out(out, 1200)]

    # --- M-Bus on the optical port (the UH50 after its NUL wake-up) -----------------
    def _mbus(self, frame: bytes, baud: int | None) -> list[Out]:
        m = self.meter
        now = self.now()
        baud = m.baud if baud is None else baud
        need = float(self.cfg.get("mbus_wake_ms", 800)) / 1000.0 * baud / 11 * 0.9
        if self.run_byte == 0x00 and self.run_len >= need:
            self.mbus_awake_until = now + 20.0          # the NUL wake-up switches the port to M-Bus
        if now > self.mbus_awake_until:
            return []
        self.mbus_awake_until = now + 20.0
        try:
            fr = framing.parse_link_frame(frame)
        except Exception:
            return []
        ans = m.handle(fr, baud, now)
        return [Out(ans.data, baud)] if ans is not None else []

    # --- the byte stream ------------------------------------------------------------
    def feed(self, data: bytes, baud: int | None) -> list[Out]:
        """Bytes from the reader at the line's ``baud`` (None: a TCP link without a baud rate)."""
        self.log.append(("rx", bytes(data)))
        self.buf += data
        out: list[Out] = []
        while self.buf:
            b0 = self.buf[0]
            if self.await_ack is not None and b0 == iec.ACK:
                if len(self.buf) < 6:
                    break
                msg = bytes(self.buf[:6])
                del self.buf[:6]
                out += self._iec_ack(msg, baud)
                continue
            if self.protocol == "iec62056-21" and b0 == ord("/"):
                end = self.buf.find(b"!\r\n")
                if end < 0:
                    if len(self.buf) > 40:
                        del self.buf[:1]
                        continue
                    break
                req = bytes(self.buf[:end + 3])
                del self.buf[:end + 3]
                self.await_ack = None
                out += self._iec_request(req, baud)
                self.run_byte, self.run_len = None, 0
                continue
            if self.protocol == "kmp" and b0 == kmp.START_TO_METER:
                end = self.buf.find(bytes((kmp.STOP,)))
                if end < 0:
                    break
                req = bytes(self.buf[:end + 1])
                del self.buf[:end + 1]
                out += self._kmp_request(req, baud)
                continue
            if self.protocol == "iec62056-21" and b0 in (0x10, 0x68):
                st = framing.frame_status(bytes(self.buf))
                if st == "need":
                    break
                if isinstance(st, int):
                    frame = bytes(self.buf[:st])
                    del self.buf[:st]
                    out += self._mbus(frame, baud)
                    self.run_byte, self.run_len = None, 0
                    continue
            b = self.buf.pop(0)                        # preamble run or line noise
            if b in (0x00, 0x55) and b == self.run_byte:
                self.run_len += 1
            elif b in (0x00, 0x55):
                self.run_byte, self.run_len = b, 1
            else:
                self.run_byte, self.run_len = None, 0
        for o in out:
            self.log.append(("tx", o.data))
        return out


def serve_optical(port: OpticalPort, fd: int, read, write, line_baud: Callable[[], int | None], stop,
                  line_scale: float, persistent: bool) -> None:
    """Serve one optical port on a byte stream until ``stop`` is set (or the peer closes, when not persistent).

    ``line_baud()``: the reader's baud rate now (a pty's terminal settings), None on TCP.
    """
    while not stop.is_set():
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        data = read()
        if not data:
            if persistent:
                continue
            return
        for out in port.feed(data, line_baud()):
            if line_scale > 0:
                time.sleep(0.2 * line_scale)             # reaction time of the meter (line timing)
            if out.wait_switch:
                end = time.monotonic() + SWITCH_WAIT_S
                while not _at(line_baud(), out.baud) and time.monotonic() < end and not stop.is_set():
                    time.sleep(0.005)                    # the simulated UART polls the line settings
            now_baud = line_baud()
            write(out.data if _at(now_baud, out.baud) else garble(out.data, out.baud, now_baud))
            if line_scale > 0:
                time.sleep(len(out.data) * 10.0 / out.baud * line_scale)   # the characters' line time


class LoopbackOpticalLine:
    """An optical head held to simulated meters in this process: a byte line (``drivers.optical.line``)
    on the virtual clock of a :class:`~drivers.simulator.server.LoopbackTransport`.

    Every meter of ``ports`` sees what the reader writes (each answers only its own
    protocol, so with one EN 62056-21 and one KMP meter on the bus the right one
    answers). Answers wait in a queue until the reader receives; one sent at a
    baud rate other than the reader's at that moment arrives garbled.
    """

    def __init__(self, ports: list[OpticalPort], *, url: str = "loopback://simulator", advance=None,
                 trace: Callable[[str, bytes], None] | None = None):
        self.ports = ports
        self.url = url
        self.baud = 300
        self.fmt = "7E1"
        self.trace = trace
        self._advance = advance or (lambda s: None)
        self._pending: list[Out] = []

    def set_format(self, baud: int, fmt: str | None = None) -> None:
        self.baud = int(baud)
        if fmt is not None:
            self.fmt = fmt

    def write(self, data: bytes) -> None:
        if self.trace:
            self.trace("tx", bytes(data))
        self._advance(len(data) * 10.0 / self.baud)
        for port in self.ports:
            self._pending += port.feed(bytes(data), self.baud)

    def drain(self) -> None:
        pass

    def receive(self, done: Callable[[bytes], bool], first_s: float, gap_s: float, max_bytes: int = 65536) -> bytes:
        buf = bytearray()
        if not self._pending:
            self._advance(first_s)
        while self._pending and len(buf) < max_bytes:
            out = self._pending.pop(0)
            buf += out.data if out.baud == self.baud else garble(out.data, out.baud, self.baud)
            self._advance(len(out.data) * 10.0 / out.baud)
            if done(bytes(buf)):
                break
        data = bytes(buf[:max_bytes])
        if self.trace and data:
            self.trace("rx", data)
        return data

    def pause(self, seconds: float) -> None:
        self._advance(max(0.0, seconds))

    def flush_input(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        self._pending.clear()

    def __enter__(self) -> "LoopbackOpticalLine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
