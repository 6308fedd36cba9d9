"""Connectivity surveys (MMS 2.1.9): judge, save with the site, read back.

The survey itself (locations, telegrams, verdicts) is :mod:`app.core.radio.survey`; this module is what
the Radio page (and any other front end) does with the register:

* :func:`save_survey` judges the survey, keeps it with its site (every telegram byte for byte, the
  verdicts as reported, a digest) and returns the register's id;
* :func:`radio_meters_of_site` names the register's radio meters of a site (those whose key the key store
  holds), so that a meter the survey never heard is reported as ``not heard`` instead of left out;
* :func:`load_survey` reads one back as a :class:`~app.core.radio.survey.Survey` with its verdicts (the
  thresholds it was saved with) and whether its telegrams still match the digest;
* :func:`write_csv` writes the survey's CSV (one row per meter and location) through the one safe writer,
  and :func:`summary_json` gives a survey and its verdicts as JSON data (``heatmeter survey show --json``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.core.radio.survey import Survey, SurveyResult, assess

__all__ = ["results_summary", "save_survey", "load_survey", "SavedSurvey", "radio_meters_of_site", "write_csv",
           "summary_json"]


def radio_meters_of_site(reg, site: str, key_ids: Iterable[str]) -> tuple[str, ...]:
    """``"FLAG id"`` of every in-service meter of ``site`` in the register whose key the key store holds
    (``key_ids``: ``"KAM 12345678"`` or a bare ``"12345678"``): the radio meters the survey should hear.
    A meter is known by its FLAG code and the 8-digit id of its secondary address (or its serial when that
    is 8 digits). Meters without a key are not listed: the register does not say which meters are radio
    meters, and an unencrypted radio meter that was heard is judged anyway."""
    held = set(key_ids)
    if not held or not site:
        return ()
    out = set()
    for m in reg.list_meters(site=site, status="in_service", include_restricted=True):
        flag = (m.mbus_manufacturer or "").upper() or None
        ids = {(m.secondary_address or "")[:8], m.serial or ""}
        for ident in ids:
            if len(ident) == 8 and ident.isdigit() and flag and (f"{flag} {ident}" in held or ident in held):
                out.add(f"{flag} {ident}")
    return tuple(sorted(out))


def results_summary(result: SurveyResult) -> dict[str, Any]:
    """The verdicts as reported, for the register: counts, thresholds, per meter verdict and best location."""
    s = result.survey
    return {"counts": result.counts(), "settings": s.settings.to_json(),
            "meters": {m.meter: {"verdict": m.verdict,
                                 "best_location": None if m.best is None else s.locations[m.best.location].name,
                                 "margin_db": None if m.best is None else m.best.margin_db,
                                 "ratio": None if m.best is None else m.best.ratio}
                       for m in result.meters}}


def save_survey(reg, survey: Survey, *, user: str | None = None, result: SurveyResult | None = None) -> int:
    """Judge ``survey`` (unless ``result`` is given) and store it with its site; returns its id."""
    result = result if result is not None else assess(survey)
    return reg.save_survey(survey.to_document(), user=user, results=results_summary(result))


@dataclass(frozen=True)
class SavedSurvey:
    id: int
    survey: Survey
    result: SurveyResult
    digest_ok: bool
    created_by: str | None
    created_at: Any


def load_survey(reg, survey_id: int) -> SavedSurvey:
    """A saved survey, judged again with the thresholds it was saved with."""
    doc = reg.survey(survey_id)
    survey = Survey.from_document(doc)
    # the meters reported when it was saved, heard or not (a meter expected and never heard stays listed)
    expected = tuple(((doc.get("results") or {}).get("meters") or {}).keys())
    return SavedSurvey(doc["id"], survey, assess(survey, expected), doc["digest_ok"], doc.get("created_by"),
                       doc.get("created_at"))


def write_csv(path, result: SurveyResult) -> int:
    """The survey's CSV, one row per meter and location: no live formula, written atomically; returns the rows."""
    from app.core.radio.survey import CSV_COLUMNS, csv_rows
    from app.storage import safe_export

    return safe_export.write_csv(path, CSV_COLUMNS, ([r.get(c) for c in CSV_COLUMNS] for r in csv_rows(result)),
                                 bom=True)


def summary_json(saved: SavedSurvey) -> dict[str, Any]:
    """A saved survey as JSON data: who, where, when, the receiver and thresholds, whether its telegrams still
    match their digest, the verdict counts, each location and each meter's verdict at its best location."""
    s, res = saved.survey, saved.result

    def when(v):
        return None if v is None else v.isoformat(timespec="seconds")

    return {"id": saved.id, "site": s.site, "name": s.name or None, "technician": s.technician or None,
            "notes": s.notes or None, "started_at": when(s.started_at), "ended_at": when(s.ended_at),
            "saved_by": saved.created_by, "saved_at": when(saved.created_at), "digest_ok": saved.digest_ok,
            "settings": s.settings.to_json(), "counts": res.counts(),
            "locations": [{"name": loc.name, "floor": loc.floor or None, "flat": loc.flat or None,
                           "riser": loc.riser or None, "started_at": when(loc.started_at),
                           "listened_s": None if loc.duration_s is None else round(loc.duration_s),
                           "telegrams": len(loc.receptions)} for loc in s.locations],
            "meters": [{"meter": m.meter, "verdict": m.verdict,
                        "best_location": None if m.best is None else s.locations[m.best.location].name,
                        "margin_db": None if m.best is None or m.best.margin_db is None else round(m.best.margin_db, 1),
                        "heard_ratio": None if m.best is None or m.best.ratio is None else round(m.best.ratio, 2),
                        "key_status": m.status or None,
                        "reason": None if m.best is None else m.best.reason} for m in res.meters]}
