"""Save a readout as evidence against its meter, or propose the meter the register does not know.

One workflow for ``heatmeter read --save [--create]``, the Readout page's
"Save to register" (and its "Add meter" dialog) and the Commission wizard's
evidence:

1. :func:`save_readout` stores the raw frames byte for byte and the decoded
   telegrams against the meter (``meter_id``, else the one whose FLAG code and
   identification match the first telegram).
2. When the register has no such meter nothing is stored; the result carries
   ``proposal``: the fields of the new meter (``drivers.makes.new_meter_fields``:
   make from the FLAG code, model from the version byte where known, serial =
   identification, site "Unassigned" unless given).
3. :func:`create_meter_and_save` creates the meter from (possibly edited)
   fields and stores the readout against it; :func:`save_or_create` does 1-3
   in one call when the caller already decided to create.

The register logs every change (who, when, what) in the same transaction.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: primary address 253 is the "selected by secondary address" address, not the meter's own
SELECTED_ADDRESS = 253


@dataclass(frozen=True)
class Evidence:
    """One readout as the register keeps it: the frames received and their decodes, when and where.

    ``read_at``: aware, or naive UTC (stored as naive UTC); None: now.
    ``primary_address``: the meter's own primary address, if it was read at one.
    """

    frames: tuple[bytes, ...]
    telegrams: tuple[dict[str, Any], ...]       # decoded telegram objects (as ``heatmeter decode --json`` prints them), in order
    read_at: dt.datetime | None = None
    transport: str | None = None                # "serial", "gateway", "simulator"
    port: str | None = None
    baud: int | None = None
    primary_address: int | None = None
    tx_frames: tuple[bytes, ...] = ()           # what was sent (kept for optical readouts: the whole dialogue)
    protocol: str = "mbus"                      # or the optical protocol it was read with

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", tuple(bytes(f) for f in self.frames))
        object.__setattr__(self, "telegrams", tuple(self.telegrams))
        object.__setattr__(self, "tx_frames", tuple(bytes(f) for f in self.tx_frames))

    @property
    def first(self) -> dict[str, Any]:
        """The first decoded telegram (empty when there is none)."""
        return self.telegrams[0] if self.telegrams else {}

    @property
    def label(self) -> str:
        """``KAM 71234567``: the FLAG code and identification of the meter that answered."""
        return f"{self.first.get('manufacturer') or '?'} {self.first.get('identification') or '?'}"

    @classmethod
    def from_readout(cls, ro: Any) -> Evidence:
        """From a bus session's :class:`drivers.session.Readout` (M-Bus or optical: the frames sent too)."""
        address = ro.address if ro.address is not None and ro.address != SELECTED_ADDRESS else None
        return cls(frames=tuple(ro.frames), telegrams=tuple(ro.decoded()), read_at=ro.read_at,
                   transport=ro.transport, port=ro.port, baud=ro.baud, primary_address=address,
                   tx_frames=tuple(getattr(ro, "tx_frames", ()) or ()), protocol=getattr(ro, "protocol", "mbus"))


@dataclass(frozen=True)
class SavedReadout:
    """What became of a readout.

    ``status``: "saved" (``readout_id`` and ``meter`` set; ``created`` when the
    meter was created for it) or "no_match" (nothing stored; ``proposal``: the
    fields to create the meter with, ``candidates``: meters with the same
    identification but another make).
    """

    status: str
    readout_id: int | None = None
    meter: Any = None                              # app.storage.records.MeterRecord
    matched_by: str | None = None
    created: bool = False
    manufacturer: str | None = None                # FLAG code of the telegram
    identification: str | None = None
    proposal: dict[str, Any] | None = None
    candidates: list[Any] = field(default_factory=list)

    @property
    def saved(self) -> bool:
        return self.status == "saved"

    @property
    def label(self) -> str:
        """``KAM 71234567``: the meter as the telegram names it."""
        return f"{self.manufacturer or '?'} {self.identification or '?'}"


def _utc_naive(t: dt.datetime | None) -> dt.datetime | None:
    if t is None or t.tzinfo is None:
        return t
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _store(reg, ev: Evidence, *, meter_id: int | None, user: str | None, commissioning_id: int | None,
           notes: str | None):
    if notes is None and ev.protocol != "mbus":
        notes = f"read by {ev.protocol}"
    return reg.save_readout(list(ev.frames), list(ev.telegrams), meter_id=meter_id, user=user,
                            read_at=_utc_naive(ev.read_at), transport=ev.transport, port=ev.port, baud=ev.baud,
                            primary_address=ev.primary_address, commissioning_id=commissioning_id, notes=notes,
                            tx_frames=list(ev.tx_frames))


def propose_meter(ev: Evidence, proposal: dict[str, Any] | None = None, *, site: str | None = None) -> dict[str, Any]:
    """The fields of a new register meter for the meter that sent ``ev`` (see the module docstring)."""
    from drivers.makes import new_meter_fields

    first = ev.first
    if proposal is None:
        proposal = {"mbus_manufacturer": first.get("manufacturer"), "secondary_address": first.get("identification"),
                    "serial": first.get("identification"),
                    "primary_address": ev.primary_address if ev.primary_address is not None else first.get("address"),
                    "baud": ev.baud, "medium": first.get("medium")}
    return new_meter_fields(proposal, first, site=site)


def save_readout(reg, ev: Evidence, *, user: str | None = None, meter_id: int | None = None,
                 commissioning_id: int | None = None, notes: str | None = None,
                 site: str | None = None) -> SavedReadout:
    """Store ``ev`` against its meter; without one, nothing is stored and the new meter is proposed.

    ``meter_id``: store against this meter (no matching); ``commissioning_id``:
    the readout is evidence of this commissioning record (of the same meter);
    ``site``: the site proposed for a new meter (default "Unassigned").
    Raises the register's errors (``RegisterError`` subclasses, one line each).
    """
    res = _store(reg, ev, meter_id=meter_id, user=user, commissioning_id=commissioning_id, notes=notes)
    if res.status == "no_match":
        return SavedReadout("no_match", manufacturer=res.manufacturer, identification=res.identification,
                            proposal=propose_meter(ev, res.proposal, site=site), candidates=list(res.candidates))
    return SavedReadout("saved", readout_id=res.readout_id, meter=res.meter, matched_by=res.matched_by,
                        manufacturer=res.manufacturer, identification=res.identification)


def create_meter_and_save(reg, ev: Evidence, fields: dict[str, Any], *, user: str | None = None,
                          source: str = "readout") -> SavedReadout:
    """Create the meter from ``fields`` (empty values left out; logged with ``source``) and store ``ev`` against it."""
    meter = reg.create_meter({k: v for k, v in fields.items() if v not in (None, "")}, user=user, source=source)
    res = _store(reg, ev, meter_id=meter.id, user=user, commissioning_id=None, notes=None)
    return SavedReadout("saved", readout_id=res.readout_id, meter=res.meter, matched_by=res.matched_by, created=True,
                        manufacturer=res.manufacturer, identification=res.identification)


def save_or_create(reg, ev: Evidence, *, user: str | None = None, create: bool = False, site: str | None = None,
                   source: str = "readout") -> SavedReadout:
    """:func:`save_readout`; when the register does not know the meter and ``create``, create it from the
    proposal (at ``site``) and store the readout against it."""
    res = save_readout(reg, ev, user=user, site=site)
    if res.status == "no_match" and create:
        return create_meter_and_save(reg, ev, res.proposal or {}, user=user, source=source)
    return res


def save_readouts(reg, evidence: Sequence[Evidence], *, meter_id: int, user: str | None = None,
                  commissioning_id: int | None = None) -> list[int]:
    """Store several readouts of one meter (e.g. a commissioning's evidence); their ids, in order."""
    return [_store(reg, ev, meter_id=meter_id, user=user, commissioning_id=commissioning_id, notes=None).readout_id
            for ev in evidence]


__all__ = ["Evidence", "SavedReadout", "propose_meter", "save_readout", "create_meter_and_save", "save_or_create",
           "save_readouts", "SELECTED_ADDRESS"]
