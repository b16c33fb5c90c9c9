"""The house rules that hold the layout together: no import circles between googlive's modules
(imports at module level; `if TYPE_CHECKING:` blocks and imports inside functions are not
circles at run time), and docs/ARCHITECTURE.md's map names every package there is."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "googlive"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_at_load(path: Path, name: str, known: set[str]) -> set[str]:
    """The googlive modules `path` imports when it is loaded."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if not isinstance(node, ast.Import | ast.ImportFrom | ast.If | ast.Try):
            continue
        for n in ast.walk(node):
            if isinstance(n, ast.Import):
                targets = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                base = n.module or ""
                if n.level:
                    pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (n.level - 1)]
                    base = ".".join([*pkg, base] if base else pkg)
                targets = [base] + [f"{base}.{a.name}" for a in n.names]
            else:
                continue
            # A module's own packages are loaded before it anyway (their __init__ importing
            # their submodules is the normal shape, not a circle).
            out |= {t for t in targets if t in known and not (name + ".").startswith(t + ".")}
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PKG.rglob("*.py")}
    known = set(files)
    return {m: imports_at_load(p, m, known) for m, p in files.items()}


def test_no_import_circles_in_googlive():
    graph = import_graph()
    assert len(graph) > 100 and graph["googlive.handler"]  # the graph was really read
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_circle(tmp_path):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    mod = tmp_path / "m.py"
    mod.write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from googlive.live import events\n"
        "if TYPE_CHECKING:\n    from googlive.handler import GeminiHandler\n"
        "def f():\n    from googlive import ui\n"
    )
    known = {"googlive.live", "googlive.live.events", "googlive.handler", "googlive.ui"}
    assert imports_at_load(mod, "googlive.x.m", known) == {"googlive.live", "googlive.live.events"}


def test_the_architecture_map_names_every_package():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    packages = sorted(
        str(p.parent.relative_to(PKG))
        for p in PKG.rglob("__init__.py")
        if p.parent != PKG and "__pycache__" not in p.parts
    )
    missing = [p for p in packages if f"{p.rsplit('/', 1)[-1]}/" not in doc]
    assert packages and missing == []
