"""The shape of the package, as the store's issue set it: its size, its modules' sizes, who
imports rich, no circle of imports, and no function of more than six parameters."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "korea_news"
CEILING = 4_903  # the package's lines: lower it as the package shrinks, never raise it
MODULE, CLI, PARAMETERS = 450, 350, 6


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(PACKAGE.glob("*.py"))}


def runtime_imports(tree: ast.Module) -> set[str]:
    """The package's modules that a module imports when it runs (not for type checking)."""
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        for inner in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in typing_only:
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found.update(name.split(".")[0] for name in names)
    return found


def test_the_package_and_its_modules_stay_within_their_lines():
    lines = {path.name: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}
    assert sum(lines.values()) <= CEILING
    assert {name: n for name, n in lines.items() if n > MODULE} == {}
    assert lines["cli.py"] <= CLI


def test_only_output_imports_rich():
    importers = set()
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                given = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                given += [alias.name for alias in node.names]
                if any(module == "rich" or module.startswith("rich.") for module in given):
                    importers.add(name)
    assert importers == {"output"}


def test_no_module_imports_one_that_imports_it_back():
    graph = {name: runtime_imports(tree) - {name} for name, tree in modules().items()}
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(graph.get(name, ()))
        assert start not in seen, f"{start} imports itself through {sorted(graph[start])}"


def test_no_function_but_a_command_takes_more_than_six_parameters():
    found = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                arguments = node.args
                given = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
                count = len([a for a in given if a.arg not in ("self", "cls")])
                command = any("command" in ast.unparse(d) for d in node.decorator_list)
                if count > PARAMETERS and not command:
                    found.append(f"{name}.{node.name}: {count}")
    assert found == []
