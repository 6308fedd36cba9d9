"""Meter communication: M-Bus transports, link layer, decoder, per-make drivers, the bus simulator.

Plain Python: nothing here imports Qt or the application.
"""
