"""Commissioning a radio meter: identify it from the telegrams received, check that its key decrypts,
its send interval and its signal, and keep the telegrams as evidence (no Qt).

:func:`radio_readout` turns the last telegrams heard from a meter (a
:class:`app.core.radio.heard.HeardMeter`) into a :class:`~app.services.commissioning.meter.MeterReadout`
(raw telegrams byte for byte, decoded again with the key lookup): the same evidence a bus read gives,
``transport`` "radio". :func:`radio_assessment` judges the meter as the connectivity survey does
(:mod:`app.core.radio.survey`): the key (decrypted, not encrypted, missing, wrong), the signal (median RSSI
above the receiver's sensitivity by the survey's margin) and the telegrams heard against those expected
at the estimated send interval. :func:`apply_radio_identification` fills the commissioning state from both.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from app.core.radio.heard import HeardMeter
from app.core.radio.reception import decode_again
from app.core.radio.survey import MARGIN_DB, MIN_EXPECTED, MIN_RATIO
from app.services.commissioning.meter import MeterReadout, MeterRef

__all__ = ["radio_readout", "radio_assessment", "apply_radio_identification", "EVIDENCE_TELEGRAMS",
           "radio_problems"]

EVIDENCE_TELEGRAMS = 10        # the last telegrams kept as evidence of one radio readout


def radio_readout(meter: HeardMeter, keys=None, *, source: str = "radio", mode: str | None = None,
                  telegrams: int = EVIDENCE_TELEGRAMS) -> MeterReadout:
    """The last ``telegrams`` telegrams heard from ``meter`` as a readout (those that decode; the newest
    first in ``telegrams``, so that ``first`` is the latest state of the meter). ValueError when none
    decodes."""
    from drivers.makes import make_name

    recs = list(meter.log)[-telegrams:]
    frames, decoded = [], []
    for r in reversed(recs):
        t, _err = decode_again(r, keys)
        if t is None:
            continue
        frames.append(r.raw)
        j = t.to_json()
        j["received_at"] = r.received_at.isoformat(timespec="milliseconds")
        decoded.append(j)
    if not decoded:
        raise ValueError(f"no telegram of {meter.key} decodes: nothing to identify it by")
    first = decoded[0]
    ref = MeterRef(None, first.get("identification"), first.get("manufacturer"), first.get("medium"),
                   first.get("version"), first.get("medium_code"), make_name(first.get("manufacturer")) or None)
    read_at = recs[-1].received_at
    return MeterReadout(read_at=read_at, frames=frames, telegrams=decoded, meter=ref, transport="radio",
                        port=source, baud=None, extra={"mode": mode or next(iter(sorted(meter.modes)), None)})


def radio_assessment(meter: HeardMeter, *, since: dt.datetime | None, now: dt.datetime | None,
                     sensitivity_dbm: float | None, margin_db: float = MARGIN_DB, min_ratio: float = MIN_RATIO,
                     min_expected: float = MIN_EXPECTED) -> dict[str, Any]:
    """What the radio tells of the meter, and three checks: key, signal, telegrams heard vs expected.
    Each check is ``{"check", "ok": True | False | None (not judged), "text"}``."""
    exp = meter.expected(since, now)
    ratio = meter.ratio(since, now)
    checks = []
    key_ok = {"decrypted": True, "plain": True, "no key": False, "wrong key": False}.get(meter.status)
    key_text = {"decrypted": "encrypted; the key held for it decrypts its telegrams",
                "plain": "not encrypted (MMS 2.3.4 asks for encryption of data leaving the dwelling)",
                "no key": "encrypted, but no key for it is held: import the key from the maker's file",
                "wrong key": "encrypted, and the key held for it does not decrypt it: get the right key"
                }.get(meter.status, meter.detail or meter.status)
    checks.append({"check": "key", "ok": key_ok, "text": key_text})
    margin = None
    if meter.rssi_median is not None and sensitivity_dbm is not None:
        margin = meter.rssi_median - sensitivity_dbm
        ok = margin >= margin_db
        checks.append({"check": "signal", "ok": ok,
                       "text": f"median RSSI {meter.rssi_median:.1f} dBm, {margin:.1f} dB above the receiver's "
                               f"sensitivity ({margin_db:g} dB needed)"})
    else:
        checks.append({"check": "signal", "ok": None,
                       "text": "signal not judged: the receiver gives no calibrated dBm or its sensitivity is "
                               "not known"})
    iv = meter.interval_s
    if iv is None or exp is None or exp < min_expected:
        checks.append({"check": "interval", "ok": None,
                       "text": ("send interval not known yet: listen for at least three telegrams" if iv is None else
                                f"send interval {iv:.0f} s; {meter.count} heard, {exp or 0:.1f} expected: listen "
                                f"longer to judge ({min_expected:g} expected needed)")})
    else:
        checks.append({"check": "interval", "ok": ratio >= min_ratio,
                       "text": f"send interval {iv:.0f} s; {meter.count} of {exp:.1f} expected telegrams heard "
                               f"({ratio:.0%}, {min_ratio:.0%} needed)"})
    return {"meter": meter.key, "mode": next(iter(sorted(meter.modes)), None), "telegrams": meter.count,
            "interval_s": None if iv is None else round(iv, 1), "expected": None if exp is None else round(exp, 1),
            "ratio": None if ratio is None else round(ratio, 3),
            "rssi_median_dbm": meter.rssi_median, "rssi_min_dbm": meter.rssi_min, "rssi_max_dbm": meter.rssi_max,
            "sensitivity_dbm": sensitivity_dbm, "margin_db": None if margin is None else round(margin, 1),
            "key": meter.status, "security": None if meter.security is None else str(meter.security),
            "checks": checks}


def radio_problems(assessment: dict[str, Any]) -> list[str]:
    """The checks that failed, in words (empty: none failed)."""
    return [c["text"] for c in assessment.get("checks") or () if c.get("ok") is False]


def apply_radio_identification(state, readout: MeterReadout, assessment: dict[str, Any], meter=None) -> None:
    """Identify the meter from its radio telegrams (as from a bus read) and keep the radio assessment."""
    from app.services.commissioning.workflow import apply_identification

    apply_identification(state, readout, meter)
    state.identify["radio"] = assessment
    state.identify["primary_address"] = state.identify.get("primary_address") or None
