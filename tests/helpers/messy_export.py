"""A generated "real" billing export, messy the way such exports are, with the truth it was made from.

``messy_csv(path, n)`` writes what a UK billing system exports: a title line above the header, the
system's own header texts, ``;`` separators, decimal commas, ``dd/mm/yyyy`` dates, UTF-8 with a
byte-order mark but three lines in Windows-1252, quoted cells holding ``;`` and ``"``, serials with
leading zeros, accents, personal columns and billing columns the register does not keep.
``messy_xlsx(path, n)`` writes its workbook twin (a title row, zero-padded serial numbers, date
cells and Excel serial numbers, numbers as numbers). ``MAPPING`` is the mapping profile for both.

Each returns the truth: one dict per meter with the values the register must hold, derived from the
generator's own choices (never from the program's output).
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

MAPPING = {
    "Account Number": "customer_reference", "Customer Name": "occupant_name", "Flat No": "flat",
    "Property Address": "location", "Scheme": "site", "Block": "building", "Meter Make": "manufacturer",
    "Meter Model": "model", "Meter Serial": "serial", "Fitted Date": "install_date", "Qp (m3/h)": "qp_m3h",
    "Class": "mid_class", "DN": "dn", "M-Bus ID": "secondary_address", "Battery Expiry": "battery_expiry",
    "Comments": "notes", "Tariff": None, "Balance (£)": None, "Last Bill": None,
}
HEADER = ["Account Number", "Customer Name", "Flat No", "Property Address", "Scheme", "Block", "Meter Make",
          "Meter Model", "Meter Serial", "Fitted Date", "Qp (m3/h)", "Class", "DN", "M-Bus ID", "Battery Expiry",
          "Tariff", "Balance (£)", "Last Bill", "Route", "Comments"]
SCHEMES = ["Café Quarter", "Brontë Court", "Riverside Heat Network", "Northgate Estate", "Mill Lane",
           "Sørensen House", "St. Mary's Walk", "Kings Cross Block 7"]
MAKES = [("Kamstrup", "MULTICAL 603", 8), ("Sontex", "Supercal 5", 8), ("Landis+Gyr", "T550", 8),
         ("Diehl", "Sharky 775", 8), ("Itron", "CF Echo II", 8)]
FIRST = ["Zoë", "José", "Ann", "Łukasz", "Chloé", "Ravi", "Siân", "Ben", "Noémie", "O'Brien"]
LAST = ["Brontë", "Smith", "Müller", "Ó Súilleabháin", "Patel", "Jones", "Nguyễn", "García"]
QPS = [0.6, 1.5, 2.5, 3.5, 6.0]
CP1252_LINES = 3


def _truth(n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        make, model, digits = MAKES[i % len(MAKES)]
        serial = f"{100_000 + i:0{digits}d}" if make == "Sontex" else str(60_000_000 + i * 7)
        installed = dt.date(2008, 1, 1) + dt.timedelta(days=rnd.randrange(6000))
        quoted_note = i % 97 == 5
        rows.append({
            "customer_reference": f"ACC{500000 + i}",
            "occupant_name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
            "flat": f"{1 + i % 120}",
            "location": f"Flat {1 + i % 120}, riser cupboard" + ("; rear" if i % 211 == 3 else ""),
            "site": SCHEMES[i % len(SCHEMES)],
            "building": f"Block {chr(65 + i % 6)}",
            "manufacturer": make, "model": model, "serial": serial,
            "install_date": installed,
            "qp_m3h": rnd.choice(QPS),
            "mid_class": rnd.choice([2, 2, 3]),
            "dn": rnd.choice([15, 20, 25]),
            "secondary_address": f"{(int(serial) % 10 ** 8):08d}",
            "battery_expiry": installed + dt.timedelta(days=3652),
            "notes": ('key with "caretaker"; ring first' if quoted_note else ("" if i % 3 else "access via car park")),
            "route": f"R{i % 17}",
            "_tariff": rnd.choice(["Standard", "Economy 7", "Social"]),
            "_balance": f"{rnd.randrange(-5000, 50000) / 100:.2f}".replace(".", ","),
            "_last_bill": (installed + dt.timedelta(days=400)).strftime("%d/%m/%Y"),
        })
    return rows


def _cells(r: dict) -> list[str]:
    return [r["customer_reference"], r["occupant_name"], r["flat"], r["location"], r["site"], r["building"],
            r["manufacturer"], r["model"], r["serial"], r["install_date"].strftime("%d/%m/%Y"),
            f"{r['qp_m3h']:g}".replace(".", ","), str(r["mid_class"]), str(r["dn"]), r["secondary_address"],
            r["battery_expiry"].strftime("%d/%m/%Y"), r["_tariff"], r["_balance"], r["_last_bill"], r["route"],
            r["notes"]]


def _csv_cell(text: str) -> str:
    if ";" in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def messy_csv(path: Path, n: int = 40_000, seed: int = 13) -> list[dict]:
    """Write the messy CSV export of ``n`` meters; returns the truth (see the module's notes)."""
    truth = _truth(n, seed)
    # three rows typed on an old PC: their line is Windows-1252, and holds only what that encoding has
    old_pc = {n // 4, n // 2, (3 * n) // 4}
    for i in old_pc:
        truth[i]["site"] = "Café Quarter"
        truth[i]["occupant_name"] = "Zoë Brontë"
    out = bytearray(b"\xef\xbb\xbf")
    out += "Billing export;Meters and customers;01/03/2024\r\n".encode()
    out += (";".join(HEADER) + "\r\n").encode()
    for i, r in enumerate(truth):
        line = ";".join(_csv_cell(c) for c in _cells(r)) + "\r\n"
        out += line.encode("cp1252" if i in old_pc else "utf-8")
    path.write_bytes(bytes(out))
    return truth


def messy_xlsx(path: Path, n: int = 5_000, seed: int = 17) -> list[dict]:
    """The workbook twin: title row, header on row 3, Sontex serials as numbers shown with leading zeros
    (format 00000000), install dates as date cells or as bare Excel serial numbers, numbers as numbers."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    truth = _truth(n, seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Export")
    ws.append(["Billing export — meters and customers"])
    ws.append([])
    ws.append(HEADER)
    epoch = dt.date(1899, 12, 30)
    for i, r in enumerate(truth):
        serial: object = r["serial"]
        if r["manufacturer"] == "Sontex":
            c = WriteOnlyCell(ws, value=int(r["serial"]))
            c.number_format = "00000000"
            serial = c
        if i % 2:
            installed: object = (r["install_date"] - epoch).days  # a date pasted as its serial number
        else:
            installed = WriteOnlyCell(ws, value=r["install_date"])
            installed.number_format = "dd/mm/yyyy"
        battery = WriteOnlyCell(ws, value=r["battery_expiry"])
        battery.number_format = "dd/mm/yyyy"
        ws.append([r["customer_reference"], r["occupant_name"], int(r["flat"]), r["location"], r["site"],
                   r["building"], r["manufacturer"], r["model"], serial, installed, r["qp_m3h"], r["mid_class"],
                   r["dn"], r["secondary_address"], battery, r["_tariff"], float(r["_balance"].replace(",", ".")),
                   r["_last_bill"], r["route"], r["notes"] or None])
    wb.save(path)
    return truth
