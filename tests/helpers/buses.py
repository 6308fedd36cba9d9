"""Bus descriptions the tests give the simulator (its JSON configuration format)."""
from __future__ import annotations

# A mixed bus: makes, media, multi-telegram, secondary-only meters (primary 0), ids sharing
# 7-digit prefixes, one id on two manufacturers, a sleepy optical port, a reset-before-read meter.
MIXED = {"baud": 38400, "meters": [
    {"identification": "71234567", "manufacturer": "KAM", "version": 8, "medium": 4, "primary_address": 1,
     "layout": "kamstrup", "energy_kwh": 15234.0, "volume_m3": 412.7},
    {"identification": "62100013", "manufacturer": "LUG", "version": 2, "medium": 4, "primary_address": 2,
     "layout": "landis", "energy_kwh": 8011.0, "volume_m3": 233.1},
    {"identification": "62100014", "manufacturer": "ACW", "version": 9, "medium": 4, "primary_address": 3,
     "layout": "itron"},
    {"identification": "62100015", "manufacturer": "SEN", "version": 14, "medium": 4, "primary_address": 4,
     "layout": "sensus", "telegrams": 3, "energy_kwh": 20440.0, "volume_m3": 611.0},
    {"identification": "30500001", "manufacturer": "SON", "version": 13, "medium": 12, "primary_address": 5,
     "layout": "sontex"},
    {"identification": "44556677", "manufacturer": "EFE", "version": 4, "medium": 4, "primary_address": 6,
     "layout": "engelmann", "wakeup": {"byte": "55", "min_ms": 250, "awake_s": 30}},
    {"identification": "12345678", "manufacturer": "KAM", "version": 27, "medium": 4, "primary_address": 0,
     "layout": "kamstrup"},
    {"identification": "12345678", "manufacturer": "GWF", "version": 53, "medium": 7, "primary_address": 0,
     "layout": "water", "volume_m3": 1234.567},
    {"identification": "12345679", "manufacturer": "SVM", "version": 9, "medium": 4, "primary_address": 0,
     "layout": "elster", "telegrams": 2},
    {"identification": "55500001", "manufacturer": "KAM", "version": 11, "medium": 10, "primary_address": 7,
     "layout": "generic", "energy_kwh": 1200.0, "theta_flow_c": 7.0, "dtheta_k": -5.0, "flow_m3h": 2.0},
    {"identification": "55500002", "manufacturer": "ACW", "version": 11, "medium": 13, "primary_address": 8,
     "layout": "heat_cooling", "theta_flow_c": 30.0, "dtheta_k": 2.0},
    {"identification": "80000001", "manufacturer": "LUG", "version": 3, "medium": 4, "primary_address": 9,
     "layout": "landis", "needs_reset": True},
]}


def identities(bus: dict, awake: bool = False) -> set[tuple]:
    """(identification, manufacturer, version, medium) of the meters that answer without a wake-up."""
    return {(m["identification"], m["manufacturer"], m["version"], m["medium"]) for m in bus["meters"]
            if awake or not m.get("wakeup")}


def _m(ident, man, ver, med, addr=0, layout="generic", **kw):
    return {"identification": ident, "manufacturer": man, "version": ver, "medium": med,
            "primary_address": addr, "layout": layout, **kw}


# Adversarial for the secondary search: 7-digit shared prefixes, one id on two manufacturers.
ADVERSARIAL = {"baud": 38400, "meters": [
    _m("12345670", "KAM", 8, 4, layout="kamstrup"), _m("12345671", "LUG", 2, 4, layout="landis"),
    _m("12345672", "ACW", 9, 4, layout="itron"), _m("12345678", "KAM", 27, 4, layout="kamstrup"),
    _m("12345678", "GWF", 53, 7, layout="water"), _m("90000001", "SON", 13, 12, layout="sontex"),
]}

# Shared prefixes only (no same-id pair): cheaper to search.
PREFIXES = {"baud": 38400, "meters": [m for m in ADVERSARIAL["meters"] if m["manufacturer"] != "GWF"]
            + [_m("12345609", "SEN", 14, 4, 0, "sensus", telegrams=2)]}
