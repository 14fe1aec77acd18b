"""The errors EdgeQuest raises on purpose.

Each carries a message meant for a person: what was wrong and what is accepted. The
command line prints the message and exits 2; the TUI shows it as a notice.
"""

from __future__ import annotations


class EdgeQuestError(Exception):
    """Base of every error EdgeQuest raises deliberately."""


class MissionError(EdgeQuestError):
    """A mission file is unreadable or breaks the schema. ``problems`` lists every one."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class GameError(EdgeQuestError):
    """An action the game's rules do not allow now (a run before the Lock, ...)."""


class ControlError(GameError):
    """A control value is unknown or outside what the mission accepts."""


class SaveError(EdgeQuestError):
    """A save cannot be read, written or trusted."""


class ShortReflection(GameError):
    """A reflection too short to earn its points: the player confirms it, or keeps writing."""

    def __init__(self, message: str, chars: int, minimum: int):
        super().__init__(message)
        self.chars = chars
        self.minimum = minimum
