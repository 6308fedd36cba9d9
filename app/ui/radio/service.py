"""Receiving wireless M-Bus for the Radio page: the receiver in a worker task, batches to the GUI thread.

:class:`RadioService` opens the receiver the user chose -- a USB stick (IMST iM871A, Amber AMB8465) on a
serial port, rtl-wmbus lines, or the built-in simulated radio -- in a worker task of ``ctx.tasks`` (it
shows in the status bar; Esc or Stop cancels it), runs :func:`app.core.radio.listen.listen` there, and
hands the decoded telegrams over in batches (``batch(list[Reception], now)``, at most ten a second). The
heard table and the survey are fed on the GUI thread from those batches, so nothing is shared between
threads but the batches themselves.

Errors (a port that cannot be opened, a stick that does not answer, a stick pulled out) end the task with
a one-line message (:func:`describe`): what happened and what to do.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # pragma: no cover
    from app.ui.context import AppContext
    from app.ui.workers import Task

log = logging.getLogger("heatmeter.ui.radio")

SIMULATED = "simulator"
DEMO_METERS = 48
DEMO_SPEED = 8.0          # simulated radio time runs this much faster than the wall clock in demo mode
DEMO_SEED = 14


@dataclass(frozen=True)
class Source:
    """What to listen with: ``dongle`` im871a / amb8465 / rtl-wmbus (None: detect from USB) or
    ``simulator``; ``port`` a serial device, ``socket://HOST:PORT``, a file or pipe; ``mode`` t1/c1/s1."""

    dongle: str | None
    port: str | None = None
    mode: str = "t1"

    @property
    def simulated(self) -> bool:
        return self.dongle == SIMULATED

    def label(self) -> str:
        if self.simulated:
            return "the SIMULATED radio"
        names = {"im871a": "iM871A", "amb8465": "AMB8465", "rtl-wmbus": "rtl-wmbus"}
        return f"{names.get(self.dongle or '', 'the stick')} on {self.port}"


def describe(exc: BaseException, source: Source) -> str:
    """One line for a receiver error: what happened and what to do."""
    from drivers import errors

    text = " ".join(str(exc).split()) or type(exc).__name__
    where = source.port or "the port"
    if isinstance(exc, errors.PortNotFound):
        return f"{where} is not there: plug the stick in (or pick it again from the list) and press Start."
    if isinstance(exc, errors.PortBusy):
        return f"{where} is busy: another program has it open; close it and press Start."
    if isinstance(exc, errors.PortPermission):
        return f"No permission to open {where}: ask for access to serial ports (dialout group)."
    if isinstance(exc, errors.PortLost):
        return f"Lost {source.label()} (stick unplugged?): the meters heard so far stay; plug it back and press Start."
    if isinstance(exc, errors.PortError):
        return f"Cannot open {where}: {text}."
    return f"{source.label()[:1].upper()}{source.label()[1:]}: {text}. Check the stick type and the port, then Start."


class RadioService(QObject):
    """The receiving of one window context (``ctx.radio``), shared by the Radio page and the Commission
    wizard: the receiver's task and the meters heard (``table``, a :class:`~app.core.radio.heard.HeardTable`,
    fed on the GUI thread). Signals (GUI thread): ``batch(list, object, set)`` decoded telegrams, the
    receiver's clock and the keys of the meters they changed (the table is already up to date);
    ``runningChanged(bool)``; ``failed(str)`` one line."""

    batch = Signal(object, object, object)
    runningChanged = Signal(bool)
    failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else ctx)
        from app.core.radio.heard import HeardTable

        self.ctx = ctx
        self.task: Task | None = None
        self.source: Source | None = None
        self.field = None                  # the simulated radio field (demo, tests)
        self.sim_speed = DEMO_SPEED
        self.sensitivity_dbm: float | None = None
        self.table = HeardTable()
        self.update_ms: deque = deque(maxlen=5000)   # GUI-thread time of each batch, with its listeners (bench)

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    # -- the simulated radio -----------------------------------------------------------------
    def simulated_field(self, meters: int = DEMO_METERS, seed: int = DEMO_SEED):
        """The simulated block of flats (made once; its meters' keys go into the key store in demo mode)."""
        if self.field is None:
            from drivers.simulator.wmbus import RadioField, default_field

            self.field = RadioField(default_field(meters, seed), seed)
        return self.field

    def simulated_keys_csv(self) -> str:
        from drivers.simulator.wmbus import keys_csv

        return keys_csv(self.simulated_field().meters)

    def make_receiver(self, source: Source, *, clock: str = "real"):
        """An unopened receiver for ``source`` (the simulated one in process)."""
        if source.simulated:
            from drivers.simulator.wmbus import SimulatedReceiver

            return SimulatedReceiver(self.simulated_field(), speed=self.sim_speed, clock=clock)
        from drivers.receivers import ReceiverError, detect_dongle, make_receiver

        dongle = source.dongle or detect_dongle(source.port or "")
        if dongle is None:
            raise ReceiverError(f"cannot tell which wireless M-Bus stick is on {source.port}: choose its type")
        return make_receiver(source.port or "", dongle)

    # -- start / stop ----------------------------------------------------------------------------
    def start(self, source: Source, *, seconds: float | None = None, clock: str = "real",
              origin: Any = None) -> Task:
        """Start receiving with ``source`` (stopping what runs). ``seconds``: stop after that long on the
        receiver's clock; ``clock="virtual"`` runs the simulator without waiting (screenshots, tests)."""
        from drivers.receivers.sensitivity import sensitivity_dbm

        self.stop()
        self.source = source
        kind = SIMULATED if source.simulated else source.dongle
        self.sensitivity_dbm = sensitivity_dbm(kind, source.mode)
        keys = self.ctx.keys.lookup
        make = self.make_receiver

        def work(progress, cancel):
            from app.core.radio.listen import listen

            receiver = make(source, clock=clock)
            try:
                receiver.open()
                if source.dongle != "rtl-wmbus":
                    receiver.set_mode(source.mode)
                return listen(receiver, keys, cancel=cancel, seconds=seconds,
                              on_batch=lambda recs, now: progress.item((recs, now)))
            except Exception as exc:
                if cancel.is_set():
                    raise
                raise RuntimeError(describe(exc, source)) from None
            finally:
                receiver.close()

        task = self.ctx.tasks.start(f"Receiving with {source.label()}", work, on_item=self._items,
                                    on_failed=self.failed.emit, report_errors=False, origin=origin)
        task.ended.connect(self._ended)
        self.task = task
        self.table.started_at = None       # expected telegrams count from this start
        self.runningChanged.emit(True)
        return task

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _items(self, item) -> None:
        t0 = time.perf_counter()
        recs, now = item
        table = self.table
        if table.started_at is None:
            table.start(now)
        changed = set()
        for r in recs:
            meter, _new = table.add(r)
            if meter is not None:
                changed.add(meter.key)
        table.tick(now)
        self.batch.emit(recs, now, changed)
        self.update_ms.append((time.perf_counter() - t0) * 1000.0)

    def clear(self) -> None:
        """Forget the meters heard (receiving goes on)."""
        self.table.clear()

    def _ended(self, task) -> None:
        if task is self.task:
            self.task = None
            self.runningChanged.emit(False)

    # -- sticks ----------------------------------------------------------------------------------
    @staticmethod
    def detect_sticks() -> list[tuple[str, str]]:
        """(device, kind) of the wireless M-Bus sticks plugged in (blocking: call from a worker)."""
        from drivers.receivers import list_dongles

        try:
            return list_dongles()
        except Exception:  # noqa: BLE001 - no USB listing here: none found
            log.info("could not list USB serial ports", exc_info=True)
            return []
