"""The part models a mission file may name, by name.

The built-in models register themselves when their modules are imported, which the
package does on import (see ``edgequest/simulators/__init__.py``), so any import of this
module, or of one model module on its own, sees all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgequest.errors import GameError
from edgequest.simulators.base import Model

if TYPE_CHECKING:  # the mission's types, for annotations only: the loader imports this package
    from edgequest.campaign.schema import Part

MODELS: dict[str, Model] = {}


def register(model: Model) -> Model:
    MODELS[model.name] = model
    return model


def models() -> dict[str, Model]:
    """Every known model."""
    return MODELS


def model_for(part: Part) -> Model:
    try:
        return MODELS[part.model]
    except KeyError:
        raise GameError(
            f"part {part.number} names model {part.model!r}, which this version of EdgeQuest does not have"
        ) from None
