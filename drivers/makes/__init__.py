"""What heatmeter knows about particular meter makes, beyond EN 13757-3.

Plain Python (no Qt, nothing from ``app``). One module per make that needs more
than the standard: ``kamstrup`` (the volume-weighted temperature registers E8/E9).
The registry here answers three questions for any meter:

* :func:`make_name` - the make for an M-Bus manufacturer FLAG code ("KAM" ->
  "Kamstrup"), from ``resources/mbus_manufacturers.csv`` (the first make listed
  for the code);
* :func:`model_name` - the model, where the version byte is known to belong to
  one (:data:`MODELS`: only versions seen in captured telegrams of a named model);
* :func:`volume_weighted` - the average flow/return temperatures implied by
  volume-weighted temperature registers (sum of temperature x volume, m³·°C),
  for the makes whose driver recognises such registers.
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from typing import Any, Iterable

from drivers.makes import kamstrup

# (FLAG, version byte) -> model. Each pair is the version byte of a captured telegram of
# that model (the libmbus test frames named after the meter, or a driver's detection rule).
MODELS: dict[tuple[str, int], str] = {
    ("KAM", 0x08): "MULTICAL 601",          # libmbus frame kamstrup_multical_601
    ("KAM", 0x35): "MULTICAL 603",          # wmbusmeters multical603 detection (KAM, version 0x35)
    ("LUG", 0x02): "ULTRAHEAT XS",          # libmbus frame metrona_ultraheat_xs
    ("ACW", 0x09): "CF Echo 2",             # libmbus frame itron_cf_echo_2
    ("ACW", 0x0B): "CF 55",                 # libmbus frame itron_cf_55
    ("SLB", 0x06): "Integral-MK MaXX",      # libmbus frames itron_integral_mk_maxx, SLB_CF-Compact-Integral-MK-MaXX
    ("SLB", 0x02): "CF50",                  # libmbus frame allmess_cf50
    ("SEN", 0x0E): "PolluStat E",           # libmbus frame SEN_Sensus-PolluStat-E
    ("SEN", 0x0B): "PolluTherm",            # libmbus frame SEN_Sensus-PolluTherm
    ("SEN", 0x08): "PolluCom E",            # libmbus frame sen_pollucom_e
    ("SPX", 0x34): "PolluTherm",            # libmbus frame metrona_pollutherm
    ("SON", 0x0D): "Supercal 531",          # libmbus frame sontex_supercal_531_telegram1
    ("SVM", 0x08): "F2",                    # libmbus frame Elster-F2
    ("SVM", 0x09): "F22",                   # libmbus frames svm_f22_telegram1/2
    ("ZRM", 0x81): "Minocal C2",            # libmbus frames minol_minocal_c2, ZRM_Minol-Minocal-C2
    ("AMT", 0xB0): "CALEC MB",              # libmbus frame amt_calec_mb
}

# per-make drivers: FLAG -> module with VOLUME_WEIGHTED {vib bytes: "flow" | "return"}
DRIVERS = {"KAM": kamstrup}


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    import resources

    out: dict[str, str] = {}
    try:
        with open(resources.path("mbus_manufacturers.csv"), newline="", encoding="utf-8") as f:
            rows = csv.DictReader(line for line in f if line.strip() and not line.lstrip().startswith("#"))
            for row in rows:
                flag = (row.get("flag") or "").strip().upper()
                make = (row.get("make") or "").strip()
                if flag and make and flag not in out:
                    out[flag] = make
    except OSError:
        pass
    return out


def make_name(flag: str | None) -> str | None:
    """The make for a FLAG code (``"KAM"`` -> ``"Kamstrup"``), None when the table does not know it."""
    if not flag:
        return None
    return _names().get(flag.strip().upper())


def model_name(flag: str | None, version: int | None) -> str | None:
    """The model a (FLAG, version byte) pair is known to be, else None."""
    if not flag or version is None:
        return None
    return MODELS.get((flag.strip().upper(), int(version)))


@dataclass(frozen=True)
class VolumeWeighted:
    """One volume-weighted temperature register and the average temperature it implies.

    ``register_m3c`` is the sum of temperature x volume (m³·°C) the meter keeps;
    ``volume_m3`` the meter's volume register of the same storage number;
    ``average_c`` = register ÷ volume (None when the volume is zero or missing).
    ``pipe`` is "flow" or "return"; ``source`` names the register (e.g. "Kamstrup E8").
    """

    pipe: str
    register_m3c: float
    volume_m3: float | None
    average_c: float | None
    storage: int
    telegram: int
    record: int
    source: str

    @property
    def plausible(self) -> bool:
        """An average inside -40..200 °C (anything else means the register is not what we think)."""
        return self.average_c is not None and -40.0 <= self.average_c <= 200.0


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _raw(rec: Any) -> bytes:
    raw = _get(rec, "raw", b"")
    if isinstance(raw, str):
        try:
            return bytes.fromhex(raw)
        except ValueError:
            return b""
    return bytes(raw or b"")


def record_vib(rec: Any) -> bytes:
    """The VIF and VIFE bytes of a record (object with ``vib`` or a decode-json dict with ``raw``)."""
    vib = getattr(rec, "vib", None)
    if isinstance(vib, (bytes, bytearray)):
        return bytes(vib)
    raw = _raw(rec)
    i = 0
    while i < len(raw) and raw[i] & 0x80:     # DIF, DIFEs
        i += 1
    i += 1
    start = i
    while i < len(raw) and raw[i] & 0x80:     # VIF, VIFEs
        i += 1
    return raw[start:i + 1]


def _is_plain_volume(rec: Any, storage: int) -> bool:
    return (_get(rec, "quantity") == "volume" and _get(rec, "unit") == "m3" and _get(rec, "storage", 0) == storage
            and _get(rec, "tariff", 0) == 0 and _get(rec, "subunit", 0) == 0
            and _get(rec, "function", "instantaneous") == "instantaneous" and not _get(rec, "modifiers")
            and isinstance(_get(rec, "value"), (int, float)))


def volume_weighted(telegrams: Iterable[Any]) -> list[VolumeWeighted]:
    """Volume-weighted temperature registers in a readout and the averages they imply.

    ``telegrams``: decoded telegrams (``drivers.mbus`` objects or decode-json dicts).
    Only makes with a driver in :data:`DRIVERS` are looked at; a register is paired
    with the volume register of the same storage number in the same readout.
    """
    tels = list(telegrams)
    volumes: dict[int, float] = {}
    for t in tels:
        for r in _get(t, "records", []) or []:
            st = _get(r, "storage", 0)
            if st not in volumes and _is_plain_volume(r, st):
                volumes[st] = float(_get(r, "value"))
    out: list[VolumeWeighted] = []
    for ti, t in enumerate(tels):
        drv = DRIVERS.get((_get(t, "manufacturer") or "").upper())
        if drv is None:
            continue
        for ri, r in enumerate(_get(t, "records", []) or []):
            which = drv.VOLUME_WEIGHTED.get(record_vib(r))
            value = _get(r, "value")
            if which is None or not isinstance(value, (int, float)) or _get(r, "tariff", 0) or _get(r, "subunit", 0):
                continue
            st = _get(r, "storage", 0)
            vol = volumes.get(st)
            avg = float(value) / vol if vol else None
            out.append(VolumeWeighted(which, float(value), vol, avg, st, ti, ri, drv.REGISTER_NAMES[which]))
    return out


DEFAULT_SITE = "Unassigned"


def new_meter_fields(proposal: dict, telegram: dict | None = None, *, site: str | None = None) -> dict:
    """Fields to create a register meter from a readout the register did not know.

    ``proposal``: what ``Register.save_readout`` proposed (FLAG code, identification,
    primary address, baud); ``telegram``: the first decoded telegram (decode-json
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


__all__ = ["new_meter_fields", "DEFAULT_SITE", "MODELS", "DRIVERS", "VolumeWeighted", "make_name", "model_name", "volume_weighted", "record_vib"]
