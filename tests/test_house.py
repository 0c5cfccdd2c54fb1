"""The shape of the code (scripts/house.py): no import cycle, no two packages that import each other, no Python file
over 300 lines, no function over 60, main.py at most 40; and, on made-up trees, the same measure failing."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from scripts.house import FILE_LIMIT, FUNCTION_LIMIT, MAIN_LIMIT, cycles, measure, mermaid, problems


def test_the_project_has_no_cycle_and_keeps_every_limit() -> None:
    modules = measure()
    assert {"main", "opencode_cli.app", "opencode_alicloud.instance.user_data", "opencode_settings.loading"} <= set(modules)
    assert problems(modules) == []


def test_no_two_packages_import_each_other() -> None:
    """One direction between the parts: the stacks call what the instance folder renders, never the other way."""
    arrows = set(re.findall(r"^  (m\d+) -->\|\d+\| (m\d+)$", mermaid(measure()), re.M))
    assert arrows, "the picture has no arrow"
    assert {(a, b) for a, b in arrows if (b, a) in arrows} == set()


def test_the_command_line_prints_the_verdict() -> None:
    result = subprocess.run([sys.executable, "scripts/house.py"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
    assert "no cycle, every file and function within the limits" in result.stdout


def _tree(root: Path, files: dict[str, str]) -> Path:
    (root / "main.py").write_text("")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_is_found_also_through_a_late_or_relative_import(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "config/settings_pkg/__init__.py": "from . import team\n",
        "config/settings_pkg/team.py": "def load():\n    from .loading import load_settings\n",
        "config/settings_pkg/loading.py": "from settings_pkg.team import load\ndef load_settings(): pass\n",
        "applications/tool/__init__.py": "",
        "applications/tool/a.py": "from tool import b\nx = 1\n",
        "applications/tool/b.py": "import tool.c\n",
        "applications/tool/c.py": "from tool.a import x\nx = 1\n",  # a -> b -> c -> a: three round
    })
    modules = measure(root)
    assert modules["settings_pkg"].imports == {"settings_pkg.team"}
    assert modules["tool.b"].imports == {"tool.c"}
    assert cycles(modules) == [["settings_pkg.loading", "settings_pkg.team"], ["tool.a", "tool.b", "tool.c"]]
    assert problems(modules) == ["cycle: settings_pkg.loading <-> settings_pkg.team", "cycle: tool.a <-> tool.b <-> tool.c"]


def test_a_cycle_through_a_packages_init_is_found(tmp_path: Path) -> None:
    """Importing pkg.sub runs pkg/__init__ first: pkg/__init__ -> q.x -> pkg.sub is a cycle Python trips on."""
    root = _tree(tmp_path, {
        "constructs/pkg/__init__.py": "from q.x import g\n", "constructs/pkg/sub.py": "f = 1\n",
        "constructs/q/__init__.py": "", "constructs/q/x.py": "from pkg.sub import f\ng = f\n",
    })
    assert cycles(measure(root)) == [["pkg", "q.x"]]


def test_a_long_file_a_long_function_and_a_long_main_are_named(tmp_path: Path) -> None:
    body = "".join(f"    x = {n}\n" for n in range(FUNCTION_LIMIT))  # with its def line: one over the limit
    root = _tree(tmp_path, {
        "constructs/stackpkg/__init__.py": "",
        "constructs/stackpkg/big.py": "\n" * (FILE_LIMIT + 1),
        "constructs/stackpkg/full.py": "\n" * FILE_LIMIT,  # at the limit: fine
        "constructs/stackpkg/fine.py": "def short():\n" + "    pass\n" * (FUNCTION_LIMIT - 1),
        "scripts/tool.py": "def long():\n" + body,
    })
    (root / "main.py").write_text("\n" * (MAIN_LIMIT + 1))
    found = problems(measure(root))
    assert sorted(found) == sorted([
        f"{root / 'constructs/stackpkg/big.py'}: {FILE_LIMIT + 1} lines (at most {FILE_LIMIT})",
        f"{root / 'scripts/tool.py'}: long() is {FUNCTION_LIMIT + 1} lines (at most {FUNCTION_LIMIT})",
        f"{root / 'main.py'}: {MAIN_LIMIT + 1} lines (at most {MAIN_LIMIT})",
    ])


@pytest.mark.parametrize("module", ["host", "domain"])  # domain: ends like main, and is no entry point
def test_two_packages_that_import_each_other_show_both_arrows(tmp_path: Path, module: str) -> None:
    root = _tree(tmp_path, {
        "constructs/stacks/__init__.py": "", f"constructs/stacks/{module}.py": "from rendered.files import render\nx = 1\n",
        "constructs/rendered/__init__.py": "", "constructs/rendered/files.py": f"from stacks.{module} import x\nrender = 1\n",
    })
    picture = mermaid(measure(root))
    arrows = set(re.findall(r"^  (m\d+) -->\|\d+\| (m\d+)$", picture, re.M))
    assert {(a, b) for a, b in arrows if (b, a) in arrows}, picture


def test_the_picture_is_a_mermaid_graph_of_the_packages() -> None:
    result = subprocess.run([sys.executable, "scripts/house.py", "--mermaid"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("graph TD\n")
    for box in ("opencode_settings", "opencode_alicloud.instance", "opencode_cli.commands", "opencode_cli.app", "main"):
        assert f'["{box}<br/>' in result.stdout, box


def test_an_import_that_reaches_no_module_of_the_project_is_named(tmp_path: Path) -> None:
    """A late relative import one level off (as a move leaves it) fails only when its line runs: the measure
    names it at once."""
    root = _tree(tmp_path, {
        "applications/tool/__init__.py": "VERSION = 1\n", "applications/tool/boot.py": "def phases(): pass\n",
        "applications/tool/commands/__init__.py": "",
        "applications/tool/commands/logs.py": "def logs():\n    from .boot import phases\n    from ..boot import phases\n"
                                              "    from .. import boott, VERSION\n    from . import boot\n"
                                              "    from ..boot import stages\n",
        "applications/tool/commands/gone.py": "import tool.moved\nfrom tool.elsewhere import x\nimport json\n",
    })
    gone, logs = root / "applications/tool/commands/gone.py", root / "applications/tool/commands/logs.py"
    assert sorted(problems(measure(root))) == sorted([
        f"{gone}: imports tool.elsewhere, which is not in the project",
        f"{gone}: imports tool.moved, which is not in the project",
        f"{logs}: imports .boot, which is not in the project",  # one level off (twice): no commands/boot.py
        f"{logs}: imports ..boott, which is not in the project",  # a name the package lacks (VERSION it has)
        f"{logs}: imports ..boot.stages, which is not in the project",  # a name the module lacks
    ])
