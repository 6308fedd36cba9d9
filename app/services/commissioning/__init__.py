"""Commissioning one meter (EN 1434-6, MMS 1.2.8, HNTAS E28) as a workflow on the register, no Qt.

- :mod:`~app.services.commissioning.state`: :class:`CommissioningState` (what is
  known: identity and rating, place, checklist answers, readouts, checks,
  observation window, technician), its JSON form for drafts, the checks run on
  it (:func:`compute_checks`, rules from ``app.core.commissioning``);
- :mod:`~app.services.commissioning.meter`: :class:`MeterRef` (how to address
  the meter on the bus, kept in drafts) and :class:`MeterReadout` (one complete
  readout as plain data, the evidence);
- :mod:`~app.services.commissioning.evidence`: photos of the steps, the clock
  write of the clock step, the substation's other point (approach temperature);
- :mod:`~app.services.commissioning.radio`: a radio meter identified from the
  telegrams received, its key, signal and send interval checked, the telegrams
  kept as evidence;
- :mod:`~app.services.commissioning.workflow`: each step stored in the register
  (draft record, evidence, versions checked), sign-off and the certificate's
  data (:class:`SignOff`).

The Commission page calls these in its worker tasks and keeps only navigation
and display; other front ends (a command, a radio commissioning) call the same.
"""
from app.services.commissioning.evidence import (add_photo, photos, record_clock_write, remove_photo, step_words,
                                                 substation_partner)
from app.services.commissioning.meter import MeterReadout, MeterRef
from app.services.commissioning.radio import (apply_radio_identification, radio_assessment, radio_problems,
                                              radio_readout)
from app.services.commissioning.state import (FORMAT, IDENTITY_FIELDS, PLACE_FIELDS, STEPS, CommissioningState,
                                              annex_point, compute_checks, copy_state, entry_values, local_naive,
                                              point_checks, readout_entry)
from app.services.commissioning.workflow import (RATING_FIELDS, SignOff, advance, apply_identification,
                                                 certificate_file_name, check_identity, complete_identity,
                                                 fabrication_number, find_drafts, identify, load_draft,
                                                 match_meter, monitoring_points, note_check_readout, observation_record, place,
                                                 place_lists, place_of, run_checks, save_check_readout, save_draft,
                                                 save_observation, save_unsaved_readouts, sign, sign_problems,
                                                 take_register_meter, update_rating, use_register_meter)

__all__ = [
    "MeterReadout", "MeterRef", "FORMAT", "IDENTITY_FIELDS", "PLACE_FIELDS", "STEPS", "CommissioningState",
    "compute_checks", "copy_state", "entry_values", "local_naive", "readout_entry",
    "RATING_FIELDS", "SignOff", "advance", "apply_identification", "certificate_file_name", "check_identity",
    "complete_identity", "fabrication_number", "find_drafts", "identify", "load_draft", "match_meter",
    "monitoring_points", "note_check_readout", "observation_record", "place", "place_lists", "place_of", "run_checks",
    "save_check_readout", "save_draft", "save_observation", "save_unsaved_readouts", "sign", "sign_problems",
    "take_register_meter", "update_rating", "use_register_meter", "add_photo", "photos", "remove_photo",
    "record_clock_write", "substation_partner", "step_words", "annex_point", "point_checks",
    "apply_radio_identification", "radio_assessment", "radio_problems", "radio_readout",
]
