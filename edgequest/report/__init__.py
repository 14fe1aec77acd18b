"""A save's lab report (HTML or Markdown), recomputed by replay: ``edgequest report``."""
