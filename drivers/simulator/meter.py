"""One simulated M-Bus slave: identity, registers in motion, link-layer behaviour.

A :class:`SimMeter` answers the frames of EN 13757-2/-3 the way real slaves
do: SND_NKE (ACK, resets the frame count bit and the telegram sequence),
REQ_UD2 (RSP_UD; a repeated FCB makes it resend its last telegram; several
telegrams in turn for multi-telegram meters, all but the last ending in DIF
0x1F), REQ_UD1 (ACK: no alarm data), SND_UD with CI 0x50 (application reset),
0x51 (data send: a new primary address in DIF 0x01 VIF 0x7A), 0x52
(selection by secondary address with wildcards) and 0xB8-0xBF (baud rate).
Its registers integrate the hydraulic state of :mod:`.physics`.

Quirks it can carry (set in its configuration): ``wakeup`` (an optical port
that ignores everything until it has seen a preamble of 0x55 or 0x00 of a
minimum length, then stays awake for a while), ``needs_reset`` (answers
REQ_UD2 only after an SND_NKE since it woke up), faults (``lose``, ``corrupt``:
probabilities for its data answers; ``slow``: answers near the end of the
response window; ``silent``: answers nothing; ``select_id_only``: firmware that
compares only the identification number of a selection and so also answers a
selection meant for another make's meter with the same number), and its answer
delay.
"""
from __future__ import annotations

import datetime as _dt
import random
from dataclasses import dataclass, field
from typing import Any

from drivers import framing, timing
from drivers.address import SecondaryAddress, SecondaryMask
from drivers.simulator import layouts
from drivers.simulator.history import MonthlyHistory
from drivers.simulator.optical import check_optical
from drivers.simulator.physics import Drift, HydraulicState

BAUD_BY_CI = {ci: baud for baud, ci in framing.CI_BY_BAUD.items()}

KIND_BY_MEDIUM = {0x04: "heat", 0x0C: "heat", 0x0A: "cooling", 0x0B: "cooling", 0x0D: "heat_cooling",
                  0x07: "water", 0x06: "water", 0x15: "water", 0x16: "water"}


@dataclass
class MeterConfig:
    identification: str
    manufacturer: str
    version: int
    medium: int
    primary_address: int = 0
    layout: str = "generic"              # record layout, see layouts.layout_names()
    baud: int = 2400
    telegrams: int = 1                   # >1: multi-telegram readout
    flow_m3h: float = 0.8
    theta_flow_c: float = 70.0
    dtheta_k: float = 20.0
    energy_kwh: float = 0.0              # register start values
    volume_m3: float = 0.0
    wakeup: dict | None = None           # {"byte": 0x55, "min_ms": 2000, "awake_s": 30}
    needs_reset: bool = False
    faults: dict = field(default_factory=dict)   # {"lose": p, "corrupt": p, "slow": bool, "silent": bool,
    #                                              "select_id_only": bool}
    delay_bits: tuple[int, int] = (11, 60)      # answer delay range in bit times
    baud_revert_s: float = 30.0          # falls back to the old baud unless addressed at the new one in time
    status: int = 0
    clock_offset_s: float = 0.0          # the meter's clock minus the host's local clock (a drifting meter clock)
    history_months: int = 24             # month-start values the meter keeps (storage 1..n)
    optical: dict | None = None          # its optical port: {"protocol": "iec62056-21" | "kmp", ...} (simulator.optical)
    security: dict | None = None         # encrypted telegrams: {"mode": 5, "key": "32 hex digits"} (AES-128-CBC)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "MeterConfig":
        d = dict(d)
        for k in ("version", "medium", "status"):
            if isinstance(d.get(k), str):
                d[k] = int(d[k], 16)
        if "delay_bits" in d:
            d["delay_bits"] = tuple(d["delay_bits"])
        if isinstance(d.get("wakeup"), dict) and isinstance(d["wakeup"].get("byte"), str):
            d["wakeup"] = dict(d["wakeup"], byte=int(d["wakeup"]["byte"], 16))
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown meter keys: {', '.join(sorted(unknown))}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if len(self.identification) != 8 or not self.identification.isdigit():
            raise ValueError(f"identification must be 8 digits: {self.identification!r}")
        SecondaryAddress(self.identification, self.manufacturer, self.version, self.medium).mask()
        if not 0 <= self.primary_address <= 250:
            raise ValueError("primary_address must be 0..250")
        names = layouts.layout_names()
        if self.layout not in names:
            raise ValueError(f"unknown layout {self.layout!r} (one of {', '.join(names)})")
        if self.baud not in timing.BAUD_RATES:
            raise ValueError(f"unsupported baud {self.baud}")
        if self.telegrams < 1:
            raise ValueError("telegrams must be >= 1")
        if not 0 <= self.history_months <= 120:
            raise ValueError("history_months must be 0..120")
        if self.optical is not None:
            check_optical(self.optical)
        if self.faults.get("clock") not in (None, "refuse", "stuck"):
            raise ValueError("faults.clock must be \"refuse\" or \"stuck\"")
        if self.security is not None:
            key = str(self.security.get("key", ""))
            if self.security.get("mode") != 5 or len(key) != 32 or any(c not in "0123456789abcdefABCDEF" for c in key):
                raise ValueError('security must be {"mode": 5, "key": "<32 hex digits>"}')

    @property
    def key(self) -> bytes | None:
        """The AES key of an encrypted meter (None: it sends plaintext)."""
        return bytes.fromhex(self.security["key"]) if self.security else None

    def to_json(self) -> dict:
        from dataclasses import asdict
        d = asdict(self)
        d["delay_bits"] = list(self.delay_bits)
        return d


@dataclass
class Answer:
    data: bytes
    delay_bits: int


class SimMeter:
    """A slave on the simulated bus. ``now_s`` arguments are simulation seconds."""

    def __init__(self, cfg: MeterConfig, seed: int = 0, epoch: _dt.datetime | None = None):
        self.cfg = cfg
        self.rng = random.Random(f"{seed}:{cfg.identification}:{cfg.manufacturer}")
        self.fault_rng = random.Random(f"faults:{seed}:{cfg.identification}:{cfg.manufacturer}")
        kind = KIND_BY_MEDIUM.get(cfg.medium, "heat")
        self.state = HydraulicState(
            kind=kind,
            flow=Drift(cfg.flow_m3h, max(0.02, 0.15 * cfg.flow_m3h), 600.0),
            theta_flow=Drift(cfg.theta_flow_c, 1.5, 1800.0),
            dtheta=Drift(cfg.dtheta_k, max(0.3, 0.12 * abs(cfg.dtheta_k)), 1200.0),
        )
        if kind == "cooling":
            self.state.cooling_energy_wh = cfg.energy_kwh * 1000.0
        else:
            self.state.energy_wh = cfg.energy_kwh * 1000.0
        self.state.volume_m3 = cfg.volume_m3
        # the volume-weighted temperature sums start as if the past volume had flowed at the mean temperatures
        self.state.flow_temp_volume_m3c = cfg.volume_m3 * cfg.theta_flow_c
        self.state.return_temp_volume_m3c = cfg.volume_m3 * (cfg.theta_flow_c - cfg.dtheta_k)
        self.epoch = epoch  # None: the meter's clock follows the host's local clock (+ clock_offset_s)
        self.clock_offset_s = cfg.clock_offset_s           # changed by a clock write
        self.stuck_clock: _dt.datetime | None = None        # faults.clock == "stuck": the clock stands still
        self.selection: int | None = None                   # application reset sub-code in force (telegram type)
        self.clock_writes: list[str] = []                   # date-times written (for tests)
        self.primary_address = cfg.primary_address
        self.baud = cfg.baud
        self.status = cfg.status
        self.access_number = self.rng.randrange(256)
        self.selected = False
        self.last_fcb: bool | None = None
        self.last_answer: bytes | None = None
        self.page = 0
        self.t_state = 0.0
        self.awake_until = -1.0
        self.reset_since_wake = False
        self.baud_pending: tuple[int, float] | None = None   # (old baud, deadline)
        self.last_encoded: list[dict] = []                   # records of the last RSP_UD (for tests)
        self.last_telegram_index = 0
        self.sent: list[dict] = []                           # the last RSP_UDs sent (for tests)
        self.stats = {"rsp_ud": 0, "ack": 0, "lost": 0, "corrupted": 0, "repeats": 0}
        self.history = MonthlyHistory(self.clock(0.0), self.registers(), kind=kind,
                                      seed=f"{seed}:{cfg.identification}:{cfg.manufacturer}",
                                      months=max(1, cfg.history_months))

    # --- identity ---------------------------------------------------------------
    @property
    def secondary(self) -> SecondaryAddress:
        c = self.cfg
        return SecondaryAddress(c.identification, c.manufacturer, c.version, c.medium)

    @property
    def sleepy(self) -> bool:
        return bool(self.cfg.wakeup)

    # --- time -------------------------------------------------------------------
    def advance(self, now_s: float) -> None:
        if now_s > self.t_state:
            self.state.advance(now_s - self.t_state, self.rng)
            self.t_state = now_s
        if self.baud_pending and now_s > self.baud_pending[1]:
            self.baud = self.baud_pending[0]      # nobody confirmed the new baud: fall back
            self.baud_pending = None

    def clock(self, now_s: float) -> _dt.datetime:
        """The meter's date-time: the host's local clock plus the configured offset, or, when the
        meter was given a fixed ``epoch``, that epoch plus the simulation time (reproducible)."""
        if self.cfg.faults.get("clock") == "stuck":
            if self.stuck_clock is None:
                self.stuck_clock = (_dt.datetime.now() + _dt.timedelta(seconds=self.clock_offset_s)).replace(
                    microsecond=0)
            return self.stuck_clock
        if self.epoch is None:
            local = _dt.datetime.now() + _dt.timedelta(seconds=self.clock_offset_s)
            return local.replace(microsecond=0)
        return self.epoch + _dt.timedelta(seconds=now_s)

    def set_clock(self, when: _dt.datetime, now_s: float) -> None:
        """A clock write: from now on the meter's clock runs from ``when``."""
        if self.epoch is None:
            self.clock_offset_s = (when - _dt.datetime.now()).total_seconds()
        else:
            self.epoch = when - _dt.timedelta(seconds=now_s)
        self.clock_writes.append(when.isoformat())

    def registers(self) -> dict:
        s = self.state
        return {"energy_wh": s.energy_wh, "cooling_energy_wh": s.cooling_energy_wh, "volume_m3": s.volume_m3}

    def stored(self, now_s: float, storage: int) -> tuple[_dt.date, dict]:
        """Date and register values of storage number ``storage`` (monthly history, stable between reads)."""
        return self.history.stored(self.clock(now_s), self.registers(), storage)

    def wake(self, byte: int, count: int, line_baud: int, now_s: float) -> None:
        """A preamble of ``count`` bytes ``byte`` arrived before a frame."""
        w = self.cfg.wakeup
        if not w:
            return
        need = int(w.get("min_ms", 2000) / 1000.0 * line_baud / 10 * 0.9)
        if byte == w.get("byte", 0x55) and count >= need:
            self.awake_until = now_s + float(w.get("awake_s", 30.0))
            self.reset_since_wake = False

    def listening(self, now_s: float) -> bool:
        return not self.sleepy or now_s <= self.awake_until

    # --- frames -------------------------------------------------------------------
    def _delay(self) -> int:
        lo, hi = self.cfg.delay_bits
        if self.cfg.faults.get("slow"):
            # near the end of the response window (330 bit times + 50 ms at 2400 baud is 450 bits)
            return int(self.rng.uniform(0.85, 0.95) * (330 + 0.05 * self.baud))
        return self.rng.randint(lo, max(lo, hi))

    def _ack(self) -> Answer:
        self.stats["ack"] += 1
        return Answer(framing.ACK, self._delay())

    def addressed(self, address: int) -> bool:
        if address in (254, 255):
            return True
        if address == 253:
            return self.selected
        return address == self.primary_address

    def handle(self, fr: "framing.LinkFrame", line_baud: int, now_s: float) -> Answer | None:
        """React to one master frame; return the answer (or None for silence)."""
        self.advance(now_s)
        if self.cfg.faults.get("silent"):
            return None                      # dead or disconnected: answers nothing at all
        if line_baud != self.baud:
            return None                      # the UART sees only garbage at another baud
        if not self.listening(now_s):
            return None
        if self.sleepy:
            self.awake_until = now_s + float(self.cfg.wakeup.get("awake_s", 30.0))
        if self.baud_pending and line_baud == self.baud:
            self.baud_pending = None          # addressed at the new baud: keep it

        c = fr.c_field & 0x4F
        fcv = bool(fr.c_field & 0x10)
        fcb = bool(fr.c_field & 0x20)
        a = fr.address
        # selection by secondary address is addressed to 253 whatever the state
        if fr.kind == "long" and fr.ci == framing.CI_SELECT and a == 253 and (c & 0x0F) == 0x03:
            mask = SecondaryMask.from_payload(fr.payload)
            if self.cfg.faults.get("select_id_only"):
                mask = SecondaryMask(mask.digits)     # ignores manufacturer, version and medium
            was = self.selected
            self.selected = mask.matches(self.secondary)
            if self.selected:
                if not was:
                    self.last_fcb = None     # a new selection starts a fresh FCB sequence
                return self._ack()
            return None
        if not self.addressed(a):
            return None
        silent = a == 255
        if c == 0x40:                         # SND_NKE
            self.last_fcb = None
            self.last_answer = None
            self.page = 0
            self.reset_since_wake = True
            if a == 253:
                self.selected = False
            return None if silent else self._ack()
        if fcv and self.last_fcb is not None and fcb == self.last_fcb and self.last_answer is not None:
            self.stats["repeats"] += 1
            return None if silent else Answer(self.last_answer, self._delay())
        answer: Answer | None
        if c == 0x4B:                         # REQ_UD2
            if self.cfg.needs_reset and not self.reset_since_wake:
                return None
            answer = self._rsp_ud(a, now_s)
        elif c == 0x4A:                       # REQ_UD1: no alarm data pending
            answer = self._ack()
        elif c == 0x43:                       # SND_UD
            answer = self._snd_ud(fr, now_s)
        else:
            return None
        if answer is not None and fcv:
            self.last_fcb = fcb
            self.last_answer = answer.data
        if silent:
            return None
        return self._faults(answer)

    def _faults(self, answer: Answer | None) -> Answer | None:
        if answer is None or len(answer.data) == 1:
            return answer
        f = self.cfg.faults
        if f.get("lose") and self.fault_rng.random() < f["lose"]:
            self.stats["lost"] += 1
            return None
        if f.get("corrupt") and self.fault_rng.random() < f["corrupt"]:
            self.stats["corrupted"] += 1
            data = bytearray(answer.data)
            i = self.fault_rng.randrange(7, max(8, len(data) - 2))
            data[i] ^= 1 << self.fault_rng.randrange(8)
            return Answer(bytes(data), answer.delay_bits)
        return answer

    def _snd_ud(self, fr, now_s: float) -> Answer | None:
        ci = fr.ci
        if ci == framing.CI_APPLICATION_RESET:
            self.page = 0
            self.selection = fr.payload[0] if fr.payload else None   # EN 13757-3 sub-code: telegram type
            return self._ack()
        if ci in BAUD_BY_CI:
            new = BAUD_BY_CI[ci]
            ack = self._ack()
            if new != self.baud:
                self.baud_pending = (self.baud, now_s + self.cfg.baud_revert_s)
                self.baud = new
            return ack
        if ci == framing.CI_DATA_SEND:
            p = fr.payload
            if len(p) >= 3 and p[0] == 0x01 and p[1] == 0x7A:
                if p[2] > 250:
                    return None
                ack = self._ack()
                self.primary_address = p[2]
                return ack
            if len(p) >= 6 and p[0] == 0x04 and p[1] == 0x6D:      # date-time record, type F: set the clock
                when = _type_f(p[2:6])
                fault = self.cfg.faults.get("clock")
                if when is None or fault == "refuse":
                    return None                # invalid date-time, or a meter that refuses clock writes
                if fault != "stuck":
                    self.set_clock(when, now_s)
                return self._ack()
            return self._ack()             # other data: accepted and ignored
        return None

    def telegram_records(self, now_s: float) -> list[list[layouts.Rec]]:
        """The records of every telegram of the readout, from the current state."""
        return layouts.build(self, now_s)

    def _rsp_ud(self, address: int, now_s: float) -> Answer:
        pages = self.telegram_records(now_s)
        idx = self.page % len(pages)
        more = idx < len(pages) - 1
        self.page = idx + 1 if more else 0
        self.access_number = (self.access_number + 1) & 0xFF
        recs = pages[idx]
        data = framing.encode_rsp_ud(
            address=self.primary_address, identification=self.cfg.identification,
            manufacturer=self.cfg.manufacturer, version=self.cfg.version, medium=self.cfg.medium,
            access_number=self.access_number, status=self.status, records=recs, more_records_follow=more,
            security=5 if self.cfg.security else 0, key=self.cfg.key)
        self.last_encoded = [r.as_dict() for r in recs]
        self.last_telegram_index = idx
        self.sent.append({"access_number": self.access_number, "telegram_index": idx,
                          "records": self.last_encoded})
        del self.sent[:-16]
        self.stats["rsp_ud"] += 1
        return Answer(data, self._delay())

    def snapshot(self, now_s: float) -> dict:
        """The registers now (for demo displays and tests)."""
        self.advance(now_s)
        s = self.state
        return {"secondary_address": self.cfg.identification, "manufacturer": self.cfg.manufacturer,
                "primary_address": self.primary_address, "baud": self.baud,
                "energy_wh": s.energy_wh, "cooling_energy_wh": s.cooling_energy_wh, "volume_m3": s.volume_m3,
                "flow_temp_volume_m3c": s.flow_temp_volume_m3c, "return_temp_volume_m3c": s.return_temp_volume_m3c,
                "power_w": s.power_w, "flow_m3h": s.flow_m3h, "theta_flow_c": s.theta_flow_c,
                "theta_return_c": s.theta_return_c, "on_time_s": s.on_time_s,
                "clock": self.clock(now_s).isoformat(timespec="seconds")}


def _type_f(b: bytes) -> _dt.datetime | None:
    """EN 13757-3 data type F (minute resolution) -> datetime, None when invalid."""
    if b[0] & 0x80:
        return None
    yy = (b[2] >> 5) | ((b[3] & 0xF0) >> 1)
    hy = (b[1] >> 5) & 0x03
    year = 2000 + yy if (hy == 0 and yy <= 80) else 1900 + 100 * hy + yy
    try:
        return _dt.datetime(year, b[3] & 0x0F, b[2] & 0x1F, b[1] & 0x1F, b[0] & 0x3F)
    except ValueError:
        return None
