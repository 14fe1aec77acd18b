"""A plotext chart that builds its text only when its data or its size change.

textual-plotext would also draw these charts, but it rebuilds the plot on every refresh
(every focus change, every repaint of the screen around it). Over a slow ssh link and on
a 2-core lab server that is wasted work, so this widget keeps the built text in a cache
keyed by (data, width, height, colour mode) and hands the same text back until one of
them changes. plotext itself is imported on the first draw, off the title screen's path.
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.widget import Widget

from edgequest.campaign.schema import Part
from edgequest.tui.instruments import Instrument, RunView, build_chart


class InstrumentChart(Widget):
    DEFAULT_CSS = """
    InstrumentChart { height: 1fr; width: 1fr; }
    """

    def __init__(self, instrument: Instrument, part: Part, *, id: str | None = None):
        super().__init__(id=id)
        self.instrument = instrument
        self.part = part
        self._runs: tuple[RunView, ...] = ()
        self._cache_key: tuple | None = None
        self._cached: Text = Text("")
        self.builds = 0  # how many times plotext ran: tests check charts redraw only on change

    def show(self, runs: Sequence[RunView]) -> None:
        runs = tuple(runs)
        if [r.number for r in runs] != [r.number for r in self._runs]:
            self._runs = runs
            self.refresh()

    def render(self) -> Text:
        if not self._runs or not self.instrument.applies(self._runs[-1].metrics):
            return Text(f"{self.instrument.title}\n\nNo run to draw yet: press r to run the design.",
                        style="italic")
        width, height = self.content_size
        nocolor = bool(getattr(self.app, "no_color", False))
        key = (tuple(r.number for r in self._runs), width, height, nocolor)
        if key != self._cache_key:
            self._cached = Text.from_ansi(build_chart(self.instrument, self.part, self._runs, width, height, nocolor))
            self._cache_key = key
            self.builds += 1
        return self._cached
