"""The calculators of the Calculators page, one form per ``heatmeter calc`` kind.

Every form builds the same JSON input object as ``heatmeter calc KIND`` takes
and computes through ``app.core.calcjson.run(kind, data)``, so the page and the
command give the same numbers. Modules here import pyqtgraph: the page imports
them from its ``build()``.
"""
