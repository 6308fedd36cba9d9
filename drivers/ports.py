"""The serial ports of this computer, as the OS lists them (part of the transport layer).

Kept apart from :mod:`drivers.transport` so that listing ports (the Connect
page does it every two seconds) loads nothing but pyserial's port listing.
"""
from __future__ import annotations


def list_ports() -> list[tuple[str, str]]:
    """(device, description) of the serial ports the OS lists (pyserial), sorted by device.

    Cheap: a directory/registry listing, no port is opened. The description adds
    the adapter's manufacturer when the OS gives it apart ("FT232R USB UART (FTDI)").
    """
    from serial.tools import list_ports as lp

    out = []
    for p in lp.comports():
        desc = p.description if p.description and p.description != "n/a" else ""
        if p.manufacturer and p.manufacturer not in desc:
            desc = f"{desc} ({p.manufacturer})" if desc else p.manufacturer
        out.append((p.device, desc))
    return sorted(out)
