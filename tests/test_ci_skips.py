"""CI=true turns a skip into a failure (tests/ci_skips.py); outside CI a skip stays a skip, listed with its
reason. Run on a small test file in a child pytest, as CI would run it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SAMPLE = '''
import pytest

pytestmark_tool = pytest.mark.skipif(True, reason="the judge is not installed")

def test_runs():
    assert True

@pytestmark_tool
def test_marked():
    assert True

def test_inside():
    pytest.skip("no root here")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
'''
MODULE_LEVEL = 'import pytest\npytest.skip("no squid here", allow_module_level=True)\n'


def run(tmp_path: Path, source: str, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(HERE)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "ci_skips", "-p", "no:cacheprovider", "-ra", "-q",
                           "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_sample.py")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)


@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_a_skip_stays_a_skip_with_its_reason(tmp_path: Path, ci: str | None) -> None:
    result = run(tmp_path, SAMPLE, ci)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in result.stdout
    assert "the judge is not installed" in result.stdout and "no root here" in result.stdout


def test_under_ci_every_skip_fails_the_run_and_says_why(tmp_path: Path) -> None:
    result = run(tmp_path, SAMPLE, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in result.stdout  # a skip in setup fails the setup
    failures = [line for line in result.stdout.splitlines() if "skipped under CI=true, which counts as a failure" in line]
    assert any("the judge is not installed" in line for line in failures), result.stdout
    assert any("no root here" in line for line in failures), result.stdout


def test_under_ci_a_module_that_skips_itself_fails_too(tmp_path: Path) -> None:
    assert run(tmp_path, MODULE_LEVEL, None).returncode == 5  # no test ran: pytest's own exit 5
    result = run(tmp_path, MODULE_LEVEL, "true")
    assert result.returncode != 0 and "no squid here" in result.stdout, result.stdout


def test_the_suite_itself_runs_with_the_hooks() -> None:
    """conftest.py carries the hooks (a test file run through -p alone would not show it)."""
    import ci_skips
    import conftest

    assert conftest.pytest_runtest_makereport is ci_skips.pytest_runtest_makereport
    assert conftest.pytest_make_collect_report is ci_skips.pytest_make_collect_report


def test_ci_1_counts_as_ci(tmp_path: Path) -> None:
    assert run(tmp_path, SAMPLE, "1").returncode == 1
