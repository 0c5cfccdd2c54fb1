"""MkDocs hook: the architecture page's picture of the code and its table of modules, measured from the code at
build time by scripts/house.py (the same measure tests/test_house.py holds the code to). The page asks for them
with HTML comment lines naming house:picture, house:verdict and house:modules."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _house() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from scripts import house

    return house


def _summary(path: Path) -> str:
    """The first sentence of a module's docstring, on one line."""
    doc = " ".join((ast.get_docstring(ast.parse(path.read_text())) or "").split("\n\n")[0].split())
    first = re.match(r"(.+?\.)(\s|$)", doc)
    return (first[1] if first else doc).replace("|", "\\|")


def modules_table(modules: dict[str, Any]) -> str:
    rows = ["| module | file | lines | what it is |", "|---|---|---|---|"]
    for name in sorted(modules, key=lambda n: (n.startswith(("scripts.", "docs.")), n)):
        module = modules[name]
        rows.append(f"| `{name}` | `{module.path.relative_to(ROOT)}` | {module.lines} | {_summary(module.path)} |")
    return "\n".join(rows)


PAGE = "development/architecture.md"
MARKERS = ("<!-- house:picture -->", "<!-- house:verdict -->", "<!-- house:modules -->")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    lines = re.findall(r"^\s*<!--\s*house:.*$", markdown, re.M | re.I)
    if not lines and page.file.src_uri != PAGE:
        return markdown
    if page.file.src_uri != PAGE or sorted(line.strip() for line in lines) != sorted(MARKERS):  # a misspelt marker
        raise ValueError(f"{page.file.src_uri}: the house's markers are {', '.join(MARKERS)}, once each, on {PAGE} only")
    house = _house()
    modules = house.measure(ROOT)
    found = house.problems(modules)
    verdict = (f"**{len(modules)} modules: no import cycle; no Python file over {house.FILE_LIMIT} lines, no function "
               f"over {house.FUNCTION_LIMIT}, main.py at most {house.MAIN_LIMIT} lines.**" if not found else
               "**The code breaks the house's rules:**\n\n" + "\n".join(f"- {line}" for line in found))
    return (markdown.replace("<!-- house:picture -->", f"```mermaid\n{house.mermaid(modules)}\n```")
            .replace("<!-- house:verdict -->", verdict)
            .replace("<!-- house:modules -->", modules_table(modules)))
