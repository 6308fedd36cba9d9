"""One module per top-level command (``sample-plan`` lives in ``sample_plan.py``).

Each module defines ``register(subparsers)`` that adds its parser(s) and sets
``func`` (a callable taking the parsed namespace and returning an exit status).
Modules import only the standard library at module level; anything heavy is
imported inside the command function so that e.g. ``heatmeter decode`` starts
without loading Qt, SQLAlchemy or SciPy.
"""
