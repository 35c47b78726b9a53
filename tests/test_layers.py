"""The floor plan holds: the root keeps only the entry points, every import goes down the
layers (models at the bottom, then rules, then workflows, activities and store, then intake,
then the application layer, then the fronts), no import circle, and the CLI reaches the
engine only through `app/`. Read from the source with `ast`, lazy imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A package may import its own layer and those below it, never one above.
LAYERS: dict[str, int] = {
    "models": 0,
    "rules": 1,
    "districts": 1,
    "infra": 1,
    "workflows": 2,
    "activities": 2,
    "store": 2,
    "intake": 3,
    "app": 4,
    "worker": 4,  # the worker service, which `transfers worker` and `transfers dev` run
    "cli": 5,
    "web": 5,  # the staff console: a front, like the CLI
    "starter": 6,
}
ENTRY_POINTS = {"starter.py", "worker.py"}
CLI_MAY_NOT_IMPORT = ("workflows", "store", "temporalio")


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.glob("*.py"):
        found[path.stem] = path
    for package in LAYERS:
        folder = ROOT / package
        if folder.is_dir():
            for path in folder.rglob("*.py"):
                if "migrations" in path.parts:
                    continue
                parts = path.relative_to(ROOT).with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth of its code, absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _project_imports(path: Path) -> set[str]:
    """The project's modules ``path`` imports (a name imported from a module counts as the
    module)."""
    return {name for name in _imports(path) if name in MODULES}


def test_the_root_holds_only_the_entry_points() -> None:
    loose = sorted(p.name for p in ROOT.glob("*.py") if p.name not in ENTRY_POINTS)
    assert loose == [], f"modules loose at the root: {loose}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_runs_up_a_layer(name: str) -> None:
    own = LAYERS[name.split(".")[0]]
    upward = sorted(
        imported for imported in _project_imports(MODULES[name])
        if LAYERS[imported.split(".")[0]] > own
    )
    assert upward == [], f"{name} (layer {own}) imports from above it: {upward}"


def test_no_import_circle() -> None:
    graph = {name: _project_imports(path) - {name} for name, path in MODULES.items()}
    # A package's __init__ importing its own modules is how Python packages work, not a
    # circle between modules.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circle = trail[trail.index(name):] + [name]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.split(".")[0] in ("cli", "web")))
def test_the_fronts_call_only_the_application_layer(name: str) -> None:
    reached = sorted(
        imported for imported in _imports(MODULES[name])
        if imported.split(".")[0] in CLI_MAY_NOT_IMPORT
    )
    assert reached == [], f"{name} reaches past app/: {reached}"


def test_the_checks_can_fail() -> None:
    """The walk finds a lazy import inside a function, which is where a shortcut hides."""
    sample = ROOT / "tests" / "test_layers.py"
    assert "ast" in _imports(sample)
    assert "pathlib.Path" in _imports(sample)
