"""Sampling lots for the demo register (planner page in demo mode, screenshots).

Run on a demo register (``app.storage.demo``) that has no sampling lot yet:
form the 9-year lots as of :data:`DEMO_AS_OF` with the default key, then take
the three largest lots through the round — one drawn, tested and passed (with
an inaccessible meter replaced by a spare), one failed (a meter beyond twice
its MPE), one drawn and waiting for its results. Everything goes through the
planning service (``app.storage.planning``) exactly as a user's round would,
with fixed seeds, so the demo is the same every time.
"""
from __future__ import annotations

import datetime as dt
import random

from app.storage import planning
from app.storage.register import Register

DEMO_AS_OF = dt.date(2025, 6, 1)
DEMO_SEED = 20250601
DEMO_USER = "demo"
DEMO_LAB = "Northern Heat Meter Test Lab"


def ensure_demo_lots(reg: Register, as_of: dt.date = DEMO_AS_OF, user: str = DEMO_USER) -> list[int]:
    """Form and work through the demo lots unless the register already has sampling lots.

    Returns the ids of the lots taken through the round (empty when there were lots already).
    """
    if any(lot["purpose"] in planning.PURPOSES.values() for lot in planning.list_lots(reg)):
        return []
    formation = planning.form_lots(reg, as_of=as_of, sampling_round=9, user=user)
    if not formation.lots:
        return []
    chosen = sorted(formation.lots, key=lambda lot: (-lot["size"], lot["id"]))[:3]
    rng = random.Random(DEMO_SEED)
    tested_on = as_of + dt.timedelta(days=45)
    done = []
    for i, lot in enumerate(chosen):
        lid = lot["id"]
        drawn = planning.draw_lot(reg, lid, seed=DEMO_SEED + lid, user=user)
        done.append(lid)
        if i == 2:
            break  # drawn, waiting for the test lab
        entries = []
        for j, m in enumerate(drawn["sample"]):
            if i == 0 and j == 0 and drawn["spares"]:
                # could not be reached: the first spare stands in for it
                entries.append(planning.ResultEntry(m["manufacturer"], m["serial"], inaccessible=True,
                                                    notes="no access to the riser cupboard"))
                spare = drawn["spares"][0]
                entries.append(planning.ResultEntry(spare["manufacturer"], spare["serial"],
                                                    error_pct=round(rng.uniform(-1.2, 1.2), 2), tested_on=tested_on,
                                                    lab=DEMO_LAB, certificate=f"NHT-{lid}-S1"))
                continue
            error = round(rng.uniform(-1.6, 1.6), 2)
            if i == 1 and j == 0:
                error = 9.4  # beyond twice the initial-verification MPE: defective
            entries.append(planning.ResultEntry(m["manufacturer"], m["serial"], error_pct=error, tested_on=tested_on,
                                                lab=DEMO_LAB, certificate=f"NHT-{lid}-{j + 1}"))
        planning.record_results(reg, lid, entries, tested_on=tested_on, user=user)
        planning.decide_lot(reg, lid, decided_on=tested_on + dt.timedelta(days=14), user=user)
    return done
