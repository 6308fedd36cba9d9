"""Diehl Metering (FLAG ``DME``; ``HYD`` for Hydrometer, now Diehl): Sharky heat meters' optical port.

No vendor figure for the M-Bus wake-up through the optical port was found; the
profile sends the generic 0x55 preamble at 2400 Bd. (The IrDA port of Diehl
IZAR meters instead wakes on 0x00 for 0.6 s at 9600 8E1: the generic ``nul``
profile.)
"""
from __future__ import annotations

from drivers.makes.base import Make
from drivers.wakeup import WakeupProfile

MAKE = Make(
    key="diehl", name="Diehl", flags=("DME", "HYD"), flag_names={"HYD": "Hydrometer"},
    wakeup=WakeupProfile("diehl", 0x55, 2200, "N", 150, True, 20.0,
                         note="Diehl/Hydrometer optical port (Sharky, SHARKY 775): 0x55 preamble at 2400 baud",
                         label="Optical head, Diehl / Hydrometer"),
    sources="Diehl protocol description quoted on loxforum (IrDA wake-up); no figure for the M-Bus optical port",
)
