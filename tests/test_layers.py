"""The package's four layers and the one direction of their imports (README, "Design").

containment < harness < vocabulary < frontend: a module imports its own layer and the layers
below it, never above; `grader.settings` is below them all. Case modules import the public
surface (`grader`) and the vocabulary only. No two modules import each other, however far
round: a circle is how a layer boundary starts to blur. Imports inside `if TYPE_CHECKING:`
count for the direction (they still couple the layers) but not for circles (they never run).
"""
from __future__ import annotations

import ast
from pathlib import Path

from support import ROOT

PACKAGE = ROOT / "grader"
ORDER = ["settings", "containment", "harness", "vocabulary", "frontend"]


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, only for type checking) for every grader import in path."""
    tree = ast.parse(path.read_text())
    typing_only = _type_checking_lines(tree)
    here = _name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno in typing_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for a in node.names:
                found.append((f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base,
                              node.lineno in typing_only))
    return [(m, t) for m, t in found if m == "grader" or m.startswith("grader.")]


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ORDER:
        return parts[1]
    return None                     # grader itself (the public surface) or grader.__main__


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_lives_in_a_layer():
    loose = [m for m in _modules() if _layer(m) is None
             and m not in ("grader", "grader.__main__")]
    assert not loose, f"modules outside the four layers: {loose}"


def test_imports_go_down_the_layers_only():
    wrong = []
    for module, path in _modules().items():
        mine = _layer(module)
        if mine is None:
            continue
        for target, _ in _imports(path):
            theirs = _layer(target)
            if theirs is None or ORDER.index(theirs) > ORDER.index(mine):
                wrong.append(f"{module} ({mine}) imports {target} ({theirs or 'the surface'})")
    assert not wrong, "\n".join(wrong)


def test_cases_import_the_vocabulary_only():
    wrong = []
    for path in sorted((ROOT / "cases").rglob("*.py")):
        for target, _ in _imports(path):
            if target != "grader" and _layer(target) not in ("vocabulary", "settings"):
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles():
    graph = {module: {t for t, typing_only in _imports(path) if not typing_only and t != module}
             for module, path in _modules().items()}
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    # a package's __init__ importing its own modules, which import it back, is no circle
    real = [c for c in circles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c[1:])]
    assert not real, "\n".join(" -> ".join(c) for c in real)
