"""Mission files: the typed, immutable campaign and the loader that validates it."""

from edgequest.campaign.schema import (
    Control,
    Figure,
    Lock,
    Mission,
    Optimise,
    Part,
    SpecCheck,
    Weights,
)
from edgequest.campaign.loader import (
    load_campaign,
    load_mission,
    load_mission_bytes,
    mission_dir,
    mission_paths,
)

__all__ = [
    "Control",
    "Figure",
    "Lock",
    "Mission",
    "Optimise",
    "Part",
    "SpecCheck",
    "Weights",
    "load_campaign",
    "load_mission",
    "load_mission_bytes",
    "mission_dir",
    "mission_paths",
]
