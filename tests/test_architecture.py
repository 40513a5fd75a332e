"""The layering of the code (docs/architecture.md), checked by reading the source with ``ast``.

* :mod:`dipkg.core` imports neither the build (``kg``), the web app (``sparql_api``) nor the
  command (``dipkg.cli``); ``kg`` and ``sparql_api`` never import each other nor the command.
* No cycle among the project's imports that run: module-level and inside functions alike,
  so an import deferred into a function cannot hide one. Imports under ``if TYPE_CHECKING:``
  never run and are no edge (they still obey the layers).
* No project module imported inside a function unless a comment on it says it is lazy and
  why (``# lazy: ...``, for start-up speed: ``dipkg --help``, a worker's start, a module
  only an error needs).

Nothing is imported: every module is parsed, so a broken module cannot hide an edge. Each
check also runs on a small fake tree that breaks every rule, so none can pass vacuously.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dipkg", "kg", "sparql_api")
CLI = "dipkg.cli"

#: who may not import whom: (importer's layer, imported layer)
FORBIDDEN = (
    ("dipkg.core", "kg"),
    ("dipkg.core", "sparql_api"),
    ("dipkg.core", CLI),
    ("kg", "sparql_api"),
    ("kg", CLI),
    ("sparql_api", "kg"),
    ("sparql_api", CLI),
)

#: Violations still to mend, listed so none is exempt silently (empty: none). Each must
#: still occur: once fixed, the test says so and the entry goes.
PENDING: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    target: str  # project module imported
    line: int
    in_function: bool
    commented: bool  # a comment saying "lazy" on its line or just above its import block
    type_only: bool = False  # under ``if TYPE_CHECKING:``: never runs


def modules(root: Path) -> dict[str, Path]:
    """Every project module under ``root``, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(node: ast.Import | ast.ImportFrom, name: str, is_package: bool, known: set[str]):
    """The project modules one import statement names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
    if node.level:
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if module.split(".")[0] not in PACKAGES:
        return []
    out = []
    for alias in node.names:
        sub = f"{module}.{alias.name}"
        out.append(sub if sub in known else module)
    return out


def _says_lazy(line: str) -> bool:
    return "#" in line and "lazy" in line[line.index("#") :].lower()


def _commented(lines: list[str], line: int) -> bool:
    """A comment saying "lazy" on the import's line, or just above its block of imports."""
    i = line - 1
    while i >= 0 and lines[i].strip().startswith(("from ", "import ")):
        if _says_lazy(lines[i]):
            return True
        i -= 1
    return i >= 0 and lines[i].strip().startswith("#") and _says_lazy(lines[i])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_imports(name: str, path: Path, known: set[str]) -> list[Import]:
    """Every import of a project module in one file, and whether it runs inside a function."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    is_package = path.name == "__init__.py"
    out = []
    tree = ast.parse(source, filename=str(path))
    todo: list[tuple[ast.AST, bool, bool]] = [(tree, False, False)]
    while todo:
        node, in_function, type_only = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _resolve(child, name, is_package, known):
                    commented = _commented(lines, child.lineno)
                    out.append(
                        Import(name, target, child.lineno, in_function, commented, type_only)
                    )
            function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            checking = isinstance(child, ast.If) and _is_type_checking(child.test)
            todo.append((child, in_function or function, type_only or checking))
    return sorted(out, key=lambda i: i.line)


def imports(root: Path) -> list[Import]:
    mods = modules(root)
    known = set(mods)
    return [imp for name, path in mods.items() for imp in _module_imports(name, path, known)]


def layer(module: str) -> str:
    if module == CLI or module.startswith(CLI + "."):
        return CLI
    if module.startswith("dipkg.core"):
        return "dipkg.core"
    return module.split(".")[0]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layering(found: list[Import]) -> dict[tuple[str, str, str], str]:
    bad = {}
    for imp in found:
        for low, high in FORBIDDEN:
            if layer(imp.importer) == low and _within(imp.target, high):
                bad[("layer", imp.importer, imp.target)] = (
                    f"{imp.importer}:{imp.line} imports {imp.target} ({low} must not import {high})"
                )
    return bad


def cycles(found: list[Import]) -> dict[tuple[str, str, str], str]:
    """Every cycle of imports that run (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        if not imp.type_only and imp.target != imp.importer:
            graph.setdefault(imp.importer, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
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
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return {
        ("cycle", c[0], " ".join(c[1:])): "import cycle among " + ", ".join(c) for c in components
    }


def inner_imports(found: list[Import]) -> dict[tuple[str, str, str], str]:
    bad = {}
    for imp in found:
        if imp.in_function and not imp.commented:
            bad[("function-import", imp.importer, imp.target)] = (
                f"{imp.importer}:{imp.line} imports {imp.target} inside a function without "
                "a comment saying it is lazy and why (# lazy: ...)"
            )
    return bad


def violations(root: Path) -> dict[tuple[str, str, str], str]:
    found = imports(root)
    return {**layering(found), **cycles(found), **inner_imports(found)}


# --- the project -------------------------------------------------------------------------
def test_the_checker_sees_the_project():
    found = imports(ROOT)
    assert len(modules(ROOT)) > 50
    # an edge known to exist, module-level and lazy: the parser and resolver work here
    assert any(i.importer == "kg.build" and i.target == "dipkg.core.release" for i in found)
    assert any(i.importer == CLI and i.in_function and i.target == "kg.build" for i in found)


def test_the_layers_hold_and_nothing_cycles():
    bad = violations(ROOT)
    unexpected = {key: text for key, text in bad.items() if key not in PENDING}
    assert not unexpected, "\n".join(sorted(unexpected.values()))


def test_every_pending_exemption_still_applies():
    """A fixed violation leaves PENDING at once: the list never hides anything."""
    stale = PENDING - set(violations(ROOT))
    assert not stale, f"fixed, remove from PENDING: {sorted(stale)}"


def test_every_module_the_architecture_page_names_exists():
    """docs/architecture.md names modules (`kg.shacl`, `sparql_api.state.AppContext`...):
    each must be a module, or an attribute defined in one, so the page follows the code."""
    import importlib
    import re

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = set(re.findall(r"`((?:dipkg|kg|sparql_api)(?:\.\w+)+)`", text))
    assert len(names) > 20
    missing = []
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(name)
            break
        else:
            missing.append(name)
    assert not missing, f"docs/architecture.md names what the code lacks: {missing}"


# --- a tree that breaks every rule ---------------------------------------------------------
BAD_TREE = {
    "dipkg/__init__.py": "",
    "dipkg/core/__init__.py": "",
    "dipkg/core/contract.py": "from kg import model\n",
    "dipkg/core/other.py": "import sparql_api.app\nfrom .. import cli\n",
    "dipkg/cli.py": (
        "def main():\n"
        "    # lazy: keeps `dipkg --help` fast\n"
        "    from kg import build\n"
        "    from sparql_api import app\n"
        "\n"
        "def other():\n"
        "    from kg.build import run\n"
        "\n"
        "def third():\n"
        "    import sparql_api.endpoint  # the web app\n"
    ),
    "kg/__init__.py": "",
    "kg/build.py": "from kg.catalog import write\nfrom sparql_api.app import create\n",
    "kg/catalog.py": "from . import build\nfrom dipkg.cli import main\n",
    "kg/fine.py": "import json\nfrom dipkg.core import contract\n",
    "sparql_api/__init__.py": "",
    "sparql_api/app.py": "from sparql_api import endpoint, typed\n",
    # under TYPE_CHECKING: no edge for cycles (app -> typed -> app is none), still layered;
    # a function-level import that says why it is lazy is allowed anywhere
    "sparql_api/typed.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from sparql_api.app import create\n"
        "    from kg.model import Scenario\n"
        "def on_error():\n"
        "    from dipkg.core.contract import x  # lazy: only an error needs it\n"
    ),
    "sparql_api/endpoint.py": (
        "import os\n"
        "def handler():\n"
        "    from sparql_api.app import create\n"
        "    from kg.search import SearchIndex\n"
        "    return create\n"
    ),
    "sparql_api/fine.py": "from dipkg.core.contract import x\nfrom .endpoint import handler\n",
}


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    for name, text in BAD_TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_every_rule_fails_on_a_tree_that_breaks_it(bad_tree: Path):
    bad = violations(bad_tree)
    assert set(bad) == {
        ("layer", "dipkg.core.contract", "kg"),
        ("layer", "dipkg.core.other", "sparql_api.app"),
        ("layer", "dipkg.core.other", "dipkg.cli"),
        ("layer", "kg.build", "sparql_api.app"),
        ("layer", "kg.catalog", "dipkg.cli"),
        ("layer", "sparql_api.endpoint", "kg.search"),
        ("layer", "sparql_api.typed", "kg.model"),
        # dipkg.cli's lazy import of kg.build is part of the cycle kg.catalog closes
        ("cycle", "dipkg.cli", "kg.build kg.catalog"),
        # deferred into a function, the import still closes the cycle
        ("cycle", "sparql_api.app", "sparql_api.endpoint"),
        ("function-import", "sparql_api.endpoint", "sparql_api.app"),
        ("function-import", "sparql_api.endpoint", "kg.search"),
        ("function-import", "dipkg.cli", "kg.build"),
        ("function-import", "dipkg.cli", "sparql_api.endpoint"),
    }, "\n".join(sorted(bad.values()))
    # the same project with the violations gone passes
    for name in ("dipkg/core/contract.py", "dipkg/core/other.py", "kg/catalog.py"):
        (bad_tree / name).write_text("import json\n", encoding="utf-8")
    (bad_tree / "kg/build.py").write_text("from kg import catalog\n", encoding="utf-8")
    (bad_tree / "sparql_api/endpoint.py").write_text("import os\n", encoding="utf-8")
    (bad_tree / "sparql_api/typed.py").write_text("import os\n", encoding="utf-8")
    (bad_tree / "dipkg/cli.py").write_text(
        "def main():\n    from kg import build  # lazy: start-up speed\n", encoding="utf-8"
    )
    assert violations(bad_tree) == {}


def test_a_cycle_through_the_web_app_is_found(bad_tree: Path):
    (bad_tree / "sparql_api/endpoint.py").write_text("from sparql_api.app import create\n")
    assert ("cycle", "sparql_api.app", "sparql_api.endpoint") in violations(bad_tree)
