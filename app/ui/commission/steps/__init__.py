"""The six step widgets of the Commission wizard, one module each.

Each step shows and edits part of a
:class:`~app.services.commissioning.CommissioningState`: ``load(state)`` fills
the widgets, ``collect(state)`` writes them back. They do no I/O: the page runs
the bus and register work in worker tasks and hands the results in.
"""
from app.ui.commission.steps.base import Step
from app.ui.commission.steps.checklist import ChecklistRow, ChecklistStep
from app.ui.commission.steps.identify import IdentifyStep
from app.ui.commission.steps.observe import ObserveStep
from app.ui.commission.steps.place import PlaceStep
from app.ui.commission.steps.plausibility import READING_ROWS, PlausibilityStep
from app.ui.commission.steps.sign import SignStep

__all__ = ["Step", "IdentifyStep", "PlaceStep", "ChecklistRow", "ChecklistStep", "READING_ROWS", "PlausibilityStep",
           "ObserveStep", "SignStep"]
