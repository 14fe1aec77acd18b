"""The architecture's import rules: engine <- simulators <- game <- {tui, cli, grading}.

Each module is imported alone in a fresh interpreter, and the test checks what got loaded:
Textual only under ``edgequest.tui``, nothing but numpy and the standard library under
``edgequest.engine``, and no module that does file I/O or printing in the engine.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import edgequest

ROOT = Path(edgequest.__file__).resolve().parent.parent
MODULES = sorted(m.name for m in pkgutil.walk_packages(edgequest.__path__, "edgequest.") if "_missions" not in m.name)


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", [m for m in MODULES if not m.startswith("edgequest.tui") and m != "edgequest.__main__"])
def test_only_the_tui_loads_textual(module):
    loaded = loaded_after_import(module)
    assert not any(name == "textual" or name.startswith("textual.") for name in loaded), module


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("edgequest.engine")])
def test_the_engine_stands_alone(module):
    loaded = loaded_after_import(module)
    ours = {name for name in loaded if name.startswith("edgequest.")}
    assert all(name.startswith("edgequest.engine") or name == "edgequest" for name in ours), sorted(ours)


def test_the_engine_does_no_io_and_prints_nothing():
    for path in (ROOT / "edgequest" / "engine").glob("*.py"):
        text = path.read_text()
        for call in ("open(", "print(", "input("):
            assert f" {call}" not in text and f"({call}" not in text and f"\n{call}" not in text, (path.name, call)
