"""Export: the register as a CSV or XLSX file in the import's own format (restricted meters left out)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import func, select

from app.storage import manufacturers, safe_export, tabular
from app.storage.integrity import PERSONAL_FIELDS
from app.storage.register.eventlog import EventLog
from app.storage.register.meters import Meters
from app.storage.register.tables import M, S


class Export(Meters, EventLog):
    """The export rows, and the files written from them."""

    def export_rows(self, *, site: str | None = None, include_personal: bool = False,
                    meter_ids: Iterable[int] | None = None, exported: list[int] | None = None
                    ) -> tuple[list[str], Iterator[list[str]]]:
        """Header and rows of the register export (restricted meters left out), ordered by
        manufacturer, serial. The contract's columns first, then extended columns that
        some meter fills, then the spreadsheet's own extra columns. Personal data (the
        personal fields, notes and the columns marked personal) only with ``include_personal``;
        ``exported`` receives the ids of the meters written."""
        personal = [c for c in tabular.KNOWN_COLUMNS if c in PERSONAL_FIELDS]
        ext = [c for c in tabular.EXTENDED_COLUMNS if c not in PERSONAL_FIELDS] + (personal if include_personal
                                                                                   else [])
        base = self._filtered(select(M.c.id).select_from(M.join(S, S.c.id == M.c.site_id)), site=site,
                              meter_ids=meter_ids)
        with self._read() as conn:
            counts = conn.execute(select(*[func.count(M.c[c]) for c in ext]).where(M.c.id.in_(base))).one()
            extra_keys: set[str] = set()
            for (e,) in conn.execute(select(M.c.extra).where(M.c.id.in_(base), M.c.extra.is_not(None))):
                extra_keys.update(e or {})
            if include_personal:
                for (e,) in conn.execute(select(M.c.personal_extra).where(
                        M.c.id.in_(base), M.c.personal_extra.is_not(None))):
                    extra_keys.update(e or {})
        used = {c for c, n in zip(ext, counts) if n}
        with self._read() as conn:
            if "status" in used and conn.execute(select(M.c.id).where(
                    M.c.id.in_(base), M.c.status != "in_service").limit(1)).first() is None:
                used.discard("status")  # every meter in service: the default, not worth a column
            if "mbus_manufacturer" in used:
                pairs = conn.execute(select(M.c.manufacturer, M.c.mbus_manufacturer).where(M.c.id.in_(base))
                                     .group_by(M.c.manufacturer, M.c.mbus_manufacturer)).all()
                if all(flag == manufacturers.flag_for_make(make) for make, flag in pairs):
                    used.discard("mbus_manufacturer")  # all derived from the make: nothing to add
        used_ext = [c for c in ext if c in used]
        header = list(tabular.CONTRACT_COLUMNS) + used_ext + sorted(extra_keys - set(tabular.KNOWN_COLUMNS))
        q = self._filtered(self._meter_select(), site=site, meter_ids=meter_ids).order_by(M.c.manufacturer_key, M.c.serial)

        def gen() -> Iterator[list[str]]:
            fmt = tabular.format_value
            with self._read() as conn:
                for r in conn.execution_options(yield_per=2000).execute(q):
                    m = r._mapping
                    extra = dict(m["extra"] or {})
                    if include_personal:
                        extra.update(m["personal_extra"] or {})
                    if exported is not None:
                        exported.append(m["id"])
                    out = []
                    for c in header:
                        if c == "site":
                            out.append(m["site_name"])
                        elif c == "building":
                            out.append(m["building_name"] or "")
                        elif c == "monitoring_point":
                            out.append(m["mp_label"] or "")
                        elif c == "install_date":
                            out.append(tabular.format_install_date(m["install_date"], m["install_year_only"]))
                        elif c in M.c:
                            out.append(fmt(m[c]))
                        else:
                            out.append(extra.get(c, ""))
                    yield out
        return header, gen()

    def _logged(self, kw: dict, ids: list[int], what: str) -> None:
        if kw.get("include_personal") and ids:
            self.log_access(ids, what, fields=["personal data"], user=kw.get("user"))

    def _before_export(self, kw: dict) -> list[int]:
        if kw.get("include_personal") and self.read_only:
            from app.storage.errors import ReadOnlyRegister

            raise ReadOnlyRegister(f"register {self.url} is read-only: personal data cannot be exported "
                                   "(the access could not be logged)")
        return []

    def export_csv(self, path: str | Path | IO[str], **kw) -> int:
        """The export as CSV (UTF-8) to a path (written atomically) or an open text stream; with
        ``include_personal`` the access is logged (MMS 2.2.7.2)."""
        ids = self._before_export(kw)
        header, rows = self.export_rows(**{k: v for k, v in kw.items() if k != "user"}, exported=ids)
        n = safe_export.write_csv(path, header, rows, numeric=tabular.NUMERIC_COLUMNS)
        self._logged(kw, ids, "meters export --include-personal")
        return n

    def export_xlsx(self, path: str | Path, **kw) -> int:
        """The export as an XLSX workbook (text as string cells: serials keep their leading zeros); with
        ``include_personal`` the access is logged (MMS 2.2.7.2)."""
        ids = self._before_export(kw)
        header, rows = self.export_rows(**{k: v for k, v in kw.items() if k != "user"}, exported=ids)
        n = safe_export.write_xlsx(path, header, rows, numeric=tabular.NUMERIC_COLUMNS, sheet="meters")
        self._logged(kw, ids, "meters export --include-personal")
        return n
