"""One telegram in full, as text: who sent it, the radio facts, encryption, every record, the raw bytes."""
from __future__ import annotations

from app.core.radio.reception import STATUS_WORDS, Reception, decode_again
from app.ui.widgets.meters import medium_words


def hex_lines(data: bytes, width: int = 16) -> str:
    return "\n".join(f"{i:04X}  " + " ".join(f"{b:02X}" for b in data[i:i + width]) for i in range(0, len(data), width))


def _value(r) -> str:
    v = r.value
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (bytes, bytearray)):
        return v.hex().upper()
    return "—" if v is None else str(v)


def telegram_text(rec: Reception, keys=None) -> str:
    """The telegram decoded again (with ``keys``), in plain text for a read-only monospaced pane."""
    t, error = decode_again(rec, keys)
    when = rec.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    rssi = "not measured" if rec.rssi_dbm is None else f"{rec.rssi_dbm:.1f} dBm"
    if rec.rssi_dbm is None and rec.rssi_raw is not None:
        rssi = f"level {rec.rssi_raw} (receiver not calibrated in dBm)"
    lines = [f"Received {when} (local time) · mode {(rec.mode or '?').upper()} · RSSI {rssi} · {len(rec.raw)} bytes"
             f"{', block CRCs format ' + rec.crc if rec.crc in ('A', 'B') else ''}"]
    if t is None:
        lines += [f"NOT DECODED: {error}", "", "Raw bytes:", hex_lines(rec.raw)]
        return "\n".join(lines)
    lines.append(f"Meter {t.manufacturer} {t.identification} · version 0x{(t.version or 0):02X} · "
                 f"{medium_words(t.medium)} · access no. {t.access_number if t.access_number is not None else '—'}")
    if t.link is not None and (t.link.manufacturer, t.link.identification) != (t.manufacturer, t.identification):
        lines.append(f"Radio address {t.link.manufacturer} {t.link.identification} (a converter sends for the meter)")
    if t.link is not None:
        lines.append(f"C-field 0x{t.link.c_field:02X} · CI 0x{(t.ci_field or 0):02X} · header {t.header or '—'}")
    mode = t.security_mode
    if mode in (None, 0):
        enc = "not encrypted"
    else:
        name = "ELL AES-128-CTR" if mode == "ell_ctr" else f"security mode {mode}"
        enc = f"{name}: " + ("decrypted with the meter's key" if t.security_reason is None else
                             f"{t.security_reason} — records withheld")
    lines.append(f"Encryption: {enc}")
    if t.status_flags:
        lines.append("Status: " + ", ".join(str(f).replace("_", " ") for f in t.status_flags))
    lines.append("")
    if t.records:
        lines.append(f"{'quantity':<26}{'value':>18}  {'unit':<6}{'stor.':>5}{'tar.':>5}  function")
        for r in t.records:
            q = r.quantity + (f" ({', '.join(r.modifiers)})" if r.modifiers else "")
            lines.append(f"{q[:26]:<26}{_value(r)[:18]:>18}  {r.unit[:6]:<6}{r.storage:>5}{r.tariff:>5}  {r.function}")
    elif t.security_reason:
        lines.append(f"No records: {STATUS_WORDS.get(rec.status, rec.status)} ({t.security_reason}).")
    else:
        lines.append("No records in this telegram.")
    lines += ["", "Raw bytes (as received):", hex_lines(rec.raw)]
    return "\n".join(lines)
