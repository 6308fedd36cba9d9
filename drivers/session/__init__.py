"""The bus session: one connection to a meter bus for the CLI and the desktop app (no Qt).

:class:`BusSession` opens and closes a connection (:class:`ConnectionSpec`),
keeps the meters known on it (:class:`KnownMeter`), runs one operation on the
wire at a time (FIFO :class:`BusLock`) and decides how each meter is read: the
read plan, the wake-up profile (the family's, once the make is known; none
while the meter is still awake) and the identity check. Operations: line test
with baud search, primary scan, secondary search, read, set address, set
baud, each with progress, items and cancel. User-facing texts are in
:mod:`drivers.session.messages`.

Layers: ``drivers.transport`` -> ``drivers.link`` -> ``drivers.ops`` /
``drivers.scan`` -> ``drivers.session`` (the session imports the operations,
never the reverse).
"""
from __future__ import annotations

from drivers.errors import Cancelled, WrongMeter
from drivers.session.core import MAX_TELEGRAMS, BusSession, Job, Operation
from drivers.session.errors import BusBusy, BusOperationError, BusUnavailable, NotConnected
from drivers.session.lock import BusLock
from drivers.session.messages import describe_error
from drivers.session.meterside import ReconfigurationNotAgreed, reconfiguration_warning
from drivers.session.operations import Report
from drivers.session.types import (BAUD_SEARCH_ORDER, KIND_CONNECT, KIND_CUSTOM, KIND_POLL, KIND_READ, KIND_SCAN,
                                   KIND_TEST, KIND_WRITE, STATE_CONNECTED, STATE_CONNECTING, STATE_DISCONNECTED,
                                   STATE_LOST, ConnectionSpec, KnownMeter, KnownMeters, LineTestResult, Readout,
                                   ScanSummary, meter_key)
from drivers.timing import BAUD_RATES

__all__ = ["BusSession", "Job", "Operation", "Report", "BusLock", "ConnectionSpec", "KnownMeter", "KnownMeters",
           "Readout", "LineTestResult", "ScanSummary", "meter_key", "BusUnavailable", "BusBusy", "NotConnected",
           "BusOperationError", "Cancelled", "WrongMeter", "describe_error", "ReconfigurationNotAgreed",
           "reconfiguration_warning", "BAUD_RATES", "BAUD_SEARCH_ORDER",
           "MAX_TELEGRAMS", "STATE_DISCONNECTED", "STATE_CONNECTING", "STATE_CONNECTED", "STATE_LOST",
           "KIND_CONNECT", "KIND_TEST", "KIND_SCAN", "KIND_READ", "KIND_POLL", "KIND_WRITE", "KIND_CUSTOM"]
