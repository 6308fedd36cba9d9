"""The connectivity survey report (MMS 2.1.9): PDF with a table and a chart, written with Qt's PDF writer.

``write_survey_pdf(path, result)`` writes an A4 landscape PDF (text stays text): who, where, when, with
which receiver; the thresholds and where they come from; the verdict counts; a chart of every meter's
RSSI at its best location against the receiver's sensitivity and the required margin; the locations;
every meter's verdict with its reason; every meter at every location. The CSV is
:func:`app.core.radio.survey.write_csv`. Safe in a worker thread (QImage, QPainter, QTextDocument).
"""
from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from app import __version__
from app.core.radio.survey import MIN_EXPECTED, SPREAD_FACTOR, VERDICTS, SurveyResult
from app.ui.pdf import CONTENT_WIDTH_PX, esc, table, write_pdf
from app.ui.radio.model import short_medium

VERDICT_INK = {"reliable": "#0a6b2d", "marginal": "#8a4b00", "listen longer": "#0b3d91", "not heard": "#a4001d"}
KEY_WORDS = {"plain": "—", "decrypted": "held", "no key": "MISSING", "wrong key": "WRONG",
             "unsupported": "not supported", "error": "error", "": ""}
IMAGE_WIDTH_PX = round(CONTENT_WIDTH_PX * 1.45)


def _f(v, digits: int = 1, unit: str = "") -> str:
    return "—" if v is None else f"{v:.{digits}f}{unit}"


def _when(t) -> str:
    return "" if t is None else t.astimezone().strftime("%Y-%m-%d %H:%M")


def _ratio(a) -> str:
    if a.expected is None:
        return f"{a.telegrams} / —"
    return f"{a.telegrams} / {a.expected:.1f} ({a.ratio:.0%})" if a.ratio is not None else f"{a.telegrams} / —"


_ATTENTION = {"not heard": 0, "marginal": 1, "listen longer": 2, "reliable": 3}


def attention_order(meters) -> list:
    """Meters needing attention first (not heard, marginal, listen longer, reliable), weakest first."""
    return sorted(meters, key=lambda m: (_ATTENTION[m.verdict], m.best.margin_db if m.best is not None
                                         and m.best.margin_db is not None else -999.0, m.meter))


def thresholds_text(result: SurveyResult) -> str:
    st = result.survey.settings
    from drivers.receivers.sensitivity import SOURCES

    sens = "not in dBm (the receiver's level is not calibrated): judged by telegrams heard only" \
        if st.sensitivity_dbm is None else \
        f"{st.sensitivity_dbm:.0f} dBm ({SOURCES.get(st.dongle or '', 'set by the user')})"
    return (f"Receiver: {esc(st.dongle or '?')} in mode {esc((st.mode or '?').upper())}; sensitivity {esc(sens)}. "
            f"A meter is received <b>reliably</b> at a location when the median RSSI of its telegrams there is at "
            f"least {st.margin_db:g} dB above the sensitivity (or {SPREAD_FACTOR:g} times the standard deviation "
            f"of its RSSI there, when more) and at least {st.min_ratio:.0%} of the telegrams it should have sent "
            f"while listening were heard (judged once {st.min_expected:g} or more were expected). "
            f"<i>Marginal</i>: heard, but one of the two fails. <i>Listen longer</i>: heard with the margin, too "
            f"few telegrams expected to judge. A meter's verdict is the one at its best location.")


def survey_chart(result: SurveyResult, width: int = 1500, height: int = 430) -> QImage:
    """Every meter heard: RSSI at its best location (dot: median, bar: min to max), sorted by margin,
    with the sensitivity and the required margin drawn across."""
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(QColor("#ffffff"))
    g = QPainter(img)
    g.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont("sans-serif")
    font.setPixelSize(17)
    g.setFont(font)
    st = result.survey.settings
    pts = [m for m in result.meters if m.best is not None and m.best.rssi_median_dbm is not None]
    pts.sort(key=lambda m: m.best.rssi_median_dbm)
    left, right, top, bottom = 90, 210, 24, 64
    w, h = width - left - right, height - top - bottom
    lo_db = min([m.best.rssi_min_dbm for m in pts] + ([st.sensitivity_dbm] if st.sensitivity_dbm else []) + [-110.0])
    hi_db = max([m.best.rssi_max_dbm for m in pts] + [-50.0])
    lo_db, hi_db = 10 * (lo_db // 10) - 5, 10 * -(-hi_db // 10)

    def y(db: float) -> float:
        return top + (hi_db - db) / (hi_db - lo_db) * h

    g.setPen(QPen(QColor("#d0d0d0"), 1))
    db = hi_db
    while db >= lo_db:
        g.drawLine(QPointF(left, y(db)), QPointF(left + w, y(db)))
        g.setPen(QPen(QColor("#000000"), 1))
        g.drawText(QRectF(0, y(db) - 12, left - 10, 24), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   f"{db:.0f}")
        g.setPen(QPen(QColor("#d0d0d0"), 1))
        db -= 10
    g.setPen(QPen(QColor("#000000"), 2))
    g.drawRect(QRectF(left, top, w, h))
    g.save()
    g.translate(20, top + h / 2)
    g.rotate(-90)
    g.drawText(QRectF(-h / 2, -14, h, 28), Qt.AlignmentFlag.AlignHCenter, "RSSI dBm")
    g.restore()
    g.drawText(QRectF(left, top + h + 32, w, 28), Qt.AlignmentFlag.AlignHCenter,
               f"{len(pts)} meters, weakest first (at each meter's best location)")
    if st.sensitivity_dbm is not None:
        for level, color, label in ((st.sensitivity_dbm, "#a4001d", f"sensitivity {st.sensitivity_dbm:.0f} dBm"),
                                    (st.sensitivity_dbm + st.margin_db, "#8a4b00",
                                     f"+ {st.margin_db:g} dB margin")):
            pen = QPen(QColor(color), 2)
            pen.setStyle(Qt.PenStyle.DashLine)
            g.setPen(pen)
            g.drawLine(QPointF(left, y(level)), QPointF(left + w, y(level)))
            g.drawText(QPointF(left + w + 8, y(level) + 6), label)
    n = max(1, len(pts))
    step = w / n
    for i, m in enumerate(pts):
        b = m.best
        x = left + step * (i + 0.5)
        ink = QColor(VERDICT_INK.get(b.verdict, "#000000"))
        g.setPen(QPen(ink, max(1.0, min(4.0, step * 0.25))))
        if b.rssi_min_dbm is not None and b.rssi_max_dbm is not None:
            g.drawLine(QPointF(x, y(b.rssi_min_dbm)), QPointF(x, y(b.rssi_max_dbm)))
        r = max(2.5, min(7.0, step * 0.35))
        g.setBrush(ink)
        g.drawEllipse(QPointF(x, y(b.rssi_median_dbm)), r, r)
        if n <= 40:
            g.save()
            g.setPen(QPen(QColor("#000000"), 1))
            small = QFont(font)
            small.setPixelSize(12)
            g.setFont(small)
            g.translate(x + 4, top + h + 6)
            g.rotate(45)
            g.drawText(QPointF(0, 0), (m.identification or m.meter)[-8:])
            g.restore()
    # legend
    yy = top + 10
    for v in VERDICTS[:3]:
        g.setPen(QPen(QColor(VERDICT_INK[v]), 2))
        g.setBrush(QColor(VERDICT_INK[v]))
        g.drawEllipse(QPointF(left + w + 18, yy + 60), 6, 6)
        g.setPen(QPen(QColor("#000000"), 1))
        g.drawText(QPointF(left + w + 32, yy + 66), v)
        yy += 26
    g.end()
    return img


def survey_report_html(result: SurveyResult, *, survey_id: int | None = None) -> str:
    s = result.survey
    counts = result.counts()
    when = f"{_when(s.started_at)} to {_when(s.ended_at)}" if s.started_at else "not started"
    html = [f"<h1>Connectivity survey — {esc(s.site)}</h1>",
            f"<p>{esc(s.name or 'Radio survey')}{f' (register survey {survey_id})' if survey_id else ''} · {esc(when)}"
            f" · {len(s.locations)} location(s) · technician {esc(s.technician or '—')}. "
            "MMS 2.1.9: a connectivity study of the wireless data communication, taking the vertical separation "
            "of dwellings and the building's materials into account (the locations below).</p>",
            f"<p>{thresholds_text(result)}</p>",
            "<h2>Summary</h2>",
            table(["meters", "reliable", "marginal", "listen longer", "not heard"],
                  [[len(result.meters), counts["reliable"], counts["marginal"], counts["listen longer"],
                    counts["not heard"]]]),
            "<h2>Signal at each meter's best location</h2>",
            f'<p><img src="chart" width="{IMAGE_WIDTH_PX}"></p>',
            "<h2>Locations</h2>"]
    rows = []
    for i, loc in enumerate(s.locations):
        lc = result.location_counts(i)
        heard = sum(1 for m in result.meters if m.at[i].telegrams)
        rows.append([i + 1, loc.name, loc.floor, loc.flat, loc.riser, _when(loc.started_at),
                     f"{loc.duration_s / 60:.1f}", len(loc.receptions), heard, lc["reliable"]])
    html.append(table(["#", "location", "floor", "flat", "riser", "from", "minutes", "telegrams", "meters heard",
                       "reliable here"], rows))
    html.append("<h2>Meters</h2><p>Those needing attention first: not heard, marginal, listen longer, then "
                "reliable; weakest first. Key: held (its telegrams decrypt), MISSING, WRONG, or — (not encrypted)."
                "</p>")
    rows = []
    for m in attention_order(result.meters):
        b = m.best
        loc = s.locations[b.location].label() if b is not None else "—"
        rows.append([m.meter, short_medium(m.medium), KEY_WORDS.get(m.status, m.status), m.verdict, loc, _f(b.rssi_median_dbm if b else None),
                     _f(b.margin_db if b else None) + (f" ({_f(b.required_margin_db)})" if b and b.required_margin_db
                                                        else ""),
                     _ratio(b) if b else "0 / —", _f(m.interval_s, 0, " s"), (b.reason if b else "heard nowhere")])
    html.append(table(["meter", "medium", "key", "verdict", "best location", "median dBm", "margin dB (needed)",
                       "heard / expected", "interval", "why"], rows,
                      widths=["10%", "7%", "7%", "8%", "13%", "6%", "8%", "9%", "7%", "25%"]))
    html.append("<h2>Every meter at every location</h2>")
    rows = []
    for m in result.meters:
        for a in m.at:
            if not a.telegrams and m.best is None:
                continue
            rows.append([m.meter, s.locations[a.location].name, a.telegrams, _f(a.rssi_min_dbm), _f(a.rssi_median_dbm),
                         _f(a.rssi_max_dbm), _f(a.margin_db), _ratio(a), a.verdict])
    html.append(table(["meter", "location", "telegrams", "min dBm", "median dBm", "max dBm", "margin dB",
                       "heard / expected", "verdict"], rows))
    html.append("<h2>Method</h2>"
                "<p>At each location the receiver listened for the time shown; every telegram heard was kept with its "
                "RSSI. A meter's send interval is estimated from the gaps between its telegrams (each gap divided by "
                "its whole multiple of a short reference gap, then the median), so lost telegrams do not lengthen it. "
                "Expected telegrams = listening time / send interval. The margin rule keeps 90 % of the telegrams "
                f"above the sensitivity for an RSSI spread of up to {10 / SPREAD_FACTOR:.1f} dB; a larger spread "
                f"measured at a location raises the margin needed there. The ratio is judged from "
                f"{MIN_EXPECTED:g} expected telegrams, so that a boundary telegram cannot decide it.</p>")
    html.append(f"<p class='muted'>Connectivity survey report made with heatmeter {esc(__version__)} on "
                f"{esc(dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}.</p>")
    return "".join(html)


def write_survey_pdf(path: str, result: SurveyResult, *, survey_id: int | None = None) -> None:
    """The report as an A4 landscape PDF (raises OSError when it cannot be written)."""
    img = survey_chart(result)
    write_pdf(path, survey_report_html(result, survey_id=survey_id),
              title=f"Connectivity survey — {result.survey.site}", images={"chart": img}, landscape=True)
