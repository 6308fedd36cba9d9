"""The receiving loop a worker runs: receive, decode, hand over in batches (no Qt).

:func:`listen` takes telegrams from an open :class:`drivers.receivers.Receiver`, decodes each into a
:class:`~app.core.radio.reception.Reception` with the key lookup, and calls ``on_batch(receptions, now)``
at most every ``batch_s`` seconds of wall time (and at least every ``idle_s`` while nothing is heard, so
that expected counts and clocks move on), ``now`` being the receiver's clock. It returns when ``cancel``
is set, after ``seconds`` on the receiver's clock, or when the source ends (a file of rtl-wmbus lines).
Batching keeps the GUI thread's work per update small whatever the telegram rate.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from app.core.radio.reception import Reception, reception

__all__ = ["listen", "ListenSummary"]

RECEIVE_SLICE_S = 0.05    # the longest a receive waits, so a cancel is seen quickly


class ListenSummary:
    def __init__(self) -> None:
        self.telegrams = 0
        self.ended = False          # the source ended (not cancelled, not timed out)
        self.started_at = None
        self.stopped_at = None


def listen(receiver, keys=None, *, cancel, on_batch: Callable[[list[Reception], object], None],
           batch_s: float = 0.1, idle_s: float = 0.5, seconds: float | None = None) -> ListenSummary:
    """Run the loop (blocking; see the module docstring). Receiver errors come through as they are."""
    out = ListenSummary()
    start = receiver.now()
    out.started_at = start
    end = None if seconds is None else start.timestamp() + seconds
    batch: list[Reception] = []
    last = time.monotonic()
    on_batch([], start)
    while not cancel.is_set():
        h = receiver.receive(RECEIVE_SLICE_S)
        if h is not None and (end is None or h.received_at.timestamp() <= end):
            batch.append(reception(h, keys))
            out.telegrams += 1
        elif getattr(receiver, "_eof", False):
            out.ended = True
            break
        now_wall = time.monotonic()
        clock = receiver.now()
        if end is not None and clock.timestamp() >= end:
            break
        if (batch and now_wall - last >= batch_s) or now_wall - last >= idle_s:
            on_batch(batch, clock)
            batch = []
            last = now_wall
    out.stopped_at = receiver.now()
    if not cancel.is_set():
        on_batch(batch, out.stopped_at)
    return out
