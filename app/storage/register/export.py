"""Export: the register as a CSV or XLSX file in the import's own format (restricted meters left out)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import func, select

from app.storage import manufacturers, safe_export, tabular
from app.storage.register.meters import Meters
from app.storage.register.tables import M, S


class Export(Meters):
    """The export rows, and the files written from them."""

    def export_rows(self, *, site: str | None = None, include_personal: bool = False,
                    meter_ids: Iterable[int] | None = None) -> tuple[list[str], Iterator[list[str]]]:
        """Header and rows of the register export (restricted meters left out), ordered by
        manufacturer, serial. The contract's columns first, then extended columns that
        some meter fills, then the spreadsheet's own extra columns."""
        ext = list(tabular.EXTENDED_COLUMNS) + (list(tabular.PERSONAL_COLUMNS) if include_personal else [])
        base = self._filtered(select(M.c.id).select_from(M.join(S, S.c.id == M.c.site_id)), site=site,
                              meter_ids=meter_ids)
        with self._read() as conn:
            counts = conn.execute(select(*[func.count(M.c[c]) for c in ext]).where(M.c.id.in_(base))).one()
            extra_keys: set[str] = set()
            for (e,) in conn.execute(select(M.c.extra).where(M.c.id.in_(base), M.c.extra.is_not(None))):
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
                    extra = m["extra"] or {}
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

    def export_csv(self, path: str | Path | IO[str], **kw) -> int:
        """The export as CSV (UTF-8) to a path (written atomically) or an open text stream."""
        header, rows = self.export_rows(**kw)
        return safe_export.write_csv(path, header, rows, numeric=tabular.NUMERIC_COLUMNS)

    def export_xlsx(self, path: str | Path, **kw) -> int:
        """The export as an XLSX workbook (text as string cells: serials keep their leading zeros)."""
        header, rows = self.export_rows(**kw)
        return safe_export.write_xlsx(path, header, rows, numeric=tabular.NUMERIC_COLUMNS, sheet="meters")
