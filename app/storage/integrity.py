"""Tamper evidence, as pure functions: the event chain, evidence content hashes, personal values kept apart.

Used by the register when it writes (``app.storage.register.unit`` seals each
transaction's events into the chain), by ``db verify`` when it checks, and by
the migration that built the chain for registers written before it. Nothing
here touches a database.

The chain
    Every event row has ``hash = SHA-256(previous event's hash || canonical
    text of this row)``; the first event's previous hash is 32 zero bytes.
    The canonical text (:func:`canonical`) holds the row's stored values: id,
    time (``YYYY-MM-DD HH:MM:SS.ffffff``), user, entity, entity id, meter id,
    action, the ``before`` and ``after`` JSON *texts as stored*, source, and
    ``detail_digest``. The detail digest covers what belongs to the event
    but lives in other tables: its event batch (an import's create values),
    its personal values (their per-meter commitments, not the values) and the
    evidence items it anchors (table, id, content hash).

Personal values
    ``before``/``after`` never hold a personal value: ``split_personal``
    replaces it by ``PERSONAL`` and returns it apart. Each value is stored as
    one *entry* per meter and field: the JSON text ``{"s": salt, "b": before,
    "a": after}`` with 16 random bytes of salt; the chain covers the entry's
    SHA-256 (its commitment), never the entry. Erasing personal data (MMS
    2.2.3) deletes the entries (value and salt together) and keeps the
    commitments, so the chain still verifies and nothing left allows the
    erased value to be guessed and checked. An entry is stored as its own
    UTF-8 when a row covers one meter, else rows hold them one per line,
    compressed.

Evidence
    ``content_hash(kind, fields)`` is the SHA-256 of the canonical JSON of an
    evidence item (a readout with its frames, a signed commissioning record, a
    calibration with its points, a lot as formed, a lot's draw, a lot result,
    a verdict). The event that creates or changes the item anchors its hash.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

#: What a personal value reads in a stored event (the value itself is kept apart).
PERSONAL = "[personal]"
#: What an erased personal value reads in the event log (MMS 2.2.3).
ERASED = "[erased]"
#: The declared personal fields of a meter; spreadsheet columns marked personal live in ``personal_extra``.
PERSONAL_FIELDS = ("occupant_name", "flat", "customer_reference", "notes")
PERSONAL_COLUMNS = PERSONAL_FIELDS + ("personal_extra",)
#: The previous hash of the first event.
GENESIS = bytes(32)
#: ``at`` as the chain hashes it (what SQLAlchemy stores on SQLite, ``to_char(at, PG_AT_FORMAT)`` on PostgreSQL).
AT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
PG_AT_FORMAT = "YYYY-MM-DD HH24:MI:SS.US"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# a text as JSON, non-ASCII kept (what _dumps does to a str; the C function where Python has it)
_encode_text = json.encoder.encode_basestring


def at_text(at: dt.datetime | str) -> str:
    return at if isinstance(at, str) else at.strftime(AT_FORMAT)


def canonical(id_: int, at: str, user: str | None, entity: str | None, entity_id: int | None,
              meter_id: int | None, action: str | None, before: str | None, after: str | None,
              source: str | None, detail_digest: str | None) -> str:
    """The text an event's hash covers: its fields in this order, separated by U+001F; a text field as
    ``LENGTH:TEXT`` (its length in code points), a number in decimal, an absent value as ``-``."""
    return (f"{id_}\x1f{at}\x1f{'-' if user is None else f'{len(user)}:{user}'}\x1f"
            f"{'-' if entity is None else f'{len(entity)}:{entity}'}\x1f{'-' if entity_id is None else entity_id}\x1f"
            f"{'-' if meter_id is None else meter_id}\x1f{'-' if action is None else f'{len(action)}:{action}'}\x1f"
            f"{'-' if before is None else f'{len(before)}:{before}'}\x1f"
            f"{'-' if after is None else f'{len(after)}:{after}'}\x1f"
            f"{'-' if source is None else f'{len(source)}:{source}'}\x1f{detail_digest or '-'}")


def event_hash(prev: bytes, id_: int, at: str, user: str | None, entity: str | None, entity_id: int | None,
               meter_id: int | None, action: str | None, before: str | None, after: str | None,
               source: str | None, detail_digest: str | None) -> bytes:
    """The chain hash of one event row: SHA-256 of the previous hash followed by the UTF-8 of
    :func:`canonical` (texts as stored: ``before``/``after`` JSON text, ``at`` per AT_FORMAT)."""
    body = canonical(id_, at, user, entity, entity_id, meter_id, action, before, after, source, detail_digest)
    return hashlib.sha256(prev + body.encode("utf-8")).digest()


def json_text(value: Any) -> str | None:
    """The JSON text the register stores for an event's ``before``/``after`` (None stays SQL NULL)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str)


# ---- personal values kept apart -------------------------------------------------------------

def _is_value(v: Any) -> bool:
    return v is not None and v != PERSONAL and v != ERASED and v != {} and v != ""


def split_personal(before: dict | None, after: dict | None, personal_extra_keys: Iterable[str] = ()
                   ) -> tuple[dict | None, dict | None, dict[str, tuple[Any, Any]]]:
    """``before``/``after`` without personal values, and the values apart: ``{key: (before, after)}``.

    Keys: the personal fields, and ``extra.NAME`` for every spreadsheet column
    (``extra`` and ``personal_extra`` dicts: any column may be marked personal
    later, so each is kept apart and its entry flagged when it is). In the
    returned dicts each such value reads ``PERSONAL``.
    """
    apart: dict[str, list[Any]] = {}
    out = []
    for side, d in enumerate((before, after)):
        if not isinstance(d, dict):
            out.append(d)
            continue
        d2 = dict(d)
        for k in PERSONAL_FIELDS:
            if k in d2 and _is_value(d2[k]):
                apart.setdefault(k, [None, None])[side] = d2[k]
                d2[k] = PERSONAL
        for col in ("extra", "personal_extra"):
            ex = d2.get(col)
            if isinstance(ex, dict) and ex:
                masked = {}
                for name, v in ex.items():
                    if _is_value(v):
                        apart.setdefault(f"extra.{name}", [None, None])[side] = v
                        masked[name] = PERSONAL
                    else:
                        masked[name] = v
                d2[col] = masked
        out.append(d2)
    return out[0], out[1], {k: (v[0], v[1]) for k, v in apart.items()}


def id_runs(ids: Sequence[int]) -> list[list[int]]:
    """``[[first, count], ...]``: the runs of consecutive ids in ``ids``, in order."""
    if ids and list(ids) == list(range(ids[0], ids[0] + len(ids))):  # the usual case: one run
        return [[ids[0], len(ids)]]
    runs: list[list[int]] = []
    for i in ids:
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1][1] += 1
        else:
            runs.append([i, 1])
    return runs


def run_ids(runs: str | list) -> list[int]:
    """The ids of ``[[first, count], ...]`` runs (or their JSON text)."""
    if isinstance(runs, str):
        runs = json.loads(runs)
    return [first + k for first, count in runs for k in range(count)]


def _scalar(v: Any) -> str | None:
    """The JSON text ``_dumps`` gives a text or None, without the encoder's overhead (None for other types)."""
    if v is None:
        return "null"
    if type(v) is str:
        return _encode_text(v)
    return None


def entry_text(salt: str, before: Any, after: Any) -> str:
    # the common case (a text value or none: occupant, flat, reference) written directly, byte for byte what
    # _dumps writes (tests/storage/test_integrity_text.py); anything else through the encoder
    b, a = _scalar(before), _scalar(after)
    if b is not None and a is not None and type(salt) is str:
        return '{"s":' + _encode_text(salt) + ',"b":' + b + ',"a":' + a + "}"
    return _dumps({"s": salt, "b": before, "a": after})


def new_entries(pairs: Sequence[tuple[Any, Any]]) -> tuple[list[str], list[str]]:
    """The entries of ``(before, after)`` pairs, each with its own new salt, and their digests, in order.

    Texts and none (what an import keeps apart) are written directly, byte for byte what
    :func:`entry_text` writes; anything else goes through it."""
    n = len(pairs)
    raw = os.urandom(16 * n).hex()
    salts = [raw[i:i + 32] for i in range(0, 32 * n, 32)]
    enc = _encode_text
    try:
        entries = ['{"s":"' + s + '","b":' + ("null" if b is None else enc(b)) + ',"a":'
                   + ("null" if a is None else enc(a)) + "}" for s, (b, a) in zip(salts, pairs)]
    except TypeError:  # a value that is not a text: a number, a flag, a list
        entries = [entry_text(s, b, a) for s, (b, a) in zip(salts, pairs)]
    sha = hashlib.sha256
    return entries, [sha(e.encode("utf-8")).hexdigest() for e in entries]


class Kept(NamedTuple):
    """Values of one key kept apart for several meters, made ready to seal (``keep_apart``)."""
    positions: list[int]   # the meters' positions in their batch
    digests: str           # the entries' digests, concatenated
    payload: bytes | None  # the entries as stored (``encode_entries``)


def keep_apart(positions: list[int], pairs: Sequence[tuple[Any, Any]]) -> Kept:
    """``(before, after)`` pairs of the meters at ``positions`` as salted entries, their digests and payload
    (what ``seal`` would make of them: an import makes them in its helper thread)."""
    entries, digests = new_entries(pairs)
    return Kept(positions, "".join(digests), encode_entries(entries))


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def encode_entries(entries: Sequence[str | None]) -> bytes | None:
    """A personal_values row's payload. One meter: the entry's own UTF-8 (NULL once erased); several:
    their entries one per line (an entry's JSON text has no line break; an empty line once erased),
    compressed. (Registers sealed before 2026-12 hold a compressed JSON list there: still read.)"""
    if len(entries) == 1:
        return None if entries[0] is None else entries[0].encode("utf-8")
    return zlib.compress("\n".join([e or "" for e in entries]).encode("utf-8"), 1)


def decode_entries(payload: bytes | None) -> list[str | None]:
    if payload is None:
        return [None]
    payload = bytes(payload)
    if payload[:1] == b"{":
        return [payload.decode("utf-8")]
    text = zlib.decompress(payload).decode("utf-8")
    if text[:1] == "[":  # the earlier form: a JSON list
        return json.loads(text)
    return [e or None for e in text.split("\n")]


def entry_values(entry: str) -> tuple[Any, Any]:
    d = json.loads(entry)
    return d.get("b"), d.get("a")


def is_personal_key(key: str, marked: Iterable[str]) -> bool:
    """Whether the entries of ``key`` hold personal data: a personal field, or a column marked personal."""
    return key in PERSONAL_FIELDS or (key.startswith("extra.") and key[6:] in set(marked))


# ---- what an event's detail digest covers ------------------------------------------------------

def _t(s: str) -> str:
    return f"{len(s)}:{s}"


def detail_digest(batch: tuple[str, bytes] | None, personal: Sequence[tuple[str, str, str]],
                  anchors: Sequence[tuple[str, int, str | None]]) -> str | None:
    """What an event covers in other tables, as one SHA-256 (hex); None when it covers nothing.

    ``batch``: (meter_ids runs JSON, data) of its ``event_batches`` row; ``personal``: (key, meter_ids
    runs JSON, digests) of its ``personal_values`` rows, ``anchors``: (table, item id, content hash) of
    its ``evidence_anchors`` rows, both in the order of their ids. The text hashed: one part per row,
    separated by U+001E: ``B`` runs and the data's SHA-256; ``P`` key, runs and the digests; ``A``
    table, item id and hash (texts as ``LENGTH:TEXT``, an absent hash as ``-``)."""
    if batch is None and not personal and not anchors:
        return None
    parts = [] if batch is None else [f"B{_t(batch[0])}{digest(bytes(batch[1]))}"]
    parts += [f"P{_t(k)}{_t(ids)}{d}" for k, ids, d in personal]
    parts += [f"A{_t(t)}{i}:{h or '-'}" for t, i, h in anchors]
    return digest("\x1e".join(parts))


# ---- evidence ----------------------------------------------------------------------------------

def _plain(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def content_hash(kind: str, fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of an evidence item: ``kind`` and its fields as canonical JSON (keys sorted)."""
    body = json.dumps({"kind": kind, "fields": _plain(fields)}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return digest(body)


#: Evidence kinds: table -> (the columns hashed, the child rows hashed with it). The hash of a lot's draw
#: is kept on the lot (``lots.draw_hash``); a draw's status is a later fact, logged but not hashed.
EVIDENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "readouts": ("id", "meter_id", "commissioning_id", "read_at", "read_by", "mbus_manufacturer", "identification",
                 "transport", "port", "baud", "primary_address", "decoded", "notes"),
    "commissioning_records": ("id", "meter_id", "installation_id", "commissioned_on", "technician", "checklist",
                              "plausibility", "notes", "status", "signed_by", "signed_at", "created_by"),
    "calibration_results": ("id", "meter_id", "lot_id", "tested_on", "lab", "certificate", "subassembly",
                            "initial_verdict", "in_service_verdict", "coverage", "missing_intervals", "inputs",
                            "notes", "recorded_by", "recorded_at"),
    "lots": ("id", "name", "key", "rule", "purpose", "formed_at", "formed_by", "lot_size", "level", "aql",
             "inspection", "code_letter", "plan_letter", "sample_size", "acceptance_number", "rejection_number",
             "plan"),
    "lot_draws": ("id", "seed"),
    "lot_results": ("id", "lot_id", "meter_id", "calibration_result_id", "error_pct", "limit_pct", "defective",
                    "inaccessible", "tested_on", "notes"),
    "lot_verdicts": ("id", "lot_id", "decided_on", "verdict", "sample_tested", "defectives", "acceptance_number",
                     "rejection_number", "retain_until", "decided_by", "notes"),
    "meter_writes": ("id", "meter_id", "commissioning_id", "kind", "ok", "outcome", "detail", "before", "after",
                     "written_at", "written_by", "transport", "port"),
    "commissioning_photos": ("id", "commissioning_id", "step", "caption", "filename", "media_type", "sha256",
                             "size_bytes", "taken_at", "added_by", "added_at"),
}
FRAME_COLUMNS = ("seq", "direction", "raw")
POINT_COLUMNS = ("seq", "error_pct", "q_m3h", "dtheta_k", "interval", "mpe_initial_pct", "mpe_in_service_pct",
                 "acceptance_initial_pct", "acceptance_in_service_pct", "pass_initial", "pass_in_service",
                 "in_interval")
MEMBER_COLUMNS = ("position", "meter_id", "snapshot")
DRAW_COLUMNS = ("draw_order", "meter_id", "spare", "drawn_at")


def item_hash(table: str, row: dict[str, Any], children: Sequence[dict[str, Any]] = ()) -> str:
    """The content hash of one evidence item of ``table`` from its row (and its frames, points,
    members or draws, in order)."""
    fields = {c: row.get(c) for c in EVIDENCE_COLUMNS[table]}
    child_cols = {"readouts": FRAME_COLUMNS, "calibration_results": POINT_COLUMNS, "lots": MEMBER_COLUMNS,
                  "lot_draws": DRAW_COLUMNS, "meter_writes": FRAME_COLUMNS}.get(table)
    if child_cols is not None:
        fields["rows"] = [[c.get(k) for k in child_cols] for c in children]
    if table == "commissioning_photos":  # the bytes as their SHA-256 (a photo may be megabytes)
        fields["data_sha256"] = hashlib.sha256(bytes(row.get("data") or b"")).hexdigest()
    return content_hash(table, fields)
