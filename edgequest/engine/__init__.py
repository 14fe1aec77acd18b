"""The simulation engine: pure numpy functions, seeded, no I/O and no UI.

Every model takes explicit inputs (and a ``numpy.random.Generator`` where it draws) and
returns plain values or frozen dataclasses. Nothing here imports Textual, opens a file
or prints.
"""
