"""Run checkov (its Alibaba checks plus ours in checks/) on a synthesized stack.

A finding may be suppressed only by an entry in config/policy-suppressions.toml that names
the check id, optionally the resource address, and a written reason.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .rules import all_rules
from .suppressions import Finding, PolicyConfigError, Suppression, load_suppressions  # noqa: F401

CHECKS_DIR = Path(__file__).parent / "checks"
OUR_CHECK_IDS = tuple(rule.id for rule in all_rules())


@dataclass
class PolicyReport:
    passed: list[Finding] = field(default_factory=list)
    failed: list[Finding] = field(default_factory=list)
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)

    def evaluated(self) -> set[str]:
        return {f.check_id for f in self.passed + self.failed} | {f.check_id for f, _ in self.suppressed}

    def render(self) -> str:
        lines = [f"policy: {len(self.passed)} passed, {len(self.failed)} failed, {len(self.suppressed)} suppressed"]
        for finding in self.failed:
            extra = f" ({'; '.join(finding.details)})" if finding.details else ""
            lines.append(f"  FAIL {finding.check_id} {finding.resource}: {finding.name}{extra}")
        for finding, reason in self.suppressed:
            lines.append(f"  SUPPRESSED {finding.check_id} {finding.resource}: {reason}")
        return "\n".join(lines)


def _checkov() -> str:
    sibling = Path(sys.executable).parent / "checkov"
    return str(sibling) if sibling.exists() else (shutil.which("checkov") or "checkov")


def run_policy(stack_dir: Path, suppressions: list[Suppression] | None = None) -> PolicyReport:
    """checkov's verdict on the stack in `stack_dir` (its cdk.tf.json), suppressions applied."""
    return run_policies({"": stack_dir}, suppressions)[""]


def run_policies(stack_dirs: dict[str, Path], suppressions: list[Suppression] | None = None) -> dict[str, PolicyReport]:
    """One checkov run over several folders of stacks (each file judged as a run of its own would judge it):
    a report per key, holding every file under its folder. checkov's start-up costs seconds. The folders may
    not overlap, and a folder in which checkov judged nothing is an error, never an empty pass."""
    folders = {key: path.resolve() for key, path in stack_dirs.items()}
    for key, folder in folders.items():
        inside = [other for other, path in folders.items() if other != key and path.is_relative_to(folder)]
        if inside:
            raise ValueError(f"policy folders overlap: {folder} holds {', '.join(str(folders[o]) for o in inside)}")
    parent = Path(os.path.commonpath([str(path) for path in folders.values()]))
    result = subprocess.run(
        [
            _checkov(),
            "--directory", str(parent),
            "--framework", "terraform_json",
            "--external-checks-dir", str(CHECKS_DIR),
            "--skip-download",
            "--compact",
            "--output", "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    document = json.loads(result.stdout)
    reports = {key: PolicyReport() for key in stack_dirs}
    for checkov_report in document if isinstance(document, list) else [document]:
        results = checkov_report.get("results", {})
        for outcome in ("passed_checks", "failed_checks"):
            for item in results.get(outcome, []):
                where = (parent / item["file_path"].lstrip("/")).resolve()
                key = next((k for k, folder in folders.items() if where.is_relative_to(folder)), None)
                if key is None:
                    continue  # a file beside the folders asked for, under their common parent
                details = tuple(item.get("details") or ()) if outcome == "failed_checks" else ()
                finding = Finding(item["check_id"], item["resource"], item["check_name"], details)
                report = reports[key]
                match = next((s for s in suppressions or [] if s.matches(finding)), None) if outcome == "failed_checks" else None
                if outcome == "passed_checks":
                    report.passed.append(finding)
                elif match:
                    report.suppressed.append((finding, match.reason))
                else:
                    report.failed.append(finding)
    empty = [str(folders[key]) for key, report in reports.items() if not report.evaluated()]
    if empty:
        raise RuntimeError(f"checkov judged nothing in {', '.join(empty)}: no synthesized stack there?")
    return reports
