"""The register's service API, called by the CLI, the GUI, the planner and ``read --save``.

    from app.storage.register import open_register
    with open_register(url) as reg:          # None: --db / $HEATMETER_DB / default file
        report = reg.import_file("meters.csv", user="ann")
        page = reg.list_meters(site="North", search="riser", limit=200, offset=0)

Every method is one transaction. Every change to a meter's record, its
installations, commissioning, evidence, calibration, lots and the
data-protection flags is written to the event log (who, when, before, after)
in the same transaction. Methods return plain records (``app.storage.records``),
never live ORM objects, so they are safe to pass between threads.

This package is the only writer of the register's tables. ``Register`` is
composed of one class per concern, each in its own module:

=================  ==============================================================
``unit``           engine, read/write transactions, the event-log entry (``_log``),
                   ``reading()``: the read-only transaction other modules query in
``eventlog``       a meter's history, the latest events, an import's event batches
``places``         sites, buildings, monitoring points (MMS Annex A)
``meters``         list/filter/find meters; create, update, move, replace
``readouts``       evidence: readouts matched to their meter
``writes``         writes to meters (address, baud, clock) with their frames
``commissioning``  commissioning records (draft, steps, signature)
``photos``         photos of commissioning steps, with their SHA-256
``calibration``    calibration results and their points
``lots``           sampling lots: formed, drawn, tested, decided
``maintenance``    the year's work: recalibrations, replacements, battery changes, no access;
                   meters sent to the lab; the register's model alias rows
``privacy``        legal hold, restricted processing, erasure, personal export,
                   columns marked personal
``bulk_import``    ``import_file`` (``_ImportJob``), with ``bulk_sql`` below it
``export``         the CSV/XLSX export
``surveys``        connectivity surveys of radio meters (MMS 2.1.9), with a digest
``sealing``        the event chain: each write transaction's events hashed in
``verify``         ``verify_integrity`` (``db verify``)
=================  ==============================================================

Database problems become one-line ``RegisterError``s (``app.storage.errors``).
"""
from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from app.storage import migrate
from app.storage.db import display_url, make_engine, resolve_url, sqlite_read_only
from app.storage.errors import DatabaseLocked, DatabaseUnavailable, RegisterError
from app.storage.register.bulk_import import BATCH, BulkImport
from app.storage.register.calibration import SUBASSEMBLIES, NewCalibration
from app.storage.register.commissioning import CHECKLIST_ANSWERS, Commissioning
from app.storage.register.eventlog import (
    BATCH_SEP, batch_after_values, decode_batch, encode_batch_values, id_runs,
)
from app.storage.register.export import Export
from app.storage.register.lots import LotResult, NewLot, UnknownLot
from app.storage.register.maintenance import RATING_FIELDS, WORK_KINDS, Maintenance, WorkItem
from app.storage.register.photos import MEDIA_TYPES, Photos, media_type_of, sha256_hex
from app.storage.register.places import annex_a, load_monitoring_point_table
from app.storage.register.privacy import PERSONAL_EXPORT_FIELDS, READING_FIELDS, Privacy
from app.storage.register.surveys import Surveys, survey_digest
from app.storage.register.tables import (
    ALIAS, ANCH, B, CAL, CALP, CHAIN, CHUNK, COM, ERASED, EV, EVB, INST, LOT, LOTD, LOTM, LOTR, LOTV, MP, MW, MWF, PCOL,
    PH, PV, RF, RO, RS, RSL, RST, M, S, default_user, manufacturer_key,
)
from app.storage.register.unit import UnlockedChange, _first_line, _is_locked
from app.storage.register.verify import Problem, Verification, VerifyReport
from app.storage.register.writes import WRITE_KINDS, MeterWrites

__all__ = [
    "Register", "open_register", "default_user", "manufacturer_key", "annex_a", "load_monitoring_point_table",
    "NewLot", "LotResult", "NewCalibration", "UnknownLot", "WorkItem", "WORK_KINDS", "RATING_FIELDS", "SUBASSEMBLIES", "CHECKLIST_ANSWERS",
    "PERSONAL_EXPORT_FIELDS", "READING_FIELDS", "CHUNK", "BATCH", "BATCH_SEP", "ERASED",
    "id_runs", "decode_batch", "encode_batch_values", "batch_after_values", "survey_digest", "WRITE_KINDS",
    "MEDIA_TYPES", "media_type_of", "sha256_hex",
    "ALIAS", "M", "S", "B", "MP", "INST", "EV", "EVB", "COM", "RO", "RF", "CAL", "CALP", "LOT", "LOTM", "LOTD", "LOTR",
    "LOTV", "RS", "RSL", "RST", "MW", "MWF", "PH", "CHAIN", "PV", "ANCH", "PCOL", "VerifyReport", "Problem",
    "UnlockedChange",
]


class Register(BulkImport, Export, Privacy, MeterWrites, Commissioning, Photos, Maintenance, Surveys, Verification):
    """One register database. Thread-safe: every call takes its own connection.

    The methods come from the classes named in the module's docstring; the
    order of the bases only matters to Python, no two of them define the same
    name.
    """


def open_register(url: str | None = None, *, migrate_schema: bool = True) -> Register:
    """Open (and create or migrate) the register at ``url``; see ``app.storage.db.resolve_url``.

    An SQLite file that cannot be written opens read-only (``Register.read_only``):
    it is not migrated, reading works, every change is refused."""
    resolved = resolve_url(url)
    read_only = sqlite_read_only(resolved)
    engine = make_engine(resolved, read_only=read_only)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            conn.rollback()
        if read_only and migrate_schema:
            st = migrate.schema_status(engine)
            if not st["up_to_date"]:
                raise DatabaseUnavailable(
                    f"register {display_url(resolved)} is read-only and at schema revision {st['current'] or '-'} "
                    f"(latest {st['head']}): open it once where it can be written, to migrate it")
        elif migrate_schema:
            migrate.ensure_schema(engine)
    except RegisterError:
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        if _is_locked(exc):
            raise DatabaseLocked(f"database {display_url(resolved)} is locked by another program; try again when it is free") from None
        _raise_if_damaged(resolved, exc)
        raise DatabaseUnavailable(f"cannot open database {display_url(resolved)}: {_first_line(exc)}") from None
    except DBAPIError as exc:
        engine.dispose()
        _raise_if_damaged(resolved, exc)
        raise DatabaseUnavailable(f"cannot open database {display_url(resolved)}: {_first_line(exc)}") from None
    return Register(engine, read_only=read_only)


def _raise_if_damaged(url, exc: BaseException) -> None:
    from app.storage.errors import DatabaseDamaged
    from app.storage.register.unit import _is_damaged

    if _is_damaged(exc):
        raise DatabaseDamaged(f"database {display_url(url)} is DAMAGED ({_first_line(exc)}): restore it from a "
                              "backup") from None
