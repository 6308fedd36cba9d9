"""SQLAlchemy 2 models of the meter register (the schema at the latest migration).

Every schema change is an Alembic migration under ``app/storage/migrations``;
``tests/storage/test_migrations.py`` checks that the migrated schema equals
these models on SQLite and PostgreSQL.

Units are in the column names (``qp_m3h``, ``dtheta_min_k``, ``temp_max_c``).
Times are UTC (``datetime`` without tzinfo, stored as naive UTC).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer,
    LargeBinary, MetaData, SmallInteger, String, Text, UniqueConstraint, false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Meter status values (free to extend; the register does not enforce a list in SQL).
METER_STATUSES = ("in_service", "removed", "spare", "in_repair", "at_lab", "scrapped")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    notes: Mapped[str | None] = mapped_column(Text)


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))


class MonitoringPoint(Base):
    """A place that is metered: an MMS Annex A id (SS1, CC1 ...) or the site's own label."""

    __tablename__ = "monitoring_points"
    __table_args__ = (UniqueConstraint("site_id", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(100))
    mms_id: Mapped[str | None] = mapped_column(String(10))  # Annex A id when the label is one (e.g. "SS1")
    description: Mapped[str | None] = mapped_column(Text)
    read_interval_min: Mapped[int | None] = mapped_column(Integer)  # Annex A minimum read frequency


class Meter(Base):
    __tablename__ = "meters"
    __table_args__ = (
        UniqueConstraint("manufacturer_key", "serial"),
        Index(None, "mbus_manufacturer", "secondary_address"),
        Index(None, "site_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer: Mapped[str] = mapped_column(String(100))        # make, as written on the meter
    manufacturer_key: Mapped[str] = mapped_column(String(100))    # casefolded, for identity and order
    mbus_manufacturer: Mapped[str | None] = mapped_column(String(3))  # FLAG code, e.g. "KAM"
    model: Mapped[str] = mapped_column(String(100))
    serial: Mapped[str] = mapped_column(String(100))
    mid_class: Mapped[int | None] = mapped_column(SmallInteger)
    qp_m3h: Mapped[float | None] = mapped_column(Float)
    qi_m3h: Mapped[float | None] = mapped_column(Float)
    qp_qi_ratio: Mapped[float | None] = mapped_column(Float)
    qs_m3h: Mapped[float | None] = mapped_column(Float)
    dn: Mapped[int | None] = mapped_column(Integer)
    dtheta_min_k: Mapped[float | None] = mapped_column(Float)
    dtheta_max_k: Mapped[float | None] = mapped_column(Float)
    temp_min_c: Mapped[float | None] = mapped_column(Float)
    temp_max_c: Mapped[float | None] = mapped_column(Float)
    flow_sensor_position: Mapped[str | None] = mapped_column(String(10))  # "flow" | "return"
    primary_address: Mapped[int | None] = mapped_column(SmallInteger)
    secondary_address: Mapped[str | None] = mapped_column(String(8))
    baud: Mapped[int | None] = mapped_column(Integer)
    battery_expiry: Mapped[dt.date | None] = mapped_column(Date)
    battery_replaced_on: Mapped[dt.date | None] = mapped_column(Date)  # revision 0006
    install_date: Mapped[dt.date | None] = mapped_column(Date)
    install_year_only: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="in_service")
    # current placement (the open installation), kept here for fast listing
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    monitoring_point_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_points.id"))
    location: Mapped[str | None] = mapped_column(String(300))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)    # spreadsheet columns outside the contract
    notes: Mapped[str | None] = mapped_column(Text)
    # personal data and data protection (MMS 2.2), revision 0003
    occupant_name: Mapped[str | None] = mapped_column(String(200))
    flat: Mapped[str | None] = mapped_column(String(100))
    customer_reference: Mapped[str | None] = mapped_column(String(100))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    restrict_processing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    personal_erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # spreadsheet columns the user marked personal (``personal_columns``), apart from ``extra``: revision 0008
    personal_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    installations: Mapped[list[Installation]] = relationship(back_populates="meter", order_by="Installation.id")


class Installation(Base):
    """Which meter sat where, from when to when. A replaced meter keeps its history."""

    __tablename__ = "installations"
    __table_args__ = (Index(None, "meter_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    monitoring_point_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_points.id"))
    location: Mapped[str | None] = mapped_column(String(300))
    installed_on: Mapped[dt.date | None] = mapped_column(Date)
    year_only: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)
    removal_reason: Mapped[str | None] = mapped_column(String(200))
    replaced_by_meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id"))

    meter: Mapped[Meter] = relationship(back_populates="installations", foreign_keys=[meter_id])


class EventLog(Base):
    """Every change: who, when, which record, what, the values before and after (MMS 2.2.6)."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "meter_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(40))       # table name, e.g. "meters"
    entity_id: Mapped[int | None] = mapped_column(Integer)
    meter_id: Mapped[int | None] = mapped_column(Integer)  # the meter the change concerns (no FK: the log outlives rows)
    action: Mapped[str] = mapped_column(String(40))       # create, update, import, erase_personal ...
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(300))  # e.g. the imported file's name
    # revision 0008: the chain (``app.storage.integrity``): this row's hash, and the digest of what belongs to
    # the event in other tables (its batch, its personal values' commitments, the evidence it anchors)
    detail_digest: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[bytes | None] = mapped_column(LargeBinary)


class EventChain(Base):
    """The end of the event chain: the last event's id and hash (one row, id 1). Revision 0008.

    Every write transaction locks this row just before it commits, numbers its
    events after ``last_event_id`` and chains them to ``last_hash``."""

    __tablename__ = "event_chain"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[bytes] = mapped_column(LargeBinary)


class PersonalValues(Base):
    """Values kept apart from the event log (revision 0008): one row per event and field.

    ``key``: a personal field (``occupant_name`` ...) or ``extra.NAME`` (a
    spreadsheet column); ``personal``: whether it holds personal data (the
    personal fields, and the columns marked personal: flagged when marked).
    ``meter_ids``: JSON ``[first id, count]`` runs of the meters it covers, in
    order; ``payload``: their entries (compressed JSON list, one per meter:
    the text ``{"s": salt, "b": before, "a": after}``, null once erased);
    ``digests``: the SHA-256 of each entry (64 hex digits each, in order),
    which the chain covers. See ``app.storage.integrity``.
    """

    __tablename__ = "personal_values"
    __table_args__ = (Index(None, "first_meter_id", "last_meter_id"), Index(None, "event_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id"))
    key: Mapped[str] = mapped_column(String(200))
    personal: Mapped[bool] = mapped_column(Boolean, default=True)
    first_meter_id: Mapped[int] = mapped_column(Integer)
    last_meter_id: Mapped[int] = mapped_column(Integer)
    meter_ids: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    digests: Mapped[str] = mapped_column(Text)


class EvidenceAnchor(Base):
    """The content hash of an evidence item as the event that created or changed it recorded it
    (revision 0008). The latest anchor of an item is what its row must hash to; a null hash
    records that the item was deleted by that event (e.g. a redraw discards results)."""

    __tablename__ = "evidence_anchors"
    __table_args__ = (Index(None, "item_table", "item_id"), Index(None, "event_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id"))
    item_table: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(64))


class PersonalColumn(Base):
    """A spreadsheet column the user declared personal data (revision 0008): its values live in
    ``meters.personal_extra`` and its kept-apart values are flagged personal."""

    __tablename__ = "personal_columns"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    marked_by: Mapped[str | None] = mapped_column(String(100))
    marked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class EventBatch(Base):
    """The ``create`` events of many meters written at once (an import), stored once per batch.

    The batch's row in ``events`` says who, when and from which file
    (``action`` "create", ``entity`` "meters", ``meter_id`` empty, ``after``
    {"meters": how many}); this row says which meters and their values at
    creation. ``meter_ids``: JSON list of ``[first id, count]`` runs of
    consecutive ids, in the batch's order. ``data``: the zlib-compressed JSON
    text of ``{"columns": [...], "values": [...]}``, the values of each column
    in ``meter_ids`` order: a JSON list (numbers, flags), or for text and dates
    (ISO) one string of the values joined by U+241F, "" standing for null.
    ``Register.history`` gives each meter its own create entry from them;
    erasing personal data scrubs them here too. Revision 0004.
    """

    __tablename__ = "event_batches"
    __table_args__ = (Index(None, "first_meter_id", "last_meter_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id"))
    first_meter_id: Mapped[int] = mapped_column(Integer)  # lowest and highest meter id in the batch
    last_meter_id: Mapped[int] = mapped_column(Integer)
    meter_count: Mapped[int] = mapped_column(Integer)
    meter_ids: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# ---- revision 0002: commissioning, evidence, calibration, lots -------------------------

class CommissioningRecord(Base):
    """EN 1434-6 / MMS 1.2 commissioning record; a draft is saved at every wizard step."""

    __tablename__ = "commissioning_records"
    __table_args__ = (Index(None, "meter_id"), Index(None, "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    installation_id: Mapped[int | None] = mapped_column(ForeignKey("installations.id", ondelete="SET NULL"))
    commissioned_on: Mapped[dt.date | None] = mapped_column(Date)
    technician: Mapped[str | None] = mapped_column(String(100))
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)      # item -> {"answer": yes|no|na, "note": ...}
    plausibility: Mapped[dict[str, Any] | None] = mapped_column(JSON)   # plausibility check results
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")   # draft | signed
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    signed_by: Mapped[str | None] = mapped_column(String(100))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # of the signed record, revision 0008


class Readout(Base):
    """A readout kept as evidence: the decoded telegrams (decode --json) and, in
    ``readout_frames``, the raw frames byte for byte in the order received."""

    __tablename__ = "readouts"
    __table_args__ = (Index(None, "meter_id", "read_at"), Index(None, "commissioning_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    commissioning_id: Mapped[int | None] = mapped_column(ForeignKey("commissioning_records.id", ondelete="SET NULL"))
    read_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_by: Mapped[str | None] = mapped_column(String(100))
    mbus_manufacturer: Mapped[str | None] = mapped_column(String(3))
    identification: Mapped[str | None] = mapped_column(String(8))
    transport: Mapped[str | None] = mapped_column(String(20))   # serial, tcp, rfc2217, simulator
    port: Mapped[str | None] = mapped_column(String(300))
    baud: Mapped[int | None] = mapped_column(Integer)
    primary_address: Mapped[int | None] = mapped_column(SmallInteger)
    decoded: Mapped[list[Any] | None] = mapped_column(JSON)    # list of decoded telegram objects (as heatmeter decode --json prints them)
    notes: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # revision 0008 (with its frames)

    frames: Mapped[list[ReadoutFrame]] = relationship(order_by="ReadoutFrame.seq", cascade="all, delete-orphan")


class ReadoutFrame(Base):
    __tablename__ = "readout_frames"
    readout_id: Mapped[int] = mapped_column(ForeignKey("readouts.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3), default="rx")  # rx (from the meter) | tx
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class CalibrationResult(Base):
    """A calibration / test of a meter or sub-assembly; points as in ``heatmeter calc calibration`` JSON."""

    __tablename__ = "calibration_results"
    __table_args__ = (Index(None, "meter_id", "tested_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id", ondelete="SET NULL"))
    tested_on: Mapped[dt.date] = mapped_column(Date)
    lab: Mapped[str | None] = mapped_column(String(200))
    certificate: Mapped[str | None] = mapped_column(String(200))
    subassembly: Mapped[str] = mapped_column(String(20))  # flow_sensor, temperature_pair, calculator, complete_meter
    initial_verdict: Mapped[str | None] = mapped_column(String(10))
    in_service_verdict: Mapped[str | None] = mapped_column(String(10))
    coverage: Mapped[str | None] = mapped_column(String(12))
    missing_intervals: Mapped[list[Any] | None] = mapped_column(JSON)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # class, qp, ratio, dtheta limits, guard band ...
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # with its points, revision 0008

    points: Mapped[list[CalibrationPoint]] = relationship(order_by="CalibrationPoint.seq", cascade="all, delete-orphan")


class CalibrationPoint(Base):
    __tablename__ = "calibration_points"
    result_id: Mapped[int] = mapped_column(ForeignKey("calibration_results.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    error_pct: Mapped[float] = mapped_column(Float)
    q_m3h: Mapped[float | None] = mapped_column(Float)
    dtheta_k: Mapped[float | None] = mapped_column(Float)
    interval: Mapped[str | None] = mapped_column(String(4))
    mpe_initial_pct: Mapped[float | None] = mapped_column(Float)
    mpe_in_service_pct: Mapped[float | None] = mapped_column(Float)
    acceptance_initial_pct: Mapped[float | None] = mapped_column(Float)
    acceptance_in_service_pct: Mapped[float | None] = mapped_column(Float)
    pass_initial: Mapped[bool | None] = mapped_column(Boolean)
    pass_in_service: Mapped[bool | None] = mapped_column(Boolean)
    in_interval: Mapped[bool | None] = mapped_column(Boolean)


class Lot(Base):
    """An ISO 2859-1 sampling lot: its key, plan, seed (see docs/planning.md)."""

    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    key: Mapped[dict[str, Any]] = mapped_column(JSON)           # e.g. manufacturer/model/qp/install year
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)   # the lot-forming rule in force
    purpose: Mapped[str | None] = mapped_column(String(40))     # e.g. sampling_9y, sampling_13y
    formed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    formed_by: Mapped[str | None] = mapped_column(String(100))
    lot_size: Mapped[int] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(4))
    aql: Mapped[float | None] = mapped_column(Float)
    inspection: Mapped[str | None] = mapped_column(String(12))
    code_letter: Mapped[str | None] = mapped_column(String(2))
    plan_letter: Mapped[str | None] = mapped_column(String(2))
    sample_size: Mapped[int | None] = mapped_column(Integer)
    acceptance_number: Mapped[int | None] = mapped_column(Integer)
    rejection_number: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)   # the full plan object as computed
    status: Mapped[str] = mapped_column(String(20), default="formed")
    notes: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # the lot as formed (with its members), 0008
    draw_hash: Mapped[str | None] = mapped_column(String(64))     # its draw (seed, meters in order), 0008


class LotMember(Base):
    __tablename__ = "lot_members"
    __table_args__ = (Index(None, "meter_id"),)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # order in the frame the draw indexes into
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the meter's key values when the lot was formed


class LotDraw(Base):
    __tablename__ = "lot_draws"
    __table_args__ = (UniqueConstraint("lot_id", "meter_id"),)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True)
    draw_order: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    spare: Mapped[bool] = mapped_column(Boolean, default=False)
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="drawn")  # drawn, tested, inaccessible, replaced


class LotResult(Base):
    __tablename__ = "lot_results"
    __table_args__ = (UniqueConstraint("lot_id", "meter_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    calibration_result_id: Mapped[int | None] = mapped_column(ForeignKey("calibration_results.id", ondelete="SET NULL"))
    error_pct: Mapped[float | None] = mapped_column(Float)      # single error figure when no points
    limit_pct: Mapped[float | None] = mapped_column(Float)      # 2 x initial MPE applied
    defective: Mapped[bool | None] = mapped_column(Boolean)
    inaccessible: Mapped[bool] = mapped_column(Boolean, default=False)
    tested_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # revision 0008


class LotVerdict(Base):
    __tablename__ = "lot_verdicts"
    __table_args__ = (Index(None, "lot_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    verdict: Mapped[str] = mapped_column(String(10))            # pass | fail
    sample_tested: Mapped[int | None] = mapped_column(Integer)
    defectives: Mapped[int | None] = mapped_column(Integer)
    acceptance_number: Mapped[int | None] = mapped_column(Integer)
    rejection_number: Mapped[int | None] = mapped_column(Integer)
    retain_until: Mapped[dt.date | None] = mapped_column(Date)   # e.g. 14 or 18 years after install
    decided_by: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # revision 0008


# ---- revision 0005: connectivity surveys of radio meters (MMS 2.1.9) ----------------------

class RadioSurvey(Base):
    """A connectivity survey of a site's radio meters: the receiver and thresholds it was judged with,
    the verdicts as reported (``results``), and a SHA-256 ``digest`` over its telegrams (evidence: a
    changed telegram, RSSI or time no longer matches). Locations and telegrams in the tables below."""

    __tablename__ = "radio_surveys"
    __table_args__ = (Index(None, "site_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200))
    technician: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    dongle: Mapped[str | None] = mapped_column(String(20))            # im871a, amb8465, rtl-wmbus, simulator
    mode: Mapped[str | None] = mapped_column(String(4))               # t1, c1, s1
    sensitivity_dbm: Mapped[float | None] = mapped_column(Float)
    margin_db: Mapped[float] = mapped_column(Float)
    min_ratio: Mapped[float] = mapped_column(Float)
    min_expected: Mapped[float] = mapped_column(Float)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)      # verdicts per meter as reported
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RadioSurveyLocation(Base):
    __tablename__ = "radio_survey_locations"
    __table_args__ = (UniqueConstraint("survey_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("radio_surveys.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    floor: Mapped[str | None] = mapped_column(String(50))
    flat: Mapped[str | None] = mapped_column(String(50))
    riser: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RadioSurveyTelegram(Base):
    """One telegram heard at a survey location, byte for byte, with its RSSI (no key: the raw bytes as
    received, encrypted or not)."""

    __tablename__ = "radio_survey_telegrams"
    __table_args__ = (Index(None, "manufacturer", "identification"), Index(None, "meter_id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("radio_survey_locations.id", ondelete="CASCADE"),
                                             primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    manufacturer: Mapped[str | None] = mapped_column(String(3))
    identification: Mapped[str | None] = mapped_column(String(8))
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id", ondelete="SET NULL"))
    rssi_dbm: Mapped[float | None] = mapped_column(Float)
    rssi_raw: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(4))
    crc: Mapped[str | None] = mapped_column(String(4))
    version: Mapped[int | None] = mapped_column(Integer)
    medium: Mapped[str | None] = mapped_column(String(40))
    security: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str | None] = mapped_column(String(12))
    raw: Mapped[bytes] = mapped_column(LargeBinary)


# ---- revision 0006: maintenance cycle -------------------------------------------------

class ModelAlias(Base):
    """The register's own rows of the lot-key alias table: ``alias`` is the model ``model`` of the make
    ``manufacturer`` (FLAG code, or "" for any make); ``alias_key`` is the alias normalised."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("manufacturer", "alias_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer: Mapped[str] = mapped_column(String(100))
    alias: Mapped[str] = mapped_column(String(100))
    alias_key: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)


# ---- revision 0007: writes to meters, commissioning photos -------------------------------

class MeterWrite(Base):
    """A write to a meter (primary address, baud rate, clock) with what it read before and after;
    the frames sent and received, byte for byte, are in ``meter_write_frames``."""

    __tablename__ = "meter_writes"
    __table_args__ = (Index(None, "meter_id", "written_at"), Index(None, "commissioning_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    commissioning_id: Mapped[int | None] = mapped_column(ForeignKey("commissioning_records.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))                # address | baud | clock
    ok: Mapped[bool] = mapped_column(Boolean)                    # confirmed by a read-back
    outcome: Mapped[str] = mapped_column(String(20))             # confirmed, refused, unchanged, off, ...
    detail: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. {"clock": ..., "offset_s": ...}
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    written_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    written_by: Mapped[str | None] = mapped_column(String(100))
    transport: Mapped[str | None] = mapped_column(String(20))
    port: Mapped[str | None] = mapped_column(String(300))
    content_hash: Mapped[str | None] = mapped_column(String(64))  # with its frames, revision 0008


class MeterWriteFrame(Base):
    __tablename__ = "meter_write_frames"
    write_id: Mapped[int] = mapped_column(ForeignKey("meter_writes.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))            # tx (to the meter) | rx (from it)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class CommissioningPhoto(Base):
    """A photo of the installation attached to a step of a commissioning record (HNTAS evidence
    E20/E30 style), stored with the SHA-256 of its bytes."""

    __tablename__ = "commissioning_photos"
    __table_args__ = (Index(None, "commissioning_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commissioning_id: Mapped[int] = mapped_column(ForeignKey("commissioning_records.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(60))                # "place", "checklist:straight_lengths", ...
    caption: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(50))          # image/jpeg, image/png
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    added_by: Mapped[str | None] = mapped_column(String(100))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # revision 0008
