"""What a run simulates in each part: mission params + controls -> engine -> metrics.

The bridge between a mission file's words and the engine's functions. Each part of a
mission names a model (``frontier``, ``fleet``, ``privacy``); the model reads the part's
params and the run's controls, calls the engine with a seeded generator, and returns the
metrics as plain JSON-ready values. No I/O, no UI.
"""

# The built-in models, registered in an order that respects their imports (privacy builds
# on fleet); importing any one of them, or the registry, loads the package first.
from edgequest.simulators import frontier, fleet, privacy  # noqa: E402,F401  (register)
