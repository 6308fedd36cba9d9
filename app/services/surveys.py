"""Connectivity surveys (MMS 2.1.9): judge, save with the site, read back.

The survey itself (locations, telegrams, verdicts) is :mod:`app.core.radio.survey`; this module is what
the Radio page (and any other front end) does with the register:

* :func:`save_survey` judges the survey, keeps it with its site (every telegram byte for byte, the
  verdicts as reported, a digest) and returns the register's id;
* :func:`load_survey` reads one back as a :class:`~app.core.radio.survey.Survey` with its verdicts (the
  thresholds it was saved with) and whether its telegrams still match the digest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.radio.survey import Survey, SurveyResult, assess

__all__ = ["results_summary", "save_survey", "load_survey", "SavedSurvey"]


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
    return SavedSurvey(doc["id"], survey, assess(survey), doc["digest_ok"], doc.get("created_by"),
                       doc.get("created_at"))
