"""What heatmeter knows about particular meter makes, beyond EN 13757-3: the make registry.

Plain Python (no Qt, nothing from ``app``). One module per make in this package
(``kamstrup``, ``engelmann``, ``sensus`` ...), each declaring a ``MAKE``
(:class:`~drivers.makes.base.Make`): its FLAG codes, models by version byte,
optical-head wake-up profile, volume-weighted registers and simulated record
layout. The registry (:mod:`drivers.makes.registry`) finds the modules by
itself; adding a make is adding its module (and its test).

Questions answered for any meter:

* :func:`make_name` - the make for an M-Bus manufacturer FLAG code ("KAM" ->
  "Kamstrup"): the make module's name, else the first make
  ``resources/mbus_manufacturers.csv`` lists for the code;
* :func:`model_name` - the model, where the version byte is known to belong to one;
* :func:`profiles`, :func:`get_profile`, :func:`profile_for_manufacturer` - the
  wake-up table (generic profiles and every make's family profile);
* :func:`optical_protocol` - what a make's optical port speaks when it is not
  M-Bus (EN 62056-21 for Landis+Gyr, KMP for Kamstrup);
* :func:`volume_weighted` - the average flow/return temperatures implied by
  volume-weighted temperature registers (sum of temperature x volume, m³·°C);
* :func:`new_meter_fields` - the register fields of a meter first seen in a readout.
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord
from drivers.makes.registry import (discover, family_profile, get, get_profile, make_for, make_name, makes,
                                    model_name, optical_protocol, optical_protocols, profile_for_manufacturer,
                                    profiles, register, resolve_profile, simulator_layouts, unregister)
from drivers.makes.volume import VolumeWeighted, record_vib, volume_weighted

DEFAULT_SITE = "Unassigned"


def new_meter_fields(proposal: dict, telegram: dict | None = None, *, site: str | None = None) -> dict:
    """Fields to create a register meter from a readout the register did not know.

    ``proposal``: what ``Register.save_readout`` proposed (FLAG code, identification,
    primary address, baud); ``telegram``: the first decoded telegram (decode --json
    dict) for the version byte. The make comes from the FLAG code, the model from
    the version byte where known (else "unknown (M-Bus version XX)"), the serial is
    the identification number, the site ``site`` (default "Unassigned": the meter
    is placed later, e.g. by commissioning).
    """
    tg = telegram or {}
    flag = (proposal.get("mbus_manufacturer") or tg.get("manufacturer") or "").upper() or None
    version = tg.get("version")
    ident = proposal.get("secondary_address") or proposal.get("serial") or tg.get("identification")
    model = model_name(flag, version)
    if model is None:
        model = f"unknown (M-Bus version {version:02X})" if isinstance(version, int) else "unknown"
    fields = {"manufacturer": make_name(flag) or flag or "unknown", "mbus_manufacturer": flag, "model": model,
              "serial": proposal.get("serial") or ident, "secondary_address": ident, "site": site or DEFAULT_SITE}
    addr = proposal.get("primary_address")
    if isinstance(addr, int) and 1 <= addr <= 250:
        fields["primary_address"] = addr
    if proposal.get("baud"):
        fields["baud"] = int(proposal["baud"])
    return fields


__all__ = ["Make", "SimRecord", "register", "unregister", "discover", "makes", "get", "make_for", "make_name",
           "model_name", "profiles", "get_profile", "profile_for_manufacturer", "resolve_profile",
           "family_profile", "optical_protocol", "optical_protocols", "simulator_layouts", "VolumeWeighted",
           "volume_weighted", "record_vib",
           "new_meter_fields", "DEFAULT_SITE"]
