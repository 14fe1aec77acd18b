"""The key bar at the foot of every screen: the keys that work here, in one line of text.

Textual's Footer rebuilds a widget per key whenever the focus moves (moving between two
workbench controls cost ~50 ms of work per key press here), which shows as lag on a busy
lab server and as redraws over ssh. This bar computes one line of text from the screen's
active bindings and repaints only when that text changes. Keys the game cannot take
right now (a run while one simulates) are shown dimmed, so nothing relies on colour.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyBar(Widget):
    COMPONENT_CLASSES = {"keybar--key"}
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; width: 1fr; background: $footer-background; color: $footer-foreground; }
    KeyBar > .keybar--key { color: $footer-key-foreground; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._text = Text()
        self._spans: list[tuple[int, int, str]] = []  # (start, end, action) for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        text, spans = self._compose_text(screen)
        if text.plain != self._text.plain or text.spans != self._text.spans:
            self._text, self._spans = text, spans
            self.refresh()

    def _compose_text(self, screen: Screen) -> tuple[Text, list[tuple[int, int, str]]]:
        """The keys as one line; when it does not fit, the focused widget's keys go first,
        then the screen's last ones; help and quit always stay."""
        items: list[tuple[int, str, str, bool, str]] = []  # (rank, key, description, enabled, action)
        seen: set[str] = set()
        palette = None
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if key == self.app.COMMAND_PALETTE_BINDING:
                palette = active
                continue
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            if active.node is self.app:
                rank = 0
            elif active.node is screen:
                rank = 1
            else:
                rank = 2
            items.append((rank, self.app.get_key_display(binding), binding.description, active.enabled,
                          binding.action))
        items.sort(key=lambda item: {1: 0, 2: 1, 0: 2}[item[0]])
        width = self.size.width or 80
        hint = f" {self.app.get_key_display(palette.binding)} palette " if palette is not None else ""

        def length(chosen) -> int:
            return 1 + sum(len(k) + len(d) + 3 for _, k, d, _, _ in chosen) + len(hint)

        if length(items) > width and hint:  # the palette is in the help: its hint goes first
            hint = f" {self.app.get_key_display(palette.binding)} " if palette is not None else ""
            if length(items) > width:
                hint = ""
        while items and length(items) > width:
            droppable = [i for i, item in enumerate(items) if item[0] == 2] or \
                        [i for i, item in enumerate(items) if item[0] == 1]
            if not droppable:
                break
            items.pop(droppable[-1])
        key_style = self.get_component_rich_style("keybar--key", partial=True)
        text = Text(" ")
        spans: list[tuple[int, int, str]] = []
        for _, key, description, enabled, action in items:
            start = len(text)
            text.append(key, style=key_style if enabled else "dim")
            text.append(f" {description}  ", style="" if enabled else "dim")
            spans.append((start, len(text), action))
        if palette is not None and hint:
            text.append(" " * max(0, width - len(text) - len(hint)))
            spans.append((len(text), len(text) + len(hint), palette.binding.action))
            text.append(hint, style=key_style)
        return text, spans

    def on_resize(self, event: events.Resize) -> None:
        self._bindings_changed(self.screen)

    def render(self) -> Text:
        return self._text

    async def on_click(self, event: events.Click) -> None:
        """The mouse is optional: a click on a key runs its action."""
        for start, end, action in self._spans:
            if start <= event.x < end:
                await self.screen.run_action(action)
                return
