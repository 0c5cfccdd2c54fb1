"""Docs that must match the code (the docs site and its generated reference pages: test_docs_site.py)."""
from __future__ import annotations

import os
import re
import subprocess

from conftest import ROOT, VARIANTS, synth

README = (ROOT / "README.md").read_text()
UPGRADES = ROOT / "docs" / "guides" / "upgrades.md"  # where the password rotation is told


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == [
        "./scripts/setup && .venv/bin/python main.py",
        "./scripts/test",
    ]
    assert (ROOT / ".ci" / "run").read_text().count("./scripts/test") == 1


def test_bench_runs_without_the_test_tools() -> None:
    """scripts/bench works after the README's first command alone (no --dev packages)."""
    blocked = "import sys, runpy\nfor m in ('pytest', 'tf', 'hypothesis', 'checkov', 'check_jsonschema'): sys.modules[m] = None\n" \
              "sys.argv = ['scripts/bench.py']\nrunpy.run_path('scripts/bench.py', run_name='__main__')\n"
    env = {**os.environ, "BENCH_RUNS": "1"}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", blocked], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dependency graph depth:" in result.stdout and "user-data (default):" in result.stdout


def test_the_password_rotation_command_names_one_resource(tmp_path) -> None:
    """The upgrades guide's `terraform state list | grep ...` must pick the login password only, also when the
    model server adds a second random_password."""
    pattern = re.search(r"grep '(\^random_password[^']*)'", UPGRADES.read_text())
    assert pattern, f"rotation command not found in {UPGRADES.relative_to(ROOT)}"
    document = synth(tmp_path, **VARIANTS["model-server"])
    addresses = [f"random_password.{name}" for name in document["resource"]["random_password"]]
    assert len(addresses) == 2
    matching = [a for a in addresses if re.search(pattern[1].replace("\\\\", "\\"), a)]
    assert matching == [a for a in addresses if a.startswith("random_password.login_password")]


def test_the_cost_views_state_the_assumptions_the_estimate_makes(tmp_path) -> None:
    """The views table's hours, times and discounts (its figures are tests/test_cost.py's) are the estimate's."""
    from opencode_cost import estimate
    from opencode_cost.estimate import SPOT_DISCOUNT
    from opencode_settings import CostSettings
    from opencode_settings.schedule import ScheduleSettings

    cost, schedule = CostSettings(), ScheduleSettings()
    result = estimate({"opencode": synth(tmp_path)}, cost)
    guide = (ROOT / "docs" / "guides" / "cost.md").read_text()
    section = guide[guide.index("## The same stack, used differently"):guide.index("## What the seed quoted")]
    rows = {row.split("|")[1].strip(): row for row in section.splitlines() if row.startswith("| ")}
    assert f"{cost.hours_per_month:g} h" in rows["always on"]
    assert f"{schedule.start}-{schedule.stop} {schedule.weekdays}" in rows["schedule"]
    assert f"{result.schedule_hours():.0f} h a month" in rows["schedule"]
    assert f"{cost.usage_hours_per_month:g} h a month" in rows["idle stop"]
    assert f"{SPOT_DISCOUNT[0] * 100:.0f}-{SPOT_DISCOUNT[1] * 100:.0f} %" in rows["spot"]


def test_the_readme_cost_rows_name_what_the_estimate_prices_and_its_sources_dates(tmp_path) -> None:
    """Each row of the README's default estimate, in the estimate's order: its sizes and the instance type are
    the priced item's, and its price's date, confidence and quoted price are the table row's ("same": the row above's)."""
    from opencode_cost import estimate
    from opencode_settings import CostSettings

    priced = [line for line in estimate({"opencode": synth(tmp_path)}, CostSettings()).lines if line.payg is not None]
    section = README[README.index("The default stack, from the table"):README.index("[end:default-estimate]")]
    rows = [row for row in section.splitlines() if row.startswith("| ") and "---" not in row][1:-1]
    assert len(rows) == len(priced)
    source = ""
    for line, row in zip(priced, rows):
        item, source = row.split("|")[1], (source if row.split("|")[4].strip() == "same" else row.split("|")[4])
        sizes = re.findall(r"\d+ (?:GiB|GB|days)", line.usage.what) + re.findall(r"ecs\.[\w.-]+", line.usage.what)
        assert all(size in item for size in sizes), (line.usage.what, item)
        date = "current docs" if line.payg.source_date == "current" else line.payg.source_date
        assert date in source and line.payg.confidence in source, (line.usage.what, source)
        for figure in re.findall(r"\d+\.\d+", source):  # a price quoted there is the table's
            assert figure == f"{line.payg.usd:g}" or figure in line.payg.label, (line.usage.what, figure)
