"""The commissioning certificate: one PDF with the meter and its place, the
checklist answers and notes, the plausibility results (and the clock step's
write, before and after), the observation window and its plot, the photos with
their SHA-256, the decoded readout, the raw hex of every telegram kept as
evidence, and the signature line. Written with the app's Qt PDF writer
(``app.ui.pdf``); text stays text."""
from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from app.core import commissioning as cm
from app.core.registers import medium_words
from app.services.commissioning import CommissioningState, SignOff
from app.ui.pdf import CONTENT_WIDTH_PX, esc, table, write_pdf

ROLE_WORDS = {"identify": "Identification", "check": "Plausibility", "observation_start": "Observation start",
              "observation_end": "Observation end"}


def spaced_hex(raw_hex: str) -> str:
    """``684D4D68…`` as ``68 4D 4D 68 …`` (so that it wraps on the page)."""
    h = re.sub(r"\s+", "", raw_hex).upper()
    return " ".join(h[i:i + 2] for i in range(0, len(h), 2))


def _when(iso: str | None) -> str:
    """An ISO time as local wall-clock time, to the second."""
    if not iso:
        return "—"
    try:
        t = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if t.tzinfo is not None:
        t = t.astimezone()
    return t.strftime("%Y-%m-%d %H:%M:%S")


def kv_table(rows: list[list[Any]], widths: tuple[str, ...] = ()) -> str:
    """A table of label/value pairs without a header row (cells escaped, labels bold)."""
    body = []
    for r in rows:
        cells = []
        for n, c in enumerate(r):
            w = f' width="{widths[n]}"' if n < len(widths) else ""
            cells.append(f"<td{w}><b>{esc(c)}</b></td>" if n % 2 == 0 else f"<td{w}>{esc(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table border="1" cellspacing="0" width="100%">{"".join(body)}</table>'


def small_table(headers: list[str], rows: list[list[Any]], widths: tuple[str, ...]) -> str:
    """A table in 8 pt (the checklist: one page)."""
    st = ' style="font-size: 8pt"'
    head = "".join(f'<th width="{widths[n]}"{st}>{esc(h)}</th>' for n, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{st}>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table border="1" cellspacing="0" width="100%"><tr>{head}</tr>{body}</table>'


def _v(x: Any, unit: str = "", digits: int | None = None) -> str:
    if x is None or x == "":
        return "—"
    if digits is not None and isinstance(x, (int, float)):
        return f"{x:.{digits}f}{(' ' + unit) if unit else ''}"
    return f"{x}{(' ' + unit) if unit else ''}"


def certificate_html(state: CommissioningState, *, record: dict[str, Any] | None = None,
                     point_info: dict[str, Any] | None = None, has_plot: bool = False,
                     photos: list[dict[str, Any]] | None = None) -> str:
    i, p = state.identify, state.place
    record = record or {}
    verdict = cm.overall_verdict(state.answers, state.checks)
    out: list[str] = []
    out.append("<h1>Heat meter commissioning certificate</h1>")
    out.append(f"<p class='muted'>EN 1434-6 installation and commissioning record (MMS 1.2.8, HNTAS E28). "
               f"Register record {esc(record.get('id') or state.record_id)}, "
               f"status {esc(record.get('status') or ('signed' if state.signed else 'draft'))}.</p>")
    cls = "pass" if verdict == "conforms" else "fail" if verdict == "does_not_conform" else ""
    out.append(f"<p>Result: <span class='{cls}'>{esc(cm.VERDICT_WORDS[verdict])}</span></p>")

    out.append("<h2>Meter</h2>")
    pos = {"flow": "flow pipe", "return": "return pipe"}.get(i.get("flow_sensor_position") or "", "—")
    rows = [["Make", _v(i.get("manufacturer")), "Model (type)", _v(i.get("model"))],
            ["Serial number", _v(i.get("serial")), "FLAG code", _v(i.get("mbus_manufacturer"))],
            ["Identification", _v(i.get("secondary_address")), "Medium", _v(medium_words(i.get("medium")))],
            ["Primary address", _v(i.get("primary_address")), "MID class", _v(i.get("mid_class"))],
            ["qp / qi / qs", f"{_v(i.get('qp_m3h'))} / {_v(i.get('qi_m3h'))} / {_v(i.get('qs_m3h'))} m³/h",
             "Δθmin / Δθmax", f"{_v(i.get('dtheta_min_k'))} / {_v(i.get('dtheta_max_k'))} K"],
            ["Flow sensor in", pos, "Year of install", (p.get("install_date") or "—")[:4]]]
    out.append(kv_table(rows, ("18%", "32%", "18%", "32%")))

    out.append("<h2>Place</h2>")
    mp = p.get("monitoring_point") or "—"
    if point_info:
        mp += f" — {point_info['description']}, read at least every {point_info['read_interval_min']} min (MMS Annex A)"
    out.append(table(["Site", "Building", "Location", "Monitoring point", "Installed on"],
                     [[_v(p.get("site")), _v(p.get("building")), _v(p.get("location")), mp,
                       _v(p.get("install_date"))]]))

    out.append("<h2>Plausibility</h2>")
    if state.checks:
        out.append(table(["Check", "Result", "Details"],
                         [[c.get("title") or c["key"], c["status"].upper(), c.get("message", "")]
                          for c in state.checks], widths=["24%", "10%", "66%"]))
    else:
        out.append("<p>No plausibility readout.</p>")
    if state.mpe:
        m = state.mpe
        op = m.get("operating_point") or {}
        out.append(f"<p>MPE of the complete meter at the observed operating point (q {_v(op.get('q_m3h'), 'm³/h', 3)}, "
                   f"Δθ {_v(op.get('dtheta_k'), 'K', 2)}; EN 1434-1): Ef {m['ef']:.2f} % + Et {m['et']:.2f} % + "
                   f"Ec {m['ec']:.2f} % = {m['e_total']:.2f} % (in service {m['in_service_total']:.2f} %).</p>")

    if state.clock:
        out.append(clock_html(state.clock))

    out.append("<h2 style='page-break-before: always'>Installation checklist</h2>")
    crow = []
    for n, item in enumerate(cm.CHECKLIST, start=1):
        a = state.answers.get(item.key) or {}
        crow.append([n, item.text, item.clause, cm.ANSWER_WORDS.get(a.get("answer") or "", "not answered"),
                     a.get("note") or ""])
    out.append(small_table(["#", "Item", "Clause", "Answer", "Note"], crow, ("4%", "50%", "17%", "9%", "20%")))

    out.append("<h2 style='page-break-before: always'>Observation window</h2>")
    obs = state.observation or {}
    k = obs.get("kpis")
    if k:
        c = k["completeness"]
        rows = [["Window", f"{_when(obs.get('started'))} to {_when(obs.get('ended'))} "
                           f"({k['duration_s'] / 60:.1f} min, poll every {k['interval_s']:g} s)"],
                ["Data completeness (HNTAS SS-KPI-02)",
                 f"{_v(c['pct'], '%', 1)}: {c['received']} of {c['expected']} expected polls ({c['status']})"],
                ["Volume-weighted average flow temperature (SS-KPI-09A)", _v(k.get("vwaft_c"), "°C", 2)],
                ["Volume-weighted average return temperature", _v(k.get("vwart_c"), "°C", 2)],
                ["Mean flow / return temperature", f"{_v(k.get('mean_flow_c'), '°C', 2)} / "
                                                   f"{_v(k.get('mean_return_c'), '°C', 2)}"],
                ["Volume: polls (Σ q·Δt) / register", f"{_v(k.get('volume_by_samples_m3'), 'm³', 4)} / "
                                                      f"{_v(k.get('volume_by_register_m3'), 'm³', 4)}"]]
        if obs.get("ended_early"):
            rows.append(["Ended early", obs["ended_early"]])
        out.append(kv_table(rows, ("45%", "55%")))
    else:
        out.append("<p>No observation window was run.</p>")
    if has_plot:
        out.append(f'<p><img src="plot" width="{CONTENT_WIDTH_PX}"></p>')

    if photos:
        out.append(photos_html(photos))

    latest = _latest_with_telegrams(state)
    out.append("<h2>Decoded readout</h2>")
    if latest is not None:
        out.append(f"<p>{esc(ROLE_WORDS.get(latest.get('role'), latest.get('role')))} readout of "
                   f"{esc(_when(latest.get('read_at')))}.</p>")
        out.append(small_table(["Tel.", "Register", "Value", "Unit", "Stored", "Details"], readout_rows(latest),
                               ("6%", "34%", "20%", "8%", "8%", "24%")))
    else:
        out.append("<p>No readout.</p>")

    out.append("<h2>Evidence: raw telegrams</h2>")
    out.append("<p class='muted'>Every frame below is stored byte for byte in the register with the "
               "commissioning record.</p>")
    for r in state.readouts:
        frames = r.get("frames_hex") or []
        where = ", ".join(x for x in (r.get("port") or r.get("transport"),
                                      f"{r['baud']} Bd" if r.get("baud") else None) if x)
        head = (f"{ROLE_WORDS.get(r.get('role'), r.get('role'))} — register readout {r.get('id') or '(not saved)'}, "
                f"{_when(r.get('read_at'))}" + (f", {where}" if where else ""))
        out.append(f"<p><b>{esc(head)}</b></p>")
        for n, h in enumerate(frames, start=1):
            out.append(f"<p class='mono'>Telegram {n}: {esc(spaced_hex(h))}</p>")

    out.append("<h2>Sign-off</h2>")
    signed_at = record.get("signed_at")
    out.append(table(["Technician", "Date", "Signed in the register", "Signature"],
                     [[_v(state.technician), _v(record.get("commissioned_on") or dt.date.today().isoformat()),
                       _v(str(signed_at)[:19] + " UTC" if signed_at else None), " "]],
                     widths=["25%", "15%", "25%", "35%"]))
    out.append("<p><br>Signature: ____________________________________</p>")
    if record.get("content_hash"):  # what `heatmeter db verify` checks the stored record against
        out.append(f"<p class='muted'>Register integrity: SHA-256 of the signed record "
                   f"<span class='mono'>{esc(record['content_hash'])}</span>"
                   + "".join(f"; readout {esc(r.get('id'))}: <span class='mono'>{esc(r['content_hash'])}</span>"
                             for r in state.readouts if r.get("content_hash")) + ".</p>")
    if state.notes:
        out.append(f"<p>Notes: {esc(state.notes)}</p>")
    return "".join(out)


def clock_html(clock: dict[str, Any]) -> str:
    """The clock step: the meter's clock before and after the write, the outcome, where it is kept."""
    ok = clock.get("ok")
    rows = [["Outcome", f"{'confirmed by a read-back' if ok else 'not confirmed'} ({clock.get('outcome')})"],
            ["Meter clock before", f"{_when(clock.get('before'))} (laptop {_when(clock.get('host_before'))})"],
            ["Time written", _when(clock.get("target"))],
            ["Meter clock after", f"{_when(clock.get('after'))} (laptop {_when(clock.get('host_after'))})"],
            ["Tolerance of the read-back", _v(clock.get("tolerance_s"), "s", 0)],
            ["Kept in the register", f"write {clock['write_id']}, {clock.get('frames', 0)} frames"
             if clock.get("write_id") else "—"]]
    if clock.get("reconfiguration"):
        rows.append(["Reconfiguration counter", clock["reconfiguration"].get("message", "")])
    if clock.get("detail"):
        rows.append(["Detail", clock["detail"]])
    return ("<h2>Meter clock set during commissioning</h2>"
            "<p class='muted'>EN 13757-3 date and time record (SND_UD, CI 0x51, DIF 0x04 VIF 0x6D), read back.</p>"
            + kv_table(rows, ("35%", "65%")))


def photos_html(photos: list[dict[str, Any]]) -> str:
    """The photos of the record: each picture with its step, caption, file and SHA-256 (the register's)."""
    from app.services.commissioning import step_words

    out = ["<h2 style='page-break-before: always'>Photos</h2>",
           "<p class='muted'>Kept in the register with the record; the SHA-256 of each file's bytes is printed "
           "under it and listed in the record's signature.</p>"]
    for p in photos:
        name = f"photo{p['id']}"
        out.append(f'<p><img src="{name}" width="{CONTENT_WIDTH_PX // 2}"></p>')
        caption = " · ".join(x for x in (step_words(p["step"]), p.get("caption"), p.get("filename")) if x)
        changed = "" if p.get("hash_ok", True) else " — THE BYTES NO LONGER MATCH THEIR HASH"
        out.append(f"<p><b>{esc(caption)}</b><br><span class='mono'>SHA-256 {esc(p['sha256'])}</span>"
                   f"{esc(changed)}</p>")
    return "".join(out)


def photo_images(photos: list[dict[str, Any]], max_px: int = 1200) -> dict[str, Any]:
    """name -> QImage of each photo (scaled to at most ``max_px``), for the PDF writer."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    out = {}
    for p in photos:
        img = QImage.fromData(p.get("data") or b"")
        if img.isNull():
            continue
        if max(img.width(), img.height()) > max_px:
            img = img.scaled(max_px, max_px, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        out[f"photo{p['id']}"] = img
    return out


def readout_rows(entry: dict[str, Any]) -> list[list[str]]:
    """The records of a stored readout as a person reads them: telegram number, the register's name (heat
    or cooling energy apart, MMS 1.1.13), value and unit (kWh / MWh, kW, m³, °C, hours), the storage number
    of a stored value, and what else qualifies it (tariff, subunit, maximum, other VIF extensions)."""
    from app.core.registers import FUNCTION_WORDS, other_modifiers, register_name, scaled

    rows = []
    for n, t in enumerate(entry.get("telegrams") or [], start=1):
        for r in t.get("records") or []:
            value, unit = scaled(r, group="\u2009")
            details = ([f"tariff {r['tariff']}"] if r.get("tariff") else []) + \
                      ([f"subunit {r['subunit']}"] if r.get("subunit") else [])
            if r.get("function") not in (None, "instantaneous"):
                details.append(FUNCTION_WORDS.get(r["function"], str(r["function"])))
            details += other_modifiers(r)
            rows.append([str(n), register_name(r, t.get("medium")), value, unit,
                         str(r["storage"]) if r.get("storage") else "", ", ".join(details)])
    return rows


def running_text(state: CommissioningState, record: dict[str, Any] | None = None) -> tuple[str, str]:
    """(header, footer) of every certificate page: which meter and which record it is about."""
    i = state.identify
    rid = (record or {}).get("id") or state.record_id
    ident = i.get("secondary_address") or i.get("serial") or ""
    who = f"{state.meter_label}" + (f", identification {ident}" if ident and ident not in state.meter_label else "")
    return (f"Commissioning certificate · {who} · register record {rid if rid is not None else '—'}",
            f"{state.meter_label} (serial {i.get('serial') or '—'})")


def _latest_with_telegrams(state: CommissioningState) -> dict[str, Any] | None:
    for r in reversed(state.readouts):
        if r.get("telegrams"):
            return r
    return None


def plot_image(samples: list[list[Any]], *, width: int = 1100, height: int = 760, interval_s: float = 5.0):
    """The observation window's live plot drawn off screen at a fixed size (a QImage), or None.

    ``samples``: rows (t_epoch_s, power_kw, flow_m3h, t_flow_c, t_return_c, ...)."""
    if not samples:
        return None
    from PySide6.QtCore import Qt

    from app.ui.widgets.liveplot import LivePlot

    plot = LivePlot(None, max_gap_s=2.5 * interval_s)
    plot.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    plot.resize(width, height)
    plot.add_samples([tuple(r[:5]) + ((r[7],) if len(r) > 7 else ()) for r in samples])
    plot.show()
    plot.show_all()
    plot.refresh()
    image = plot.glw.grab().toImage()
    plot.close()
    plot.deleteLater()
    return image


def write_certificate(path: str, state: CommissioningState, *, record: dict[str, Any] | None = None,
                      point_info: dict[str, Any] | None = None, plot_image=None,
                      photos: list[dict[str, Any]] | None = None) -> str:
    """Write the certificate PDF to ``path`` (folders are created); returns the path. ``photos``: the
    record's photos with their bytes (``data``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    images = {"plot": plot_image} if plot_image is not None and not plot_image.isNull() else {}
    has_plot = bool(images)
    pics = photo_images(photos or [])
    images.update(pics)
    shown = [p for p in (photos or []) if f"photo{p['id']}" in pics]
    body = certificate_html(state, record=record, point_info=point_info, has_plot=has_plot, photos=shown)
    header, footer = running_text(state, record)
    write_pdf(path, body, title=f"Commissioning certificate {state.meter_label}", images=images, header=header,
              footer=footer)
    return path


def write_signed(path: str, signed: SignOff, *, plot_image=None) -> str:
    """The certificate of a signed record (``app.services.commissioning.sign``) as a PDF at ``path``."""
    return write_certificate(path, signed.state, record=signed.record, point_info=signed.point_info,
                             plot_image=plot_image, photos=signed.photos)
