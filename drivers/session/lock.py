"""One operation on the wire at a time: a FIFO lock with a name for its holder."""
from __future__ import annotations

import collections
import threading
import time


class BusLock:
    """A FIFO lock with a name for its holder; waiting honours cancel and a timeout.

    A place in the queue (a ticket, :meth:`enqueue`) is taken when an operation
    is started, e.g. on the GUI thread, so operations get the bus in the order
    they were started, whatever order their worker threads happen to run in.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()
        self.holder: str | None = None
        self.holder_kind: str | None = None

    def enqueue(self) -> object:
        """A place at the end of the queue (hand it to :meth:`acquire`, or give it back with :meth:`discard`)."""
        with self._cond:
            ticket = object()
            self._queue.append(ticket)
            return ticket

    def discard(self, ticket: object) -> None:
        with self._cond:
            if ticket in self._queue:
                self._queue.remove(ticket)
                self._cond.notify_all()

    def acquire(self, name: str, kind: str, cancel: threading.Event | None, timeout_s: float | None,
                ticket: object | None = None) -> bool:
        """Wait for the bus (FIFO); False when cancelled or timed out while waiting."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            if ticket is None or ticket not in self._queue:
                ticket = object()
                self._queue.append(ticket)
            try:
                while self.holder is not None or self._queue[0] is not ticket:
                    if cancel is not None and cancel.is_set():
                        return False
                    wait = 0.05
                    if deadline is not None:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return False
                        wait = min(wait, left)
                    self._cond.wait(wait)
                self.holder, self.holder_kind = name, kind
                return True
            finally:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self.holder = self.holder_kind = None
            self._cond.notify_all()
