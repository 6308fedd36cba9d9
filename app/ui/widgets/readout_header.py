"""What the Readout page says above an optical readout (EN 62056-21, KMP), and the protocols it offers.

An M-Bus readout has a status byte and access numbers; an optical one has the
meter's identification line (EN 62056-21: maker, model, baud character), the
protocol mode and the rate the data came at, and error codes as a register (the
UH50's ``F``, the MULTICAL's info code).
"""
from __future__ import annotations

from html import escape

#: the Readout page's protocol choice: (key, what the list shows)
PROTOCOL_CHOICES = (("mbus", "M-Bus"), ("iec62056-21", "EN 62056-21 (optical)"), ("kmp", "KMP (optical)"))
PROTOCOL_WORDS = {"iec62056-21": "EN 62056-21 (IEC 1107)", "kmp": "Kamstrup KMP", "mbus": "M-Bus"}


def optical_header_html(ro) -> str:
    """Three or four lines about an optical readout (a ``drivers.session.Readout`` with ``protocol``)."""
    from drivers.makes import make_name

    from app.ui.widgets.meters import when_words

    first = ro.telegrams[0] if ro.telegrams else None
    flag = getattr(first, "manufacturer", None) or ""
    make = make_name(flag) or flag or "?"
    model = getattr(first, "model", None)
    ident = getattr(first, "identification", None) or "?"
    line1 = (f"<b>{escape(make)}</b> ({escape(flag)}) · <b>{escape(ident)}</b>"
             + (f" · {escape(model)}" if model else "") + " · read through the optical head")
    how = PROTOCOL_WORDS.get(ro.protocol, ro.protocol)
    mode = f" mode {ro.mode}" if ro.mode else ""
    n_rec = sum(len(t.records) for t in ro.telegrams)
    line2 = (f"{escape(how)}{mode}, data at {ro.baud} Bd · {len(ro.frames)} message"
             f"{'s' if len(ro.frames) != 1 else ''} received, {len(getattr(ro, 'tx_frames', []) or [])} sent "
             f"(all kept as evidence)")
    line3 = f"Read {when_words(ro.read_at)}: {n_rec} records · {ro.elapsed_s:.1f} s"
    lines = [line1, line2, line3]
    errs = [r for t in ro.telegrams for r in t.records if r.quantity == "error_flags"]
    if errs:
        bad = [r for r in errs if r.value not in (0, "0", None)]
        lines.append(f"<span style='color:#8b0000'><b>Meter error code: {', '.join(str(r.value) for r in bad)}"
                     f"</b></span>" if bad else "Error code 0: no error")
    notes = [n for t in ro.telegrams for n in (getattr(t, "notes", None) or [])]
    if notes:
        lines.append("<span style='color:#333'>" + escape("; ".join(notes)) + "</span>")
    return "<br>".join(lines)
