"""Minol (FLAG ``ZRM``, Minol-Zenner): the Minocal C2 heat meter."""
from __future__ import annotations

from drivers.makes.base import Make

MAKE = Make(
    key="minol", name="Minol", flags=("ZRM",),
    models={"ZRM": {0x81: "Minocal C2"}},          # libmbus frames minol_minocal_c2, ZRM_Minol-Minocal-C2
    sources="libmbus test frames minol_minocal_c2, ZRM_Minol-Minocal-C2",
)
