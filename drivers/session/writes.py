"""Writes to a meter with the checks a technician would make first (worker side, blocking).

:func:`set_address_checked`: before a new primary address is written, the
session asks who answers there already. Nobody: the write goes ahead and is
confirmed by a read at the new address (:func:`drivers.ops.set_primary_address`).
Another meter (or several at once): nothing is written and
:class:`drivers.errors.AddressInUse` says who is there and how to recover.
The meter itself (asked for by secondary address and already there): nothing
to write, reported as confirmed.
"""
from __future__ import annotations

from drivers import errors as e
from drivers.session import messages


def occupant(link, address: int) -> str | None:
    """Who answers at primary ``address``: None (nobody), "" (several at once, or a meter that
    acknowledged but sent no data) or the ``ID.MAN.VV.MM`` of the one meter there."""
    from drivers import framing

    state = link.ping(address, retries=1)
    if state == "none":
        return None
    if state == "garbled":
        return ""
    try:
        tg = framing.decode(link.req_ud2(address))
    except e.LinkError:
        return ""
    return f"{tg.identification}.{tg.manufacturer}.{(tg.version or 0):02X}.{(tg.medium_code or 0):02X}"


def set_address_checked(link, *, new_address: int, address: int | None, mask, profile, target: str):
    """Check ``new_address`` is free, then write it (see the module docstring). ``target``: the words
    for the meter in messages; ``mask``: its secondary mask when addressed so (None: by ``address``).
    Returns a :class:`drivers.ops.WriteResult`."""
    from drivers.ops import WriteResult, set_primary_address
    from drivers.wakeup import wake

    if mask is None and address == new_address:
        raise ValueError(messages.same_address(new_address))
    if profile is not None and profile.has_preamble:
        wake(link.transport, profile)          # once: the write that follows needs no second preamble
        profile = profile.without_preamble()
    there = occupant(link, new_address)
    if there is not None:
        if there and mask is not None and mask.exact and str(mask) == there:
            return WriteResult(True, False, True, messages.already_there(new_address),
                               {"address": new_address, "secondary_address": there.split(".")[0],
                                "manufacturer": there.split(".")[1]}, {"new_address": new_address})
        raise e.AddressInUse(messages.address_in_use(new_address, there, target), address=new_address,
                             occupant=there)
    res = set_primary_address(link, new_address=new_address, address=address, secondary=mask, profile=profile)
    if res.acknowledged and not res.confirmed:
        res.detail = f"{res.detail}; {messages.recover_shared_address(new_address)}"
    return res
