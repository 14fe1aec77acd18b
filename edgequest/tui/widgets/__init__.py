"""The game's own widgets: controls, charts, the SPEC panel and the Math Peek."""
