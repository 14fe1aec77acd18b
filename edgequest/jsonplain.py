"""The one JSON cleaner: numpy scalars and arrays as Python numbers and lists, non-finite as null.

The command line (``simulate``), the grader's verdicts and every results file go through
:func:`plain` and :func:`dumps`, so a value prints the same way wherever it appears.
This module imports nothing from EdgeQuest (any layer may use it).
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: tables with text keys, lists, numbers, text; NaN and infinities as None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return plain(value.tolist())  # numpy arrays and scalars alike
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(data: Any, *, compact: bool = False, ensure_ascii: bool = False) -> str:
    """JSON for people and tools, after :func:`plain` (so it never holds NaN)."""
    return json.dumps(plain(data), indent=None if compact else 2, allow_nan=False, ensure_ascii=ensure_ascii,
                      separators=(",", ":") if compact else None)
