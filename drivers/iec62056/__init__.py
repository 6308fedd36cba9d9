"""EN 62056-21 (IEC 1107) over an optical head: messages, the data readout, Landis+Gyr's register map.

* :mod:`.message` - pure parsing/building: :func:`parse_identification`,
  :func:`parse_data_message` (BCC checked), :func:`parse_data_block`,
  :func:`request_message`, :func:`option_select`, :func:`bcc`; errors are
  :class:`Iec62056Error` (a ValueError);
* :mod:`.client` - :func:`read_iec62056` (modes A, B, C) over a
  :class:`drivers.optical.line.ByteLine`;
* :mod:`.landis` - the data sets of the Landis+Gyr ULTRAHEAT UH50 / T550.
"""
from drivers.iec62056.message import (
    DataSet, Identification, Iec62056Error, bcc, data_message, identification_line, option_select,
    parse_data_block, parse_data_message, parse_identification, request_message,
)

__all__ = ["DataSet", "Identification", "Iec62056Error", "bcc", "data_message", "identification_line",
           "option_select", "parse_data_block", "parse_data_message", "parse_identification", "request_message"]
