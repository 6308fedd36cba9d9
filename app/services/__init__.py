"""Workflows shared by the command line and the app (plain Python, no Qt).

Each module takes an open :class:`~app.storage.register.Register` (and plain
data: readouts, a commissioning state, planning parameters), does the
workflow's storage work through the register's public methods, and returns
plain data. The CLI calls them directly; the app calls them in its worker
tasks and shows the result. Nothing here knows about Qt, pages or options.

- :mod:`app.services.readouts`: save a readout as evidence against its meter,
  or propose (and create) the meter the register does not know yet.
- :mod:`app.services.meter_writes`: keep a write to a meter (address, baud,
  clock) with before, after and its frames in the meter's history.
- :mod:`app.services.commissioning`: the commissioning workflow: drafts,
  steps saved, checks run (``app.core.commissioning``), sign-off and the
  data of the certificate.
- :mod:`app.services.planner`: the maintenance schedule and the sampling
  lots (form, draw, record results, decide), with user mistakes as values.
- :mod:`app.services.maintenance`: the year's work recorded (recalibration,
  replacement, battery change with its end of life worked out).
- :mod:`app.services.joblists`: job lists for technicians per site, and
  their results read back all or nothing.
- :mod:`app.services.surveys`: the connectivity survey of radio meters
  (MMS 2.1.9): judged, saved with its site, read back.
"""
