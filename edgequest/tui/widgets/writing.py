"""The text area reflections and the Ledger are written in.

Terminals disagree with Textual about the width of an emoji followed by a variation
selector (U+FE0F) or joined by a zero-width joiner: the line comes out one cell longer
than measured and pushes the box's border. Those invisible characters are dropped as the
text is typed or pasted; the emoji itself stays.
"""

from __future__ import annotations

from textual.document._edit import Edit, EditResult
from textual.widgets import TextArea

_INVISIBLE = {ord("\ufe0e"): None, ord("\ufe0f"): None, ord("\u200d"): None}


def without_invisibles(text: str) -> str:
    return text.translate(_INVISIBLE)


class WritingArea(TextArea):
    def edit(self, edit: Edit) -> EditResult:
        edit.text = without_invisibles(edit.text)
        return super().edit(edit)
