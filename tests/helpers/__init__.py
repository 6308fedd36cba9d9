"""Helpers shared by test modules (plain functions and data; fixtures stay in the conftest files).

A test module imports from here, never from another test module or from a conftest.
"""
