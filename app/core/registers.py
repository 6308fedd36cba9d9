"""A meter's registers in words and in the units a technician reads on the meter.

One place for what the app, the CLI and the certificate call a decoded record
and how they show its value, so that they never disagree:

* :func:`register_name`: ``energy`` of a heat meter is "Heat energy", of a
  cooling meter "Cooling energy"; on a heat/cooling meter (medium 0x0D) the
  register with the VIF extension "accumulation only if negative
  contributions" is the cooling register and the plain (or "only if positive")
  one the heating register: MMS 1.1.13 wants heating and cooling on separate
  registers, and the names keep them apart.
* :func:`scaled`: energy in kWh (MWh from a million kWh on), power in kW, on
  and operating time in hours, °C and m³ with their signs; the decoder's
  canonical units (Wh, W, s, degC, m3) are for files and scripts, not eyes.
* :func:`medium_words`: the EN 13757-3 medium in words.

Records are the decoder's objects or the decode contract's JSON dicts.
"""
from __future__ import annotations

from typing import Any

MEDIUM_WORDS = {
    "heat_outlet": "Heat (volume in return)", "heat_inlet": "Heat (volume in flow)",
    "cooling_outlet": "Cooling (volume in return)", "cooling_inlet": "Cooling (volume in flow)",
    "heat_cooling": "Heat / cooling", "water": "Water", "warm_water": "Warm water", "hot_water": "Hot water",
    "cold_water": "Cold water", "dual_water": "Dual water", "electricity": "Electricity", "gas": "Gas",
    "oil": "Oil", "steam": "Steam", "bus_system": "Bus / system component", "other": "Other",
    "unknown": "Unknown", "heat_cost_allocator": "Heat cost allocator", "compressed_air": "Compressed air",
    "heat": "Heat", "reserved": "Reserved",
}
HEAT_MEDIA = frozenset({"heat_outlet", "heat_inlet", "heat", "heat_mode_2"})
COOLING_MEDIA = frozenset({"cooling_outlet", "cooling_inlet"})
HEAT_COOLING_MEDIA = frozenset({"heat_cooling"})

# quantity -> words (the rest: the name with spaces, first letter capital)
QUANTITY_WORDS = {
    "on_time": "On time", "operating_time": "Operating time", "volume_flow": "Volume flow",
    "temperature_difference": "Temperature difference (Δθ)", "datetime": "Date and time", "date": "Date",
    "fabrication_number": "Fabrication number", "error_flags": "Error flags", "access_number": "Access number",
    "model_version": "Model version", "firmware_version": "Firmware version",
}
FUNCTION_WORDS = {"instantaneous": "current", "maximum": "maximum", "minimum": "minimum", "error": "during error"}
_MODIFIERS_IN_NAME = frozenset({"accumulation_negative", "accumulation_positive"})
_THERMAL = frozenset({"energy", "power"})


def _get(rec: Any, key: str, default: Any = None) -> Any:
    if isinstance(rec, dict):
        return rec.get(key, default)
    return getattr(rec, key, default)


def words(name: str | None) -> str:
    """``flow_temperature`` -> ``Flow temperature``."""
    if not name:
        return ""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def medium_words(name: str | None) -> str:
    """``heat_outlet`` -> ``Heat (volume in return)``; "" for none."""
    if not name:
        return ""
    return MEDIUM_WORDS.get(name, words(name))


def thermal_kind(quantity: str | None, medium: str | None, modifiers=()) -> str | None:
    """"heat", "cooling" or None: which side an energy or power register counts (MMS 1.1.13)."""
    if quantity not in _THERMAL:
        return None
    mods = set(modifiers or ())
    if "accumulation_negative" in mods:
        return "cooling"
    if medium in COOLING_MEDIA:
        return "cooling"
    if medium in HEAT_MEDIA or medium in HEAT_COOLING_MEDIA or "accumulation_positive" in mods:
        return "heat"
    return None


def register_name(rec: Any, medium: str | None = None) -> str:
    """What a record is, in words: "Heat energy", "Cooling energy", "Flow temperature", "Volume of …"."""
    q = _get(rec, "quantity") or ""
    kind = thermal_kind(q, medium, _get(rec, "modifiers") or ())
    if kind == "cooling":
        name = f"Cooling {q}"
    elif kind == "heat":
        name = "Heat energy" if q == "energy" else "Power"
    else:
        name = QUANTITY_WORDS.get(q) or words(q)
    subject = _get(rec, "subject")
    if subject:
        name += f" of {words(subject).lower()}"
    return name


def other_modifiers(rec: Any) -> list[str]:
    """The record's VIF-extension meanings that its name does not already say, in words."""
    return [words(m).lower() for m in (_get(rec, "modifiers") or ()) if m not in _MODIFIERS_IN_NAME]


def number(v: float, decimals: int | None = None, *, group: str = "\u2009") -> str:
    """A number with thin-space thousands (``group``) and no trailing zeros unless ``decimals``."""
    if isinstance(v, int) and not isinstance(v, bool) and decimals is None:
        return f"{v:,}".replace(",", group)
    if decimals is None:
        text = f"{v:.6f}".rstrip("0").rstrip(".")
    else:
        text = f"{v:.{decimals}f}"
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}".replace(",", group)
    if sign and whole == "0" and not frac.strip("0"):
        sign = ""
    return sign + whole + ("." + frac if frac else "")


# canonical unit -> (shown unit, divisor); _LARGE: the next prefix up (unit, factor, from which reading on):
# a million kWh and more in MWh, a thousand MJ and more in GJ (as meters that count in MWh or GJ show them)
_DISPLAY = {"Wh": ("kWh", 1e3), "W": ("kW", 1e3), "J": ("MJ", 1e6), "J/h": ("MJ/h", 1e6), "m3": ("m³", 1.0),
            "m3/h": ("m³/h", 1.0), "degC": ("°C", 1.0), "K": ("K", 1.0), "kg/h": ("kg/h", 1.0),
            "bar": ("bar", 1.0), "kg": ("kg", 1.0), "s": ("s", 1.0)}
_LARGE = {"kWh": ("MWh", 1e3, 1e6), "MJ": ("GJ", 1e3, 1e3)}
_HOURS = frozenset({"on_time", "operating_time"})


def scaled(rec: Any, *, large: bool = True, group: str = "\u2009") -> tuple[str, str]:
    """(value, unit) of a record as a person reads it: kWh (MWh from 1 000 000 kWh with ``large``; MJ, GJ),
    kW, MJ, m³, m³/h, °C, K, hours for on and operating time; dates as ``YYYY-MM-DD hh:mm``."""
    v, unit = _get(rec, "value"), _get(rec, "unit") or ""
    q = _get(rec, "quantity")
    if v is None:
        return "—", _DISPLAY.get(unit, (unit, 1))[0]
    if isinstance(v, str) and q in ("datetime", "date") and "T" in v:
        return v.replace("T", " "), ""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v), ("" if unit in ("", "none") else unit)
    if q in _HOURS and unit == "s":
        return (number(v / 3600.0, group=group) if v % 3600 else number(int(v // 3600), group=group)), "h"
    shown, div = _DISPLAY.get(unit, (unit, 1.0))
    value = v / div if div != 1.0 else v
    if large and shown in _LARGE and abs(value) >= _LARGE[shown][2]:
        shown, extra, _from = _LARGE[shown]
        value = value / extra
    if isinstance(value, float) and value.is_integer() and div != 1.0:
        value = int(value)
    return number(value, group=group), shown
