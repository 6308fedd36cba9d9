"""Line timing of wired M-Bus (EN 13757-2).

A character is 11 bits on the line (start, 8 data bits, even parity, stop).
The master waits for an answer 330 bit times + 50 ms after the end of its
request; a slave must not answer before 11 bit times have passed. Between the
end of an answer and the next request the master leaves at least 33 bit times
(three characters) of idle line, so that a slave's UART and a level
converter's echo path are settled.
"""
from __future__ import annotations

BITS_PER_CHAR = 11
BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)


def bit_time_s(baud: int) -> float:
    return 1.0 / baud


def char_time_s(baud: int) -> float:
    return BITS_PER_CHAR / baud


def frame_time_s(n_bytes: int, baud: int) -> float:
    """Time the line needs to carry ``n_bytes`` characters."""
    return n_bytes * BITS_PER_CHAR / baud


def response_timeout_s(baud: int) -> float:
    """EN 13757-2: 330 bit times + 50 ms."""
    return 330.0 / baud + 0.050


def min_slave_delay_s(baud: int) -> float:
    """A slave answers no sooner than 11 bit times after the request."""
    return 11.0 / baud


def inter_frame_gap_s(baud: int) -> float:
    """Idle time the master keeps between an answer and its next request."""
    return 33.0 / baud
