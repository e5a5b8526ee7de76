"""Deterministic process code only: no I/O, no clocks, no randomness. Side effects are
activities, referenced here and run by the worker."""
