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


def _defined(tree: ast.Module) -> tuple[set[str], bool]:
    """The names a module defines at its top level (also under an if or a try), and whether it star-imports."""
    names: set[str] = set()
    star = False
    statements = list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {leaf.id for target in targets for leaf in ast.walk(target) if isinstance(leaf, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            star |= any(alias.name == "*" for alias in node.names)
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            statements += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                           *(child for handler in getattr(node, "handlers", []) for child in handler.body)]
    return names, star


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


@dataclass(frozen=True)
class _Tree:
    known: set[str]
    defined: dict[str, tuple[set[str], bool]]
    tops: set[str]  # the project's top-level packages (and main, scripts, docs): imports of anything else are not its

    def reach(self, node: ast.Import | ast.ImportFrom, name: str, is_package: bool) -> tuple[set[str], set[str]]:
        """The project's modules an import statement runs (`from a import b`: a.b when it is a module; a package's
        __init__ before any module in it, unless the importer sits in that package already), and what it names
        that does not exist (a module moved away, a relative import one level off, a name the package lacks):
        Python fails there, a late import only when its line runs."""
        if isinstance(node, ast.Import):
            wanted = [alias.name for alias in node.names if alias.name.split(".")[0] in self.tops]
            reached, broken = {m for m in wanted if m in self.known}, {m for m in wanted if m not in self.known}
        elif not node.level and (node.module or "").split(".")[0] not in self.tops:
            return set(), set()
        else:
            package = name.split(".") if is_package else name.split(".")[:-1]
            base = ".".join([*package[: len(package) - (node.level - 1)], *([node.module] if node.module else [])]) \
                if node.level else node.module or ""
            shown = "." * node.level + (node.module or "")
            reached, broken = set(), set()
            if not (base in self.known or any(module.startswith(base + ".") for module in self.known)):
                return set(), {shown}  # no such module or folder
            for alias in node.names:
                missing = f"{shown}.{alias.name}" if node.module else shown + alias.name
                if f"{base}.{alias.name}" in self.known:
                    reached.add(f"{base}.{alias.name}")
                elif base in self.known:
                    reached.add(base)
                    names, star = self.defined[base]
                    if alias.name != "*" and alias.name not in names and not star:
                        broken.add(missing)
                else:  # a folder without __init__ (a namespace): only its modules can be imported
                    broken.add(missing)
        mine = _ancestors(name) | ({name} if is_package else set())
        return reached | {a for m in reached for a in _ancestors(m) if a in self.known} - mine, broken


def measure(root: Path = ROOT) -> dict[str, Module]:
    files = _files(root)
    texts = {name: path.read_text() for name, path in files.items()}
    trees = {name: ast.parse(texts[name], str(path)) for name, path in files.items()}
    tree = _Tree(set(files), {name: _defined(parsed) for name, parsed in trees.items()},
                 {name.split(".")[0] for name in files})
    modules: dict[str, Module] = {}
    for name, path in files.items():
        module = Module(name, path, texts[name].count("\n"))
        for node in ast.walk(trees[name]):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                reached, broken = tree.reach(node, name, path.name == "__init__.py")
                module.imports |= reached - {name}
                module.broken |= broken
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
        lines += [f"{where}: imports {missing}, which is not in the project" for missing in sorted(module.broken)]
    return lines


ENTRY_POINTS = (".app", ".__main__")  # what the user runs (and main): drawn apart from the package it imports


def _box(module: Module) -> str:
    return module.name if module.name == "main" or module.name.endswith(ENTRY_POINTS) else module.package


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
