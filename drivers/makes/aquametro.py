"""Aquametro (FLAG ``AMT``): the CALEC MB energy calculator."""
from __future__ import annotations

from drivers.makes.base import Make

MAKE = Make(
    key="aquametro", name="Aquametro", flags=("AMT",),
    models={"AMT": {0xB0: "CALEC MB"}},            # libmbus frame amt_calec_mb
    sources="libmbus test frame amt_calec_mb",
)
