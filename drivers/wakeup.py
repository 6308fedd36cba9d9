"""Wake-up profiles: what a meter needs before it answers, and sending the wake-up.

Battery meters read through their optical port sleep until they see light
activity: the master sends a preamble (0x55 characters, or NUL characters) for
some time at the target baud, pauses, and then talks M-Bus at 8E1. Some
meters answer REQ_UD2 only after a link reset (SND_NKE) since they woke up.

This module holds the profile type, the generic profiles (:data:`GENERIC`:
wired M-Bus, a generic optical head, a NUL preamble) and :func:`wake`. The
family profiles (Engelmann, Sensus, Diehl, Kamstrup ...) are declared by the
make modules of :mod:`drivers.makes`; the whole table, the lookup by name
(``get_profile``) and by manufacturer FLAG code (``profile_for_manufacturer``)
are there, in the make registry. The table with sources is in docs/bus.md.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class WakeupProfile:
    name: str
    preamble_byte: int | None = None     # None: no preamble
    preamble_ms: int = 0
    preamble_parity: str = "N"           # the preamble is sent 8N1 by most optical-head tools
    pause_ms: int = 0                    # quiet time between preamble and first request
    reset_before_read: bool = True       # SND_NKE before REQ_UD2
    awake_s: float = 0.0                 # the meter stays awake this long after the last exchange (0: always)
    note: str = ""
    label: str = ""                      # what a profile list shows ("Optical head, Engelmann")

    @property
    def has_preamble(self) -> bool:
        return self.preamble_byte is not None and self.preamble_ms > 0

    def with_length(self, ms: int) -> "WakeupProfile":
        return replace(self, preamble_ms=ms)

    def without_preamble(self) -> "WakeupProfile":
        """The same profile for a meter that is still awake (or read without an optical head)."""
        return replace(self, preamble_byte=None, preamble_ms=0, pause_ms=0)


NONE = WakeupProfile("none", note="wired M-Bus: no wake-up; SND_NKE before reading", label="None (wired M-Bus)")
NO_RESET = WakeupProfile("no-reset", reset_before_read=False,
                         note="wired M-Bus without the link reset (meters that restart their telegram cycle on "
                              "SND_NKE)", label="Wired, no link reset")
OPTICAL_55 = WakeupProfile("optical-55", 0x55, 2200, "N", 150, True, 20.0,
                           note="generic optical head: 0x55 for 2.2 s (8N1), 150 ms pause, then 8E1",
                           label="Optical head, generic")
NUL = WakeupProfile("nul", 0x00, 900, "E", 100, True, 20.0,
                    note="NUL-byte preamble: meters that wake on 0x00 characters (Landis+Gyr UH50/T550 and T230 family "
                 "into M-Bus, Diehl IrDA-style, some Itron)",
                    label="Optical head, NUL preamble")

# the profiles that belong to no make, in the order a profile list shows them
GENERIC: tuple[WakeupProfile, ...] = (NONE, NO_RESET, OPTICAL_55, NUL)
GENERIC_OPTICAL = OPTICAL_55.name     # a generic head: the family's profile is used once the make is known


def wake(transport, profile: WakeupProfile | None) -> None:
    """Send the profile's preamble and keep its pause (line timing of the optical port)."""
    if profile is None or not profile.has_preamble:
        return
    transport.send_preamble(profile.preamble_byte, profile.preamble_ms / 1000.0, parity=profile.preamble_parity)
    if profile.pause_ms:
        transport.idle(profile.pause_ms / 1000.0)
