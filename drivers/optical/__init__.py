"""What the optical-port protocols share: the byte line and the readout record model.

Two protocols besides M-Bus are spoken through an optical head:

* EN 62056-21 (IEC 1107) - Landis+Gyr ULTRAHEAT UH50 / T550 (:mod:`drivers.iec62056`);
* Kamstrup Meter Protocol, KMP - Kamstrup MULTICAL (:mod:`drivers.kmp`).

Neither is framed like M-Bus, so they do not use the M-Bus transport's
frame-by-frame ``transact``: they talk through a :class:`~drivers.optical.line.ByteLine`
(plain bytes, the character format and baud rate switched as the protocol asks).
Both produce a :class:`~drivers.optical.readout.OpticalReadout` whose records are
the M-Bus decoder's :class:`~drivers.mbus.decoder.Record` (same quantities, units
and storage numbers as the decode JSON contract) with the raw bytes kept as
evidence. The registry of protocols is :mod:`drivers.protocols`.
"""
