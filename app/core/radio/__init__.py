"""Wireless M-Bus reception as the Radio page and the connectivity survey use it (no Qt).

* :mod:`~app.core.radio.reception` -- one telegram received, decoded to the facts shown
  (:class:`Reception`, :func:`reception`);
* :mod:`~app.core.radio.heard` -- the meters heard: RSSI now/min/median, telegrams heard vs expected
  from the send interval (:class:`HeardTable`, :func:`estimate_interval`);
* :mod:`~app.core.radio.listen` -- the receiving loop a worker runs (:func:`listen`);
* :mod:`~app.core.radio.survey` -- the connectivity survey of MMS 2.1.9: locations, per meter and
  location the telegrams and RSSI, the reliability verdict and its thresholds.
"""
