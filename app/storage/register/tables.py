"""The register's tables as the package writes them, and the few names every part of it shares."""
from __future__ import annotations

import getpass

from app.storage import integrity, models

M = models.Meter.__table__
S = models.Site.__table__
B = models.Building.__table__
MP = models.MonitoringPoint.__table__
INST = models.Installation.__table__
EV = models.EventLog.__table__
EVB = models.EventBatch.__table__
COM = models.CommissioningRecord.__table__
RO = models.Readout.__table__
RF = models.ReadoutFrame.__table__
CAL = models.CalibrationResult.__table__
CALP = models.CalibrationPoint.__table__
LOT = models.Lot.__table__
LOTM = models.LotMember.__table__
LOTD = models.LotDraw.__table__
LOTR = models.LotResult.__table__
LOTV = models.LotVerdict.__table__
CHAIN = models.EventChain.__table__
PV = models.PersonalValues.__table__
ANCH = models.EvidenceAnchor.__table__
PCOL = models.PersonalColumn.__table__
ALIAS = models.ModelAlias.__table__
MW = models.MeterWrite.__table__
MWF = models.MeterWriteFrame.__table__
PH = models.CommissioningPhoto.__table__
RS = models.RadioSurvey.__table__
RSL = models.RadioSurveyLocation.__table__
RST = models.RadioSurveyTelegram.__table__

#: The tables of the evidence items, by name (``app.storage.evidence``).
EVIDENCE_TABLES = {t.name: t for t in (RO, RF, COM, CAL, CALP, LOT, LOTM, LOTD, LOTR, LOTV, MW, MWF, PH)}

#: Rows per INSERT statement when many go in at once (an import's chunk, a lot's members).
CHUNK = 5000
#: What an erased personal value reads in the event log (MMS 2.2.3).
ERASED = integrity.ERASED


def default_user() -> str:
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no user name in the environment (containers)
        return "unknown"


def manufacturer_key(make: str) -> str:
    return " ".join(make.split()).casefold()

