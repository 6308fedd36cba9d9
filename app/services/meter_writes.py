"""Keep a write to a meter (primary address, baud rate, clock) in its history in the register.

One workflow for ``heatmeter set-address | set-baud | set-clock --save`` and the
app (the Commission wizard's clock step): the drivers' result of the write
(``drivers.ops.WriteResult`` or ``drivers.clock.ClockWriteResult``) says what
the meter had before and has after and carries every frame sent and received;
:func:`record_write` stores that against the meter (matched by FLAG code and
identification, or ``meter_id``) with ``Register.record_meter_write``. A write
that wrote nothing (a meter without a clock record, a write the user did not
agree to) is not kept. The register logs it (``write_<kind>``, before, after)
and, for a confirmed address or baud write, updates the meter's record.
"""
from __future__ import annotations

from typing import Any

#: outcomes of a clock write in which nothing was written to the meter
NOT_WRITTEN = ("no_clock", "not_agreed")


def written(result: Any) -> bool:
    """Whether ``result`` (a write's result) sent anything that may have changed the meter."""
    return getattr(result, "outcome", "") not in NOT_WRITTEN


def record_write(reg, result: Any, *, user: str | None = None, port: str | None = None,
                 transport: str | None = None, meter_id: int | None = None,
                 commissioning_id: int | None = None) -> dict[str, Any] | None:
    """Keep ``result`` in the meter's history; None when nothing was written. Returns the register's
    answer: ``{"status": "saved", "write_id", "meter_id"}`` or ``{"status": "no_match", ...}``."""
    if not written(result):
        return None
    ev = dict(result.evidence())
    if transport is None and port:
        transport = "gateway" if "://" in port else "serial"
    out = reg.record_meter_write(ev.pop("kind"), **ev, user=user, port=port, transport=transport,
                                 meter_id=meter_id, commissioning_id=commissioning_id)
    out.pop("meter", None)
    return out


__all__ = ["record_write", "written", "NOT_WRITTEN"]
