"""The part models a mission file may name, by name."""

from __future__ import annotations

from edgequest.campaign.schema import Part
from edgequest.errors import GameError
from edgequest.simulators.base import Model

MODELS: dict[str, Model] = {}


def register(model: Model) -> Model:
    MODELS[model.name] = model
    return model


def model_for(part: Part) -> Model:
    try:
        return MODELS[part.model]
    except KeyError:
        raise GameError(
            f"part {part.number} names model {part.model!r}, which this version of EdgeQuest does not have"
        ) from None


def _load_builtin_models() -> None:
    # Imported for their side effect of registering; kept in one place so that the
    # mission loader and the game see the same catalogue.
    import importlib

    for module in ("frontier", "fleet", "privacy"):
        try:
            importlib.import_module(f"edgequest.simulators.{module}")
        except ModuleNotFoundError as exc:  # pragma: no cover - only while a model is absent
            if exc.name != f"edgequest.simulators.{module}":
                raise


_load_builtin_models()
