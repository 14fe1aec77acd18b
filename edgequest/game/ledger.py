"""The Ledger's text: the strategy the player stands by, then the defence in their words.

A Ledger is stored as text (``Strategy: Privacy`` on its first line, a blank line, then
the defence), so saves keep one format. The strategy is never preselected: it must be
one of :data:`STRATEGIES`, chosen by the player.
"""

from __future__ import annotations

STRATEGIES = ("Personalization", "Privacy", "Balanced")
_PREFIX = "Strategy: "


def ledger_text(strategy: str, body: str) -> str:
    """The stored Ledger for a chosen strategy and its defence."""
    return f"{_PREFIX}{strategy}\n\n{body}"


def ledger_strategy(text: str | None) -> str | None:
    """The strategy a stored Ledger names, or None (no Ledger, or one written without it)."""
    if not text or not text.startswith(_PREFIX):
        return None
    name = text[len(_PREFIX):].split("\n", 1)[0].strip()
    return name if name in STRATEGIES else None
