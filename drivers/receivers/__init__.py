"""Wireless M-Bus receivers behind one interface (:class:`~drivers.receivers.base.Receiver`).

* IMST iM871A and Amber/Würth AMB8465 USB sticks over their serial protocols
  (:mod:`~drivers.receivers.im871a`, :mod:`~drivers.receivers.amb8465`);
* rtl-wmbus text lines from a file, a pipe or ``socket://HOST:PORT``
  (:mod:`~drivers.receivers.rtlwmbus`);
* the radio simulator in the same process
  (:class:`drivers.simulator.wmbus.SimulatedReceiver`).

``open_receiver(port, dongle=None, mode="t1")`` opens one (``dongle`` None:
detected from the USB VID/PID of ``port``) and sets its mode;
``detect_dongle(port)`` and ``list_dongles()`` look at the USB devices.
"""
from __future__ import annotations

from .base import MODES, Heard, Receiver, ReceiverError
from .rtlwmbus import RtlWmbusReceiver, parse_line
from .serial_dongles import Amb8465Receiver, Im871aReceiver

__all__ = ["Heard", "Receiver", "ReceiverError", "MODES", "DONGLES", "open_receiver", "make_receiver",
           "detect_dongle", "list_dongles", "Im871aReceiver", "Amb8465Receiver", "RtlWmbusReceiver", "parse_line"]

DONGLES = ("im871a", "amb8465", "rtl-wmbus")

# USB ids: the iM871A enumerates as a Silicon Labs CP210x with IMST's product id; the AMB8465 as an FTDI
# serial converter, told from other FTDI devices by its product string.
USB_IDS = {(0x10C4, 0x87ED): "im871a"}
PRODUCT_WORDS = {"im871a": "im871a", "imst": "im871a", "amb8465": "amb8465", "amber": "amb8465",
                 "wurth": "amb8465", "würth": "amb8465"}


def _classify(port) -> str | None:
    vid, pid = getattr(port, "vid", None), getattr(port, "pid", None)
    if (vid, pid) in USB_IDS:
        return USB_IDS[(vid, pid)]
    text = " ".join(str(getattr(port, a, "") or "") for a in ("product", "manufacturer", "description")).lower()
    for word, kind in PRODUCT_WORDS.items():
        if word in text:
            return kind
    return None


def list_dongles(ports=None) -> list[tuple[str, str]]:
    """(device path, dongle kind) of the USB serial ports that are wireless M-Bus sticks."""
    if ports is None:
        from serial.tools import list_ports
        ports = list_ports.comports()
    return [(p.device, kind) for p in ports if (kind := _classify(p)) is not None]


def detect_dongle(port: str, ports=None) -> str | None:
    for dev, kind in list_dongles(ports):
        if dev == port:
            return kind
    return None


def make_receiver(port: str, dongle: str) -> Receiver:
    if dongle == "im871a":
        return Im871aReceiver(port)
    if dongle == "amb8465":
        return Amb8465Receiver(port)
    if dongle == "rtl-wmbus":
        return RtlWmbusReceiver(port)
    raise ValueError("dongle must be one of %s" % ", ".join(DONGLES))


def open_receiver(port: str, dongle: str | None = None, mode: str | None = "t1") -> Receiver:
    """Open the receiver on ``port`` and set ``mode`` (rtl-wmbus hears every mode: nothing to set)."""
    if dongle is None:
        dongle = detect_dongle(port)
        if dongle is None:
            raise ReceiverError("cannot tell which wireless M-Bus stick is on %s: give --dongle" % port)
    r = make_receiver(port, dongle).open()
    try:
        if mode and dongle != "rtl-wmbus":
            r.set_mode(mode)
    except BaseException:
        r.close()
        raise
    return r
