"""Simulated radio meters: heat and water meters of several makes sending wireless M-Bus telegrams.

* :class:`RadioMeter` -- one meter: make, address, security (0, 5, 7 or
  ``"ell_ctr"``) with its own random AES key, send interval, distance to the
  receiver. ``telegram(t_s)`` builds the telegram it sends at simulated time
  ``t_s`` (registers grow with time: energy, volume, temperatures, flow).
* :class:`RadioField` -- many meters and one receiver position: ``due(t_s)``
  gives every telegram sent up to ``t_s`` with its RSSI. Send times follow the
  meters' intervals with the jitter real meters add against collisions; RSSI is
  a log-distance path loss (exponent 3, as indoors through walls and floors)
  plus log-normal shadowing (4 dB), from a seed: reproducible.
* :class:`SimulatedReceiver` -- the receiver interface in the same process,
  fed by a field on a real or virtual clock (demo mode, the GUI, tests,
  benchmarks). ``speed`` runs simulated time faster than the wall clock; with
  ``clock="virtual"`` nothing sleeps.
* :func:`default_field` -- a plausible block of flats; :func:`keys_csv` --
  the keys of a field in the key CSV format.
"""
from __future__ import annotations

import datetime as _dt
import heapq
import math
import random
import threading
import time
from dataclasses import dataclass

from drivers.mbus.encoder import RecordSpec
from drivers.receivers.base import Heard, Receiver
from drivers.wmbus.encoder import encode_wmbus

__all__ = ["RadioMeter", "RadioField", "SimulatedReceiver", "default_field", "keys_csv", "MAKES",
           "SENSITIVITY_DBM", "FLOORS", "FLOOR_LOSS_DB"]

SENSITIVITY_DBM = -105.0       # typical T1/C1 receiver sensitivity: weaker telegrams are not heard
FLOORS = 6                     # default_field puts its meters on six floors
FLOOR_LOSS_DB = 12.0           # a concrete floor between meter and receiver at 868 MHz (simulated)

# make -> (FLAG, security, medium, version, send interval s, kind)
MAKES = {
    "kamstrup_multical": ("KAM", "ell_ctr", 0x04, 0x1B, 16.0, "heat"),
    "engelmann_sensostar": ("EFE", 7, 0x04, 0x00, 120.0, "heat"),
    "diehl_sharky": ("DME", 5, 0x04, 0x41, 30.0, "heat"),
    "itron_cyble": ("ITW", 5, 0x07, 0x03, 60.0, "water"),
    "zenner_edc": ("ZRI", 0, 0x07, 0x01, 32.0, "water"),
    "qundis_heat": ("QDS", 7, 0x04, 0x35, 240.0, "heat"),
}


@dataclass
class RadioMeter:
    make: str
    manufacturer: str
    identification: str
    security: int | str
    key: bytes | None
    medium: int
    version: int
    interval_s: float
    distance_m: float
    kind: str
    seed: int = 0
    access_number: int = 0
    counter: int = 0
    base_energy_wh: int = 0
    base_volume_l: int = 0
    fmt: str = "none"
    floor: int = 0            # where it is in the block (default_field: six floors)
    loss_db: float = 0.0      # extra path loss from where the receiver is now (RadioField.move_receiver)

    def records(self, t_s: float) -> list:
        rnd = random.Random(hash((self.identification, int(t_s))) & 0xFFFFFFFF)
        hours = t_s / 3600.0
        if self.kind == "heat":
            power_w = 2000 + 1500 * math.sin(hours / 24 * 2 * math.pi + self.seed) + rnd.uniform(-100, 100)
            flow_l_h = max(0, int(power_w / 1.163 / 20))
            energy = self.base_energy_wh + int(max(power_w, 0) * hours)
            tf = 6000 + rnd.randint(-50, 50)
            return [RecordSpec("energy", value=energy - energy % 1000, unit="Wh"),
                    RecordSpec("volume", value=(self.base_volume_l + int(flow_l_h * hours)) / 1000, unit="m3",
                               scale="0.001"),
                    RecordSpec("power", value=max(0, int(power_w)), unit="W"),
                    RecordSpec("volume_flow", value=flow_l_h / 1000, unit="m3/h", scale="0.001"),
                    RecordSpec("flow_temperature", value=tf / 100, unit="degC", scale="0.01"),
                    RecordSpec("return_temperature", value=(tf - 2000 + rnd.randint(-30, 30)) / 100, unit="degC",
                               scale="0.01")]
        litres = self.base_volume_l + int(hours * (4 + 3 * abs(math.sin(hours + self.seed))))
        return [RecordSpec("volume", value=litres / 1000, unit="m3", scale="0.001"),
                RecordSpec("volume", value=self.base_volume_l / 1000, unit="m3", scale="0.001", storage=1)]

    def telegram(self, t_s: float) -> bytes:
        self.access_number = (self.access_number + 1) & 0xFF
        self.counter += 1
        return encode_wmbus(self.records(t_s), manufacturer=self.manufacturer, identification=self.identification,
                            version=self.version, device_type=self.medium, access_number=self.access_number,
                            security=self.security, key=self.key, message_counter=self.counter,
                            session=self.counter & 0x0F, fmt=self.fmt)

    def mean_rssi_dbm(self) -> float:
        """Log-distance path loss: -40 dBm at 1 m, exponent 3; minus the floors between it and the receiver."""
        return -40.0 - 30.0 * math.log10(max(self.distance_m, 1.0)) - self.loss_db


def default_field(n: int = 12, seed: int = 0, *, makes=None) -> list[RadioMeter]:
    rnd = random.Random(seed)
    names = list(makes or MAKES)
    meters = []
    for i in range(n):
        make = names[i % len(names)]
        flag, sec, medium, version, interval, kind = MAKES[make]
        key = bytes(rnd.getrandbits(8) for _ in range(16)) if sec else None
        meters.append(RadioMeter(make, flag, "%08d" % (10_000_000 + rnd.randrange(89_999_999)), sec, key, medium,
                                 version, interval, round(rnd.uniform(2, 60), 1), kind, seed=i,
                                 access_number=rnd.randrange(256), counter=rnd.randrange(1, 10_000),
                                 base_energy_wh=rnd.randrange(1_000, 90_000) * 1000,
                                 base_volume_l=rnd.randrange(10_000, 900_000), floor=i % FLOORS))
    return meters


def keys_csv(meters) -> str:
    rows = ["id,key"] + ["%s %s,%s" % (m.manufacturer, m.identification, m.key.hex().upper())
                         for m in meters if m.key is not None]
    return "\n".join(rows) + "\n"


class RadioField:
    """Meters sending on their intervals; ``due(t_s)`` -> [(meter, telegram, rssi_dbm)] in send order."""

    def __init__(self, meters: list[RadioMeter], seed: int = 0, *, shadowing_db: float = 4.0,
                 sensitivity_dbm: float = SENSITIVITY_DBM):
        self.meters = meters
        self.rnd = random.Random(seed)
        self.shadowing_db = shadowing_db
        self.sensitivity_dbm = sensitivity_dbm
        self.lost = 0
        self._queue = [(self.rnd.uniform(0, m.interval_s), i) for i, m in enumerate(meters)]
        heapq.heapify(self._queue)

    def move_receiver(self, floor: int | None, *, floor_loss_db: float = FLOOR_LOSS_DB) -> None:
        """The receiver is now on ``floor`` (None: back where every meter's distance alone counts): each floor
        between a meter and the receiver costs ``floor_loss_db`` more path loss."""
        for m in self.meters:
            m.loss_db = 0.0 if floor is None else floor_loss_db * abs(m.floor - floor)

    def next_time(self) -> float:
        return self._queue[0][0] if self._queue else math.inf

    def due(self, t_s: float) -> list[tuple[RadioMeter, bytes, float]]:
        return [(m, tg, rssi) for _when, m, tg, rssi in self.due_timed(t_s)]

    def due_timed(self, t_s: float) -> list[tuple[float, RadioMeter, bytes, float]]:
        """As :meth:`due`, each with the simulated time it was sent at first."""
        out = []
        q = self._queue
        while q and q[0][0] <= t_s:
            when, i = heapq.heappop(q)
            m = self.meters[i]
            heapq.heappush(q, (when + m.interval_s * self.rnd.uniform(0.95, 1.05), i))
            rssi = m.mean_rssi_dbm() + self.rnd.gauss(0.0, self.shadowing_db)
            tg = m.telegram(when)
            if rssi < self.sensitivity_dbm:
                self.lost += 1
                continue
            out.append((when, m, tg, round(rssi, 1)))
        return out


class SimulatedReceiver(Receiver):
    """The receiver interface over a :class:`RadioField`, in process.

    ``clock="real"``: telegrams arrive when due, with simulated time running
    ``speed`` times faster than the wall clock. ``clock="virtual"``: each
    ``receive`` jumps simulated time to the next telegram (no sleeping).
    A telegram's ``received_at`` is on the simulated clock: ``epoch`` (default:
    when the receiver was opened) plus the simulated time it was sent at, so
    send intervals read the same at any ``speed``; :meth:`now` is that clock.
    """

    name = "simulator"

    def __init__(self, field: RadioField, *, speed: float = 1.0, clock: str = "real",
                 epoch: _dt.datetime | None = None):
        super().__init__()
        self.field = field
        self.speed = speed
        self.clock = clock
        self.t_s = 0.0
        self._t0 = None
        self.epoch = epoch
        self._stop = threading.Event()

    def _open(self) -> None:
        self._t0 = time.monotonic()
        if self.epoch is None:
            self.epoch = _dt.datetime.now(_dt.timezone.utc)
        self._stop.clear()

    def now(self) -> _dt.datetime:
        """The simulated clock (UTC): ``epoch`` plus simulated time."""
        return (self.epoch or _dt.datetime.now(_dt.timezone.utc)) + _dt.timedelta(seconds=self.sim_now())

    def _close(self) -> None:
        self._stop.set()

    def sim_now(self) -> float:
        if self.clock == "virtual":
            return self.t_s
        return (time.monotonic() - self._t0) * self.speed

    def _heard(self, items) -> list[Heard]:
        epoch = self.epoch or _dt.datetime.now(_dt.timezone.utc)
        return [Heard(tg, rssi, None, epoch + _dt.timedelta(seconds=when), mode=self.mode or "t1",
                      source="simulator") for when, _m, tg, rssi in items]

    def _read(self, timeout_s: float) -> list[Heard]:
        if self.clock == "virtual":
            self.t_s = max(self.t_s, self.field.next_time())
            return self._heard(self.field.due_timed(self.t_s))
        wait = (self.field.next_time() - self.sim_now()) / self.speed
        if wait > 0:
            self._stop.wait(min(wait, timeout_s))
        return self._heard(self.field.due_timed(self.sim_now()))
