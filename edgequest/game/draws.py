"""Where a run's random draws come from: the world, the part and the design, nothing else.

Fair by construction: a run's generator is seeded from

- the part's world (its ``world_seed`` param; a part without one uses its track id),
- the part's number,
- the design: the resolved control values (defaults filled in, each coerced to its
  control's type), serialised canonically (sorted names, JSON numbers),

hashed with SHA-256 into the entropy of a :class:`numpy.random.SeedSequence`. The player's
seed and the run's position in the save play no part, so every student who tries a
design sees the same numbers, and running it again would change nothing. The Lock's
truth draws from the world and the part alone.

An instructor exploring how much a design's outcome varies passes an ``explore`` seed
(``edgequest simulate --explore-seed N``); the game itself never does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Mapping

import numpy as np

from edgequest.campaign.schema import Part, Scalar


def canonical_design(controls: Mapping[str, Scalar]) -> str:
    """The design as one canonical string: the same resolved controls give the same text."""
    return json.dumps({str(k): controls[k] for k in sorted(controls)}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)


def world_of(part: Part) -> Scalar:
    """The part's world: its ``world_seed`` figure, else the track it belongs to."""
    figure = part.params.get("world_seed")
    if figure is not None:  # an integer, as the models read it (1010.0 is the world 1010)
        return int(figure.value) if isinstance(figure.value, (int, float)) else figure.value
    return f"track:{part.track}"


def entropy(part: Part, stream: str, design: str = "", explore: int | None = None) -> int:
    """128 bits from SHA-256 over the world, the part, the stream and the design."""
    payload = {"world": world_of(part), "part": part.number, "stream": stream, "design": design}
    if explore is not None:
        payload["explore"] = int(explore)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "big")


def design_generator(part: Part, controls: Mapping[str, Scalar], explore: int | None = None) -> np.random.Generator:
    """The generator of one run of ``controls`` (resolved) on ``part``."""
    return np.random.default_rng(np.random.SeedSequence(entropy(part, "run", canonical_design(controls), explore)))


def truth_generator(part: Part) -> np.random.Generator:
    """The generator of the part's Lock truth: the world and the part alone."""
    return np.random.default_rng(np.random.SeedSequence(entropy(part, "truth")))
