"""SVM (FLAG ``SVM``, AB Svensk Värmemätning): the F2 and F22 heat meters, the F2 also sold as Elster F2.

The simulated layout (named ``elster``) follows the libmbus frame Elster-F2.
"""
from __future__ import annotations

from drivers.makes.base import Make, SimRecord as R

MAKE = Make(
    key="svm", name="SVM", flags=("SVM",),
    models={"SVM": {0x08: "F2",                    # libmbus frame Elster-F2
                    0x09: "F22"}},                 # libmbus frames svm_f22_telegram1/2
    simulator={"elster": (
        R("energy", 0x06, "int32"), R("volume", 0x14, "int32"), R("t_flow", 0x5B, "int16"),
        R("t_return", 0x5F, "int16"), R("dtheta", 0x62, "int16"),
        R("on_time", 0x22, "int32", offset=3600.0 * 24 * 400), R("flow", 0x3B, "int32"), R("power", 0x2C, "int32"),
        R("datetime", 0x6D, "datetime"))},
    sources="libmbus test frames Elster-F2, svm_f22_telegram1/2",
)
