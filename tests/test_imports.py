"""House rules a reader can check without running the game: no import cycle, no long module.

The import graph is read from the source with ``ast``, not from an import run, so it sees
every import: the ones inside functions too (an import put inside a function to dodge a
loop still makes one). Imports under ``if TYPE_CHECKING:`` are left out: they never run.
An edge to ``a.b.c`` is also an edge to the packages ``a.b`` and ``a`` when the importer
is outside them, because importing a module first runs its packages' ``__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path


import edgequest

PACKAGE = Path(edgequest.__file__).resolve().parent
MAX_LINES = 700


def module_files() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name, with its file and whether it is a package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if "_missions" in parts:
            continue
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_names(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ours that ``module`` imports anywhere (functions included), resolved."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                for other in child.orelse:
                    visit_one(other)
            else:
                visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = {f"{target}.{alias.name}" for alias in node.names} & known
            names.update(submodules)
            if len(submodules) < len(node.names):  # a name defined in the module itself
                names.add(target)
        else:
            visit(node)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of ours whose code runs when it is imported (one step)."""
    files = module_files()
    known = set(files)
    graph = {}
    for module, (path, is_package) in files.items():
        parts = module.split(".")
        own_packages = {".".join(parts[:i]) for i in range(1, len(parts) + is_package)}
        edges = set()
        for name in imported_names(ast.parse(path.read_text(encoding="utf-8")), module, is_package, known):
            pieces = name.split(".")
            for i in range(1, len(pieces) + 1):
                ancestor = ".".join(pieces[:i])
                if ancestor in known and ancestor not in own_packages and ancestor != module:
                    edges.add(ancestor)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_loop(graph, set(component)))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def _loop(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One loop through a component, to name in a failure: a -> b -> ... -> a."""
    start = min(component)
    path, seen = [start], {start}
    while True:
        step = min(w for w in graph[path[-1]] if w in component)
        if step in seen:
            return path[path.index(step):] + [step]
        path.append(step)
        seen.add(step)


def _described(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(loop) for loop in found)


def test_the_graph_sees_imports_inside_functions_and_skips_type_checking():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n    from edgequest.tui import app\n"
        "def later():\n    from edgequest.game.play import Game\n"
    )
    known = {"edgequest.x.sibling", "edgequest.game.play", "edgequest.tui.app"}
    names = imported_names(ast.parse(source), "edgequest.x.mod", False, known)
    assert names == {"typing", "edgequest.x.sibling", "edgequest.game.play"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles (break them; see docs/architecture.md):\n" + _described(found)


def _long_modules() -> dict[str, int]:
    lengths = {str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
               for path, _ in module_files().values()}
    return {name: n for name, n in lengths.items() if n > MAX_LINES}


def test_no_module_over_700_lines():
    long = _long_modules()
    assert not long, f"modules over {MAX_LINES} lines (split them by model or concern): {long}"


def test_only_the_tui_imports_textual_even_inside_functions():
    """The layer rule, read from the source: an import inside a function counts too."""
    files = module_files()
    offenders = {}
    for module, (path, is_package) in files.items():
        if module == "edgequest.tui" or module.startswith("edgequest.tui."):
            continue
        names = imported_names(ast.parse(path.read_text(encoding="utf-8")), module, is_package, set(files))
        textual = sorted(n for n in names if n.split(".")[0] in ("textual", "textual_serve"))
        if textual:
            offenders[module] = textual
    assert not offenders, f"Textual outside edgequest/tui: {offenders}"
