"""The shape of the project's own code, measured from its files: every module, the imports between them, the
cycles, an import of the project's that reaches no module, and the limits (no Python file over 300 lines, no function over 60, main.py at most 40). The tests hold
the code to the limits (tests/test_house.py); the docs draw the picture from the same measure
(docs/development/architecture.md).
    .venv/bin/python scripts/house.py             # the limits broken and the cycles, exit 1 if any
    .venv/bin/python scripts/house.py --mermaid   # the picture, package by package, as a mermaid graph"""
from __future__ import annotations

import ast
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = ("constructs", "config", "applications")  # each holds packages (pyproject: packages.find)
FILE_LIMIT, FUNCTION_LIMIT, MAIN_LIMIT = 300, 60, 40


@dataclass
class Module:
    name: str  # the dotted name Python imports it by
    path: Path
    lines: int
    imports: set[str] = field(default_factory=set)  # the project's modules it imports (any import, also a late one)
    broken: set[str] = field(default_factory=set)  # imports of the project's packages that reach no module
    long_functions: list[tuple[str, int]] = field(default_factory=list)

    @property
    def package(self) -> str:
        is_init = self.path.name == "__init__.py"
        return self.name if is_init or "." not in self.name else self.name.rsplit(".", 1)[0]


def _files(root: Path) -> dict[str, Path]:
    """The project's own Python, by module name: the packages, main.py, the scripts and the docs' hooks (the
    tests, the generated bindings and the virtualenv aside)."""
    found = {"main": root / "main.py"}
    for source in SOURCE_ROOTS:
        for path in sorted((root / source).rglob("*.py")):
            parts = path.relative_to(root / source).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for folder in ("scripts", "docs"):
        for path in sorted((root / folder).rglob("*.py")) if (root / folder).is_dir() else []:
            found[".".join(path.relative_to(root).with_suffix("").parts)] = path
    return found


def _imported(node: ast.Import | ast.ImportFrom, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The project's modules an import statement reaches (`from a import b` reaches a.b when it is a module)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    base = node.module or ""
    if node.level:
        package = name.split(".") if is_package else name.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    reached = {f"{base}.{alias.name}" for alias in node.names} & known
    named_in_base = any(f"{base}.{alias.name}" not in known for alias in node.names)
    return reached | ({base} if base in known and named_in_base else set())


def _broken(node: ast.Import | ast.ImportFrom, name: str, is_package: bool, known: set[str]) -> set[str]:
    """What an import of the project's own packages names that is no module of them (a module moved away, a
    relative import one level off): Python would fail there, late imports only when the line runs."""
    tops = {module.split(".")[0] for module in known}
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.split(".")[0] in tops and alias.name not in known}
    if not node.level and (node.module or "").split(".")[0] not in tops:
        return set()
    package = name.split(".") if is_package else name.split(".")[:-1]
    base = ".".join([*package[: len(package) - (node.level - 1)], *([node.module] if node.module else [])]) \
        if node.level else node.module or ""
    reached = base in known or any(module.startswith(base + ".") for module in known)  # a folder without __init__
    return set() if reached else {"." * node.level + (node.module or "")}


def measure(root: Path = ROOT) -> dict[str, Module]:
    files = _files(root)
    known = set(files)
    modules: dict[str, Module] = {}
    for name, path in files.items():
        text = path.read_text()
        module = Module(name, path, text.count("\n"))
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module.imports |= _imported(node, name, path.name == "__init__.py", known) - {name}
                module.broken |= _broken(node, name, path.name == "__init__.py", known)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LIMIT:
                    module.long_functions.append((node.name, length))
        modules[name] = module
    return modules


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Every group of modules that import each other, round and round (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in sorted(modules[name].imports):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(modules)))
    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


def problems(modules: dict[str, Module]) -> list[str]:
    """Each limit broken and each cycle, one line each."""
    lines = [f"cycle: {' <-> '.join(group)}" for group in cycles(modules)]
    for module in modules.values():
        where = module.path.relative_to(ROOT) if module.path.is_relative_to(ROOT) else module.path
        limit = MAIN_LIMIT if module.name == "main" else FILE_LIMIT
        if module.lines > limit:
            lines.append(f"{where}: {module.lines} lines (at most {limit})")
        lines += [f"{where}: {function}() is {length} lines (at most {FUNCTION_LIMIT})"
                  for function, length in module.long_functions]
        lines += [f"{where}: imports {missing}, which is no module of the project" for missing in sorted(module.broken)]
    return lines


ENTRY_POINTS = ("main", ".app", ".__main__")  # what the user runs: drawn apart from its package, which it imports


def _box(module: Module) -> str:
    return module.name if module.name.endswith(ENTRY_POINTS) else module.package


def mermaid(modules: dict[str, Module]) -> str:
    """The picture: one box per package (its lines; an entry point apart), one arrow per box that imports another
    (how many imports). The scripts and the docs' hooks, tools around the code, are measured but not drawn."""
    drawn = {name: module for name, module in modules.items() if not name.startswith(("scripts.", "docs."))}
    sizes = Counter[str]()
    arrows = Counter[tuple[str, str]]()
    for module in drawn.values():
        sizes[_box(module)] += module.lines
        for other in module.imports & set(drawn):
            if _box(drawn[other]) != _box(module):
                arrows[(_box(module), _box(drawn[other]))] += 1
    ids = {box: f"m{number}" for number, box in enumerate(sorted(sizes))}
    lines = ["graph TD"]
    lines += [f'  {ids[box]}["{box}<br/>{sizes[box]:,} lines"]' for box in sorted(sizes)]
    lines += [f"  {ids[a]} -->|{count}| {ids[b]}" for (a, b), count in sorted(arrows.items())]
    return "\n".join(lines)

if __name__ == "__main__":
    measured = measure()
    if sys.argv[1:] == ["--mermaid"]:
        print(mermaid(measured))
        sys.exit(0)
    found = problems(measured)
    print("\n".join(found) or f"{len(measured)} modules: no cycle, every file and function within the limits")
    sys.exit(1 if found else 0)
