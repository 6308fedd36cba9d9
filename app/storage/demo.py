"""A generated register for demo mode, screenshots and benchmarks.

Realistic spread: several heat networks with buildings and monitoring points,
the common meter makes and sizes, install years 2008-2024 (some known only by
year, a few re-installed after repair), M-Bus addresses and battery dates.
Built through the normal CSV import, so the demo register is exactly what a
user's import would give. Deterministic for a given seed.
"""
from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

from app.storage import safe_export
from app.storage.register import Register, open_register
from app.storage.tabular import CONTRACT_COLUMNS, NUMERIC_COLUMNS

SITES = ("Riverside Heat Network", "Northgate Estate", "Castle Quarter", "Hillview Court", "Harbour Works",
         "Old Mill Lofts", "Station Yard", "Elm Park")
# (make, model, [(qp_m3h, ratio, dn)])
MODELS = (
    ("Kamstrup", "MULTICAL 603", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20)]),
    ("Kamstrup", "MULTICAL 403", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20), (6.0, 100, 25)]),
    ("Landis+Gyr", "T550 (UH50)", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20), (10.0, 100, 40)]),
    ("Diehl", "Sharky 775", [(1.5, 100, 15), (2.5, 100, 20), (3.5, 100, 25), (6.0, 100, 25)]),
    ("Itron", "CF Echo II", [(0.6, 50, 15), (1.5, 50, 15), (2.5, 50, 20)]),
    ("Sontex", "Supercal 5", [(1.5, 100, 15), (2.5, 100, 20)]),
    ("Engelmann", "SensoStar U", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20)]),
    ("Sensus", "PolluStat E", [(1.5, 100, 20), (3.5, 100, 25), (6.0, 100, 32)]),
)


def write_demo_csv(path: Path, meters: int = 3000, seed: int = 7) -> None:
    """Write a register CSV (contract columns) of ``meters`` generated meters."""
    rnd = random.Random(seed)
    serial_base = {make: 60_000_000 + 1_000_000 * i for i, (make, _m, _s) in enumerate(MODELS)}
    header = CONTRACT_COLUMNS + ("qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c")
    with safe_export.csv_output(path, header, numeric=NUMERIC_COLUMNS) as w:
        for i in range(meters):
            site_i = min(int(rnd.expovariate(0.45)), len(SITES) - 1)
            make, model, sizes = MODELS[(site_i * 3 + rnd.randrange(3)) % len(MODELS)]
            qp, ratio, dn = rnd.choice(sizes)
            year = max(2008, 2025 - int(rnd.expovariate(1 / 5.5)))  # most meters young, a tail of old ones
            day = dt.date(year, 1, 1) + dt.timedelta(days=rnd.randrange(365))
            serial_base[make] += rnd.randrange(1, 40)
            serial = str(serial_base[make])
            block = rnd.randrange(1, 9)
            flat = rnd.randrange(1, 80)
            point = "SS1" if i % 97 == 0 else ("CC1" if rnd.random() < 0.9 else "CC2")
            w.writerow([
                SITES[site_i], f"Block {chr(64 + block)}", f"Flat {block}{flat:02d}, riser cupboard", point,
                make, model, serial, rnd.choice(("2", "2", "2", "1", "3")), qp, "", ratio, dn,
                str(year) if rnd.random() < 0.04 else day.isoformat(),
                "" if rnd.random() < 0.3 else str(rnd.randrange(1, 251)),
                f"{int(serial) % 10**8:08d}",
                (day + dt.timedelta(days=int(365.25 * rnd.choice((10, 11, 12, 16))))).isoformat(),
                "return" if rnd.random() < 0.85 else "flow",
                qp * 2, 3, rnd.choice((100, 150, 177)), 2, rnd.choice((130, 150, 180)),
            ])


def build_demo_register(url: str, meters: int = 3000, seed: int = 7, user: str = "demo") -> Register:
    """Open ``url`` and fill it with the demo meters unless it already holds meters."""
    reg = open_register(url)
    if reg.count_meters(include_restricted=True) == 0:
        with tempfile.TemporaryDirectory(prefix="heatmeter-demo-") as tmp:
            path = Path(tmp) / "demo-register.csv"
            write_demo_csv(path, meters=meters, seed=seed)
            reg.import_file(path, user=user)
        add_demo_records(reg, user=user)
    return reg


# ---- evidence on a few meters: what the meter page and the reports show -------------------

DEMO_EVIDENCE_SITE = "Castle Quarter"
#: The sizing inputs of ``heatmeter calc sizing`` JSON kept as spreadsheet columns of a meter (its ``extra``).
DEMO_DESIGN = (
    # design_power_kw, min_power_kw, flow_temp_c, return_temp_c
    (8.0, 0.4, 65, 35), (12.0, 0.6, 65, 35), (25.0, 1.0, 70, 40), (6.0, 0.25, 60, 30),
)
_CHECKLIST = ("meter_type_approved", "flow_sensor_in_marked_pipe", "temperature_sensors_marked_pipes",
              "straight_lengths_ok", "seals_fitted", "display_readable", "mbus_address_set")
_OCCUPANTS = (("A. Okafor", "Flat 104", "CUST-10482"), ("B. Lindqvist", "Flat 212", "CUST-21907"),
              ("C. Moreau", "Flat 305", "CUST-30511"), ("D. Nowak", "Flat 418", "CUST-41876"))


def _demo_frame(meter, read_at: dt.datetime, energy_kwh: float, volume_m3: float) -> tuple[bytes, dict]:
    """A real RSP_UD telegram of the meter (EN 13757-3) and its decoded object (as heatmeter decode --json prints it)."""
    from drivers.mbus import decode
    from drivers.mbus.encoder import RecordSpec, encode_rsp_ud

    ident = meter.secondary_address or f"{int(meter.serial) % 10**8:08d}"
    frame = encode_rsp_ud([
        RecordSpec("energy", int(round(energy_kwh * 1000)), unit="Wh"),
        RecordSpec("volume", round(volume_m3, 2)),
        RecordSpec("power", 8400, unit="W"),
        RecordSpec("volume_flow", 0.26),
        RecordSpec("flow_temperature", 66.3),
        RecordSpec("return_temperature", 38.5),
        RecordSpec("fabrication_number", ident),
        RecordSpec("datetime", read_at.replace(second=0, microsecond=0).isoformat()),
    ], identification=ident, manufacturer=meter.mbus_manufacturer or "KAM", medium="heat_outlet",
        address=meter.primary_address or 0)
    return frame, decode(frame).to_json()


def add_demo_records(reg: Register, *, user: str = "demo", site: str = DEMO_EVIDENCE_SITE) -> int:
    """Give a few meters of ``site`` what a real register collects over the years.

    Commissioning records (signed, with the readout taken at commissioning:
    raw telegram and decode), calibration results (evaluated by the metrology
    core), occupants' personal data, one meter under legal hold, and design
    loads (the sizing inputs of ``heatmeter calc sizing`` as the meter's own spreadsheet
    columns) on the substation and a few dwelling meters. (No meter is
    restricted: the demo register's lists stay complete.) Deterministic; does nothing when the site already has
    commissioning records. Returns the number of meters touched.
    """
    from app.core import calcjson

    meters = reg.list_meters(site=site, include_restricted=True)
    if not meters or any(reg.list_commissioning(meter_id=m.id) for m in meters[:8]):
        return 0
    touched: set[int] = set()
    # 1. commissioning with its readout, on the first four meters
    for n, m in enumerate(meters[:4]):
        on = m.install_date or dt.date(2020, 1, 1)
        rec = reg.create_commissioning(m.id, user=user, technician="J. Ellis", commissioned_on=on)
        answers = {item: "yes" for item in _CHECKLIST}
        if n == 2:
            answers["display_readable"] = {"answer": "yes", "note": "display behind a hatch, key with caretaker"}
        rec = reg.save_commissioning_step(rec["id"], step=len(_CHECKLIST), answers=answers, user=user,
                                          notes="Meter commissioned after flushing; readout kept as evidence.",
                                          plausibility={"dtheta_k": 27.8, "power_kw_from_flow": 8.38,
                                                        "power_kw_reported": 8.4, "verdict": "plausible"})
        read_at = dt.datetime.combine(on, dt.time(10, 15 + n))
        frame, decoded = _demo_frame(m, read_at, energy_kwh=0.0 + n, volume_m3=0.01 * n)
        reg.save_readout([frame], [decoded], meter_id=m.id, user=user, read_at=read_at, transport="serial",
                         port="/dev/ttyUSB0", baud=2400, primary_address=m.primary_address,
                         commissioning_id=rec["id"])
        reg.sign_commissioning(rec["id"], user=user, signed_by="J. Ellis")
        # a later routine readout
        later = read_at + dt.timedelta(days=365)
        frame, decoded = _demo_frame(m, later, energy_kwh=5230.0 + 97 * n, volume_m3=168.4 + n)
        reg.save_readout([frame], [decoded], meter_id=m.id, user=user, read_at=later, transport="serial",
                         port="/dev/ttyUSB0", baud=2400, primary_address=m.primary_address)
        touched.add(m.id)
    # 2. calibration results (a complete meter at the lab), on meters 1..3
    for n, m in enumerate(meters[1:4]):
        qp = m.qp_m3h or 1.5
        ratio = m.qp_qi_ratio or 100
        errors = ((0.6, 1.1, 2.4), (0.9, -1.4, 3.1), (4.2, 5.6, 9.8))[n]
        points = [{"error_pct": errors[0], "q_m3h": 0.95 * qp, "dtheta_k": 3.4, "interval": "C1"},
                  {"error_pct": errors[1], "q_m3h": 0.105 * qp, "dtheta_k": 15.0, "interval": "C2"},
                  {"error_pct": errors[2], "q_m3h": 1.05 * qp / ratio, "dtheta_k": 95.0, "interval": "C3"}]
        inputs = {"subassembly": "complete_meter", "class": m.mid_class or 2, "qp_m3h": qp, "ratio": ratio,
                  "dtheta_min_k": m.dtheta_min_k or 3, "dtheta_max_k": m.dtheta_max_k or 100}
        result = calcjson.run("calibration", {**inputs, "points": points})
        tested = (m.install_date or dt.date(2015, 1, 1)) + dt.timedelta(days=int(365.25 * 9) + 30 * n)
        reg.add_calibration_result(m.id, tested_on=min(tested, dt.date(2025, 6, 1)), subassembly="complete_meter",
                                   points=points, result=result, inputs=inputs, lab="Midlands Flow Lab (UKAS 0412)",
                                   certificate=f"MFL-{2400 + n}", user=user)
        touched.add(m.id)
    # 3. personal data; a legal hold
    for (name, flat, ref), m in zip(_OCCUPANTS, meters[4:8]):
        reg.update_meter(m.id, {"occupant_name": name, "flat": flat, "customer_reference": ref},
                         expected_version=m.version, user=user)
        touched.add(m.id)
    reg.set_legal_hold(meters[5].id, True, user=user, reason="billing dispute 2024/117")
    # 4. design loads for sizing (E27): the substation meters and four dwellings
    design_meters = [m for m in meters if (m.monitoring_point or "").upper() == "SS1"] + meters[:4]
    for n, m in enumerate(design_meters):
        p, pmin, tf, tr = DEMO_DESIGN[n % len(DEMO_DESIGN)]
        if (m.monitoring_point or "").upper() == "SS1":
            p, pmin, tf, tr = 180.0 + 20 * n, 9.0, 75, 45
        cur = reg.get_meter(m.id)
        extra = dict(cur.extra or {})
        extra.update({"design_power_kw": f"{p:g}", "min_power_kw": f"{pmin:g}", "flow_temp_c": f"{tf:g}",
                      "return_temp_c": f"{tr:g}"})
        reg.update_meter(m.id, {"extra": extra}, expected_version=cur.version, user=user)
        touched.add(m.id)
    return len(touched)
