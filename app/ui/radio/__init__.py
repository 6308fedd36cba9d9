"""The Radio page's parts: receiving in a worker (``service``), the table models (``model``), one telegram
in full (``detail``), the connectivity survey tab (``survey_panel``) and its PDF report (``survey_report``)."""
