"""Lookup tables of EN 13757-3 (wired M-Bus application layer).

Everything here is computed once at import and then only indexed. Each VIF
entry is a ``VifInfo`` tuple ``(quantity, unit, mul, den, off, kind)``: a raw
data value ``v`` becomes ``(v * mul + off) / den`` in the canonical ``unit``
(an ``int`` whenever that division is exact). ``kind`` says how the data field
is read (see the ``K_*`` constants).

Sources: EN 13757-3:2004 tables (primary VIF, 0xFB and 0xFD extensions,
combinable VIFEs, record error and object action codes) and the additions of
EN 13757-3:2013 where they are unambiguous. Where the corpus README
(``Conventions where the contract is silent``) fixes a name, it wins.
"""
from __future__ import annotations

from math import gcd

# How a record's data field is turned into a value.
K_NUM = 0    # number scaled into the canonical unit (type A BCD, B signed binary, H real)
K_ID = 1     # identifier: BCD or text -> string (every digit kept), binary -> unsigned int
K_DATE = 2   # point in time: type G (2 bytes), J (3), F (4), I (6)
K_RAW = 3    # number without scaling (manufacturer-specific or unknown meaning)
K_FLAGS = 4  # bit field (type D): unsigned int
K_MAN = 5    # manufacturer code as in the fixed header: 3 letters

UNKNOWN = ("unknown", "", 1, 1, 0, K_RAW)
MANUFACTURER_SPECIFIC = ("manufacturer_specific", "", 1, 1, 0, K_RAW)

_DUR_S = (1, 60, 3600, 86400)            # nn = seconds, minutes, hours, days
_FT3_M3 = (28316846592, 10 ** 12)        # 1 ft^3 in m^3, exact
_GAL_M3 = (3785411784, 10 ** 12)         # 1 US gallon in m^3, exact


def _sc(exp: int, num: int = 1, den: int = 1) -> tuple[int, int]:
    """10**exp * num / den as a reduced (mul, den) pair."""
    if exp >= 0:
        num *= 10 ** exp
    else:
        den *= 10 ** -exp
    g = gcd(num, den)
    return num // g, den // g


def _num(quantity: str, unit: str, exp: int, num: int = 1, den: int = 1):
    mul, d = _sc(exp, num, den)
    return (quantity, unit, mul, d, 0, K_NUM)


def _fahrenheit(quantity: str, exp: int, absolute: bool):
    """degF * 10**exp -> degC (absolute) or K (difference): (F - 32) * 5/9."""
    mul, den = _sc(exp)
    if absolute:
        return (quantity, "degC", mul * 5, den * 9, -160 * den, K_NUM)
    mul, den = _sc(exp, 5, 9)
    return (quantity, "K", mul, den, 0, K_NUM)


def _build_primary() -> list:
    t: list = [UNKNOWN] * 128
    for n in range(8):
        t[0x00 + n] = _num("energy", "Wh", n - 3)
        t[0x08 + n] = _num("energy", "J", n)
        t[0x10 + n] = _num("volume", "m3", n - 6)
        t[0x18 + n] = _num("mass", "kg", n - 3)
        t[0x28 + n] = _num("power", "W", n - 3)
        t[0x30 + n] = _num("power", "J/h", n)
        t[0x38 + n] = _num("volume_flow", "m3/h", n - 6)
        t[0x40 + n] = _num("volume_flow", "m3/h", n - 7, 60)      # m3/min
        t[0x48 + n] = _num("volume_flow", "m3/h", n - 9, 3600)    # m3/s
        t[0x50 + n] = _num("mass_flow", "kg/h", n - 3)
    for n in range(4):
        t[0x20 + n] = ("on_time", "s", _DUR_S[n], 1, 0, K_NUM)
        t[0x24 + n] = ("operating_time", "s", _DUR_S[n], 1, 0, K_NUM)
        t[0x58 + n] = _num("flow_temperature", "degC", n - 3)
        t[0x5C + n] = _num("return_temperature", "degC", n - 3)
        t[0x60 + n] = _num("temperature_difference", "K", n - 3)
        t[0x64 + n] = _num("external_temperature", "degC", n - 3)
        t[0x68 + n] = _num("pressure", "bar", n - 3)
        t[0x70 + n] = ("averaging_duration", "s", _DUR_S[n], 1, 0, K_NUM)
        t[0x74 + n] = ("actuality_duration", "s", _DUR_S[n], 1, 0, K_NUM)
    t[0x6C] = ("date", "", 1, 1, 0, K_DATE)
    t[0x6D] = ("datetime", "", 1, 1, 0, K_DATE)
    t[0x6E] = ("hca_units", "", 1, 1, 0, K_NUM)
    t[0x6F] = UNKNOWN                                   # reserved
    t[0x78] = ("fabrication_number", "", 1, 1, 0, K_ID)
    t[0x79] = ("enhanced_identification", "", 1, 1, 0, K_ID)
    t[0x7A] = ("bus_address", "", 1, 1, 0, K_NUM)
    t[0x7B] = None   # extension table 0xFB follows (decoder handles it)
    t[0x7C] = None   # plain-text VIF
    t[0x7D] = None   # extension table 0xFD follows
    t[0x7E] = ("any_vif", "", 1, 1, 0, K_RAW)           # readout selection (master to slave)
    t[0x7F] = MANUFACTURER_SPECIFIC
    return t


def _build_fb() -> list:
    """First extension table (VIF 0xFB, EN 13757-3 'alternate extended VIF')."""
    t: list = [UNKNOWN] * 128
    for n in range(2):
        t[0x00 + n] = _num("energy", "Wh", n + 5)              # 10^(n-1) MWh
        t[0x02 + n] = _num("reactive_energy", "varh", n + 3)   # 10^n kvarh (2013)
        t[0x04 + n] = _num("apparent_energy", "VAh", n + 3)    # 10^n kVAh (2013)
        t[0x08 + n] = _num("energy", "J", n + 8)               # 10^(n-1) GJ
        t[0x10 + n] = _num("volume", "m3", n + 2)
        t[0x18 + n] = _num("mass", "kg", n + 5)                # 10^(n+2) t
        t[0x1A + n] = _num("relative_humidity", "%", n - 1)    # (2013)
        t[0x22 + n] = _num("volume", "m3", n - 1, *_GAL_M3)    # 10^(n-1) US gallon
        t[0x28 + n] = _num("power", "W", n + 5)                # 10^(n-1) MW
        t[0x30 + n] = _num("power", "J/h", n + 8)              # 10^(n-1) GJ/h
    t[0x21] = _num("volume", "m3", -1, *_FT3_M3)               # 0.1 ft^3
    t[0x24] = _num("volume_flow", "m3/h", -3, _GAL_M3[0] * 60, _GAL_M3[1])   # 0.001 gal/min
    t[0x25] = _num("volume_flow", "m3/h", 0, _GAL_M3[0] * 60, _GAL_M3[1])    # gal/min
    t[0x26] = _num("volume_flow", "m3/h", 0, *_GAL_M3)                        # gal/h
    for n in range(4):
        t[0x14 + n] = _num("reactive_power", "var", n)         # 10^(nn-3) kvar (2013)
        t[0x2C + n] = _num("frequency", "Hz", n - 3)           # (2013)
        t[0x34 + n] = _num("apparent_power", "VA", n)          # 10^(nn-3) kVA (2013)
        t[0x58 + n] = _fahrenheit("flow_temperature", n - 3, True)
        t[0x5C + n] = _fahrenheit("return_temperature", n - 3, True)
        t[0x60 + n] = _fahrenheit("temperature_difference", n - 3, False)
        t[0x64 + n] = _fahrenheit("external_temperature", n - 3, True)
        t[0x70 + n] = _fahrenheit("cold_warm_temperature_limit", n - 3, True)
        t[0x74 + n] = _num("cold_warm_temperature_limit", "degC", n - 3)
    for n in range(8):
        t[0x78 + n] = _num("cumulative_count_max_power", "W", n - 3)
    return t


def _build_fd() -> list:
    """Main extension table (VIF 0xFD)."""
    t: list = [UNKNOWN] * 128
    for n in range(4):
        t[0x00 + n] = _num("credit", "currency", n - 3)
        t[0x04 + n] = _num("debit", "currency", n - 3)
        t[0x24 + n] = ("storage_interval", "s", _DUR_S[n], 1, 0, K_NUM)
        t[0x2C + n] = ("duration_since_last_readout", "s", _DUR_S[n], 1, 0, K_NUM)
        t[0x34 + n] = ("tariff_period", "s", _DUR_S[n], 1, 0, K_NUM)
    for n in range(1, 4):
        t[0x30 + n] = ("tariff_duration", "s", _DUR_S[n], 1, 0, K_NUM)
    ident = {0x0B: "parameter_set_id", 0x0C: "model_version", 0x0D: "hardware_version",
             0x0E: "firmware_version", 0x0F: "software_version", 0x10: "customer_location",
             0x11: "customer", 0x12: "access_code_user", 0x13: "access_code_operator",
             0x14: "access_code_system_operator", 0x15: "access_code_developer", 0x16: "password"}
    for code, name in ident.items():
        t[code] = (name, "", 1, 1, 0, K_ID)
    for code, name in {0x17: "error_flags", 0x18: "error_mask", 0x1A: "digital_output",
                       0x1B: "digital_input", 0x62: "control_signal",
                       0x66: "parameter_activation_state"}.items():
        t[code] = (name, "", 1, 1, 0, K_FLAGS)
    plain = {0x08: "access_number", 0x09: "medium", 0x1E: "retry",
             0x20: "first_storage_number", 0x21: "last_storage_number", 0x22: "storage_block_size",
             0x3A: "dimensionless", 0x60: "reset_counter", 0x61: "cumulation_counter",
             0x63: "day_of_week", 0x64: "week_number", 0x67: "special_supplier_information",
             0x75: "meter_stop_count"}
    for code, name in plain.items():
        t[code] = (name, "", 1, 1, 0, K_NUM)
    t[0x0A] = ("manufacturer", "", 1, 1, 0, K_MAN)
    t[0x1C] = ("baud_rate", "Bd", 1, 1, 0, K_NUM)
    t[0x1D] = ("response_delay_time", "bit_times", 1, 1, 0, K_NUM)
    t[0x28] = ("storage_interval", "month", 1, 1, 0, K_NUM)
    t[0x29] = ("storage_interval", "year", 1, 1, 0, K_NUM)
    t[0x30] = ("tariff_start", "", 1, 1, 0, K_DATE)
    t[0x38] = ("tariff_period", "month", 1, 1, 0, K_NUM)
    t[0x39] = ("tariff_period", "year", 1, 1, 0, K_NUM)
    for n in range(16):
        t[0x40 + n] = _num("voltage", "V", n - 9)
        t[0x50 + n] = _num("current", "A", n - 12)
    t[0x65] = ("time_point_of_day_change", "", 1, 1, 0, K_RAW)
    big = (("s", 3600), ("s", 86400), ("month", 1), ("year", 1))   # pp = hours, days, months, years
    for n in range(4):
        t[0x68 + n] = ("duration_since_last_cumulation", big[n][0], big[n][1], 1, 0, K_NUM)
        t[0x6C + n] = ("battery_operating_time", big[n][0], big[n][1], 1, 0, K_NUM)
    t[0x70] = ("battery_change", "", 1, 1, 0, K_DATE)
    t[0x72] = ("daylight_saving", "", 1, 1, 0, K_RAW)          # type K, kept raw
    t[0x73] = ("listening_window", "", 1, 1, 0, K_RAW)         # type L, kept raw
    t[0x74] = ("remaining_battery_lifetime", "s", 86400, 1, 0, K_NUM)   # days (2013)
    return t


PRIMARY_VIF = _build_primary()
FB_VIF = _build_fb()
FD_VIF = _build_fd()

# ---------------------------------------------------------------------------
# Combinable (orthogonal) VIFEs, slave to master. Entry = (action, name, arg).
#   "err"   record error code (E000 xxxx / E001 xxxx)
#   "per"   the value is per / multiplied by something: unit gets a suffix
#   "mod"   meaning modifier, value and unit unchanged
#   "count" number of limit exceeds: quantity becomes a count
#   "date"  date/time of ...: quantity becomes date/datetime of the VIF quantity
#   "dur"   duration of limit exceed: quantity becomes a duration in s (arg = s per unit)
#   "mul"   multiplicative correction factor 10**arg
#   "ext"   next VIFE comes from the combinable extension table (2013)
#   "mfr"   next VIFEs and the data of this record are manufacturer specific
#   "unk"   reserved or without an exact meaning here -> quantity "unknown"

RECORD_ERRORS = {
    0x00: "none", 0x01: "too_many_difes", 0x02: "storage_number_not_implemented",
    0x03: "unit_number_not_implemented", 0x04: "tariff_number_not_implemented",
    0x05: "function_not_implemented", 0x06: "data_class_not_implemented",
    0x07: "data_size_not_implemented", 0x0B: "too_many_vifes", 0x0C: "illegal_vif_group",
    0x0D: "illegal_vif_exponent", 0x0E: "vif_dif_mismatch", 0x0F: "unimplemented_action",
    0x15: "no_data_available", 0x16: "data_overflow", 0x17: "data_underflow",
    0x18: "data_error", 0x1C: "premature_end_of_record",
}

OBJECT_ACTIONS = {
    0x00: "write", 0x01: "add", 0x02: "subtract", 0x03: "or", 0x04: "and", 0x05: "xor",
    0x06: "and_not", 0x07: "clear", 0x08: "add_entry", 0x09: "delete_entry",
    0x0B: "freeze", 0x0C: "add_to_readout_list", 0x0D: "delete_from_readout_list",
}


def _build_combinable() -> list:
    t: list = [("unk", "", None)] * 128
    for c in range(0x20):
        t[c] = ("err", RECORD_ERRORS.get(c, "reserved_0x%02x" % c), None)
    per = [("per_second", "/s"), ("per_minute", "/min"), ("per_hour", "/h"), ("per_day", "/d"),
           ("per_week", "/week"), ("per_month", "/month"), ("per_year", "/year"),
           ("per_revolution", "/revolution")]
    for i, (name, suffix) in enumerate(per):
        t[0x20 + i] = ("per", name, suffix)
    t[0x28] = ("mod", "increment_per_input_pulse_channel_0", None)
    t[0x29] = ("mod", "increment_per_input_pulse_channel_1", None)
    t[0x2A] = ("mod", "increment_per_output_pulse_channel_0", None)
    t[0x2B] = ("mod", "increment_per_output_pulse_channel_1", None)
    per2 = [("per_litre", "/l"), ("per_m3", "/m3"), ("per_kg", "/kg"), ("per_kelvin", "/K"),
            ("per_kwh", "/kWh"), ("per_gj", "/GJ"), ("per_kw", "/kW"), ("per_kelvin_litre", "/(K*l)"),
            ("per_volt", "/V"), ("per_ampere", "/A"), ("multiplied_by_s", "*s"),
            ("multiplied_by_s_per_volt", "*s/V"), ("multiplied_by_s_per_ampere", "*s/A")]
    for i, (name, suffix) in enumerate(per2):
        t[0x2C + i] = ("per", name, suffix)
    t[0x39] = ("date", "start_date_of", None)
    t[0x3A] = ("mod", "uncorrected", None)
    t[0x3B] = ("mod", "accumulation_positive", None)
    t[0x3C] = ("mod", "accumulation_negative", None)
    t[0x3E] = ("mod", "value_at_base_conditions", None)     # 2013
    for u, lim in ((0, "lower"), (8, "upper")):
        t[0x40 + u] = ("mod", lim + "_limit_value", None)
        t[0x41 + u] = ("count", "number_of_%s_limit_exceeds" % lim, None)
        for f, first in ((0, "first"), (4, "last")):
            t[0x42 + u + f] = ("date", "date_of_%s_begin_of_%s_limit_exceed" % (first, lim), None)
            t[0x43 + u + f] = ("date", "date_of_%s_end_of_%s_limit_exceed" % (first, lim), None)
            for nn in range(4):
                t[0x50 + u + f + nn] = ("dur", "duration_of_%s_%s_limit_exceed" % (first, lim), _DUR_S[nn])
    t[0x6A] = ("date", "date_of_first_begin", None)
    t[0x6B] = ("date", "date_of_first_end", None)
    t[0x6E] = ("date", "date_of_last_begin", None)
    t[0x6F] = ("date", "date_of_last_end", None)
    for n in range(8):
        t[0x70 + n] = ("mul", "", n - 6)
    t[0x7C] = ("ext", "", None)
    t[0x7D] = ("mul", "", 3)
    t[0x7E] = ("mod", "future_value", None)
    t[0x7F] = ("mfr", "manufacturer_specific_vife", None)
    return t


COMBINABLE_VIFE = _build_combinable()

# Second combinable table, reached through VIFE 0x7C (EN 13757-3:2013).
COMBINABLE_EXT = {
    0x01: "phase_l1", 0x02: "phase_l2", 0x03: "phase_l3", 0x04: "neutral",
    0x05: "phase_l1_l2", 0x06: "phase_l2_l3", 0x07: "phase_l3_l1",
    0x0C: "delta_import_export", 0x10: "accumulation_absolute",
}

# ---------------------------------------------------------------------------
# Data field (low nibble of the DIF): byte length, -1 = variable (LVAR), -2 = special.
DATA_LENGTH = (0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, -2)
DATA_IS_BCD = (False,) * 9 + (True, True, True, True, False, True, False)

FUNCTIONS = ("instantaneous", "maximum", "minimum", "error")

# medium byte of the fixed header -> contract name (corpus README conventions)
MEDIUM_NAMES = {
    0x00: "other", 0x01: "oil", 0x02: "electricity", 0x03: "gas", 0x04: "heat_outlet",
    0x05: "steam", 0x06: "warm_water", 0x07: "water", 0x08: "heat_cost_allocator",
    0x09: "compressed_air", 0x0A: "cooling_outlet", 0x0B: "cooling_inlet",
    0x0C: "heat_inlet", 0x0D: "heat_cooling", 0x0E: "bus_system", 0x0F: "unknown",
    0x15: "hot_water", 0x16: "cold_water", 0x17: "dual_water", 0x18: "pressure",
    0x19: "ad_converter", 0x1A: "smoke_detector", 0x1B: "room_sensor", 0x1C: "gas_detector",
    0x20: "breaker", 0x21: "valve", 0x25: "customer_unit", 0x28: "waste_water",
    0x29: "garbage", 0x30: "service_unit", 0x36: "radio_converter_system_side",
    0x37: "radio_converter_meter_side",
}


def medium_name(code: int) -> str:
    return MEDIUM_NAMES.get(code, "reserved")


# Status byte of the fixed header (EN 13757-3), bit -> word.
STATUS_BITS = ((0x04, "power_low"), (0x08, "permanent_error"), (0x10, "temporary_error"),
               (0x20, "manufacturer_specific_5"), (0x40, "manufacturer_specific_6"),
               (0x80, "manufacturer_specific_7"))
APPLICATION_STATUS = (None, "application_busy", "application_error", "abnormal_condition")


def status_words(status: int) -> list[str]:
    """The status byte in words, e.g. 0x14 -> ['power_low', 'temporary_error']."""
    words = []
    app = APPLICATION_STATUS[status & 0x03]
    if app:
        words.append(app)
    for bit, word in STATUS_BITS:
        if status & bit:
            words.append(word)
    return words


# CI 0x70 general application error codes.
APPLICATION_ERRORS = {
    0: "unspecified_error", 1: "unimplemented_ci", 2: "buffer_too_long", 3: "too_many_records",
    4: "premature_end_of_record", 5: "too_many_difes", 6: "too_many_vifes", 7: "reserved",
    8: "application_busy", 9: "too_many_readouts",
}


def application_error_name(code: int) -> str:
    return APPLICATION_ERRORS.get(code, "reserved")


# Fixed data structure (CI 0x73/0x77): medium from 2 bits of each counter-type byte.
FIXED_MEDIUM_NAMES = ("other", "oil", "electricity", "gas", "heat", "steam", "hot_water", "water",
                      "heat_cost_allocator", "reserved", "gas_mode_2", "heat_mode_2",
                      "hot_water_mode_2", "water_mode_2", "heat_cost_allocator_mode_2", "reserved")


def _build_fixed_units() -> list:
    """6-bit unit code of a fixed-structure counter -> VifInfo (None = same as counter 1, historic)."""
    t: list = [UNKNOWN] * 64
    t[0x00] = ("time", "", 1, 1, 0, K_RAW)          # h,m,s
    t[0x01] = ("date", "", 1, 1, 0, K_RAW)          # D,M,Y
    for i in range(9):                               # Wh .. 100 MWh
        t[0x02 + i] = _num("energy", "Wh", i)
    for i in range(9):                               # kJ .. 100 GJ
        t[0x0B + i] = _num("energy", "J", i + 3)
    for i in range(9):                               # W .. 100 MW
        t[0x14 + i] = _num("power", "W", i)
    for i in range(9):                               # kJ/h .. 100 GJ/h
        t[0x1D + i] = _num("power", "J/h", i + 3)
    for i in range(9):                               # ml .. 100 m3
        t[0x26 + i] = _num("volume", "m3", i - 6)
    for i in range(9):                               # ml/h .. 100 m3/h
        t[0x2F + i] = _num("volume_flow", "m3/h", i - 6)
    t[0x38] = _num("temperature", "degC", -3)
    t[0x39] = ("hca_units", "", 1, 1, 0, K_NUM)
    t[0x3E] = None                                   # same unit as counter 1, historic value
    t[0x3F] = ("dimensionless", "", 1, 1, 0, K_NUM)  # without units
    return t


FIXED_UNITS = _build_fixed_units()


# ---------------------------------------------------------------------------
# Manufacturer code (EN 13757-3 / FLAG): 3 letters packed into 15 bits.

def manufacturer_int_to_code(value: int) -> str:
    """0x2C2D -> 'KAM'. Letters outside A-Z come out as the ASCII character 64 + 5-bit value."""
    return chr(((value >> 10) & 0x1F) + 64) + chr(((value >> 5) & 0x1F) + 64) + chr((value & 0x1F) + 64)


def manufacturer_code_to_int(code: str) -> int:
    """'KAM' -> 0x2C2D. Raises ValueError for anything but three letters A-Z."""
    if not isinstance(code, str) or len(code) != 3 or not all("A" <= ch <= "Z" for ch in code.upper()):
        raise ValueError("manufacturer code must be three letters A-Z, got %r" % (code,))
    code = code.upper()
    return ((ord(code[0]) - 64) << 10) | ((ord(code[1]) - 64) << 5) | (ord(code[2]) - 64)
