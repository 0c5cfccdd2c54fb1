"""Run checkov (its Alibaba checks plus ours in checks/) on a synthesized stack.

A finding may be suppressed only by an entry in config/policy-suppressions.toml that names
the check id, optionally the resource address, and a written reason.
"""
from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CHECKS_DIR = Path(__file__).parent / "checks"
OUR_CHECK_IDS = ("CKV_OCA_1", "CKV_OCA_2", "CKV_OCA_3", "CKV_OCA_4", "CKV_OCA_5")


class PolicyConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Suppression:
    check_id: str
    reason: str
    resource: str = "*"  # a glob over checkov's resource names: "resource.<logical id>"

    def matches(self, finding: "Finding") -> bool:
        return finding.check_id == self.check_id and fnmatch.fnmatchcase(finding.resource, self.resource)


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str
    name: str
    details: tuple[str, ...] = ()


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


def load_suppressions(path: Path) -> list[Suppression]:
    if not path.is_file():
        return []
    entries = tomllib.loads(path.read_text()).get("suppress", [])
    suppressions = []
    for index, entry in enumerate(entries):
        reason = str(entry.get("reason", "")).strip()
        check_id = str(entry.get("id", "")).strip()
        if not check_id:
            raise PolicyConfigError(f"{path}: suppress[{index}] has no id")
        if len(reason) < 10:
            raise PolicyConfigError(f"{path}: suppress[{index}] ({check_id}) needs a written reason")
        suppressions.append(Suppression(check_id, reason, str(entry.get("resource", "*"))))
    return suppressions


def _checkov() -> str:
    sibling = Path(sys.executable).parent / "checkov"
    return str(sibling) if sibling.exists() else (shutil.which("checkov") or "checkov")


def run_policy(stack_dir: Path, suppressions: list[Suppression] | None = None) -> PolicyReport:
    result = subprocess.run(
        [
            _checkov(),
            "--directory", str(stack_dir),
            "--framework", "terraform_json",
            "--external-checks-dir", str(CHECKS_DIR),
            "--skip-download",
            "--compact",
            "--output", "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    document = json.loads(result.stdout)
    reports = document if isinstance(document, list) else [document]
    report = PolicyReport()
    for checkov_report in reports:
        results = checkov_report.get("results", {})
        for item in results.get("passed_checks", []):
            report.passed.append(Finding(item["check_id"], item["resource"], item["check_name"]))
        for item in results.get("failed_checks", []):
            finding = Finding(item["check_id"], item["resource"], item["check_name"], tuple(item.get("details") or ()))
            match = next((s for s in suppressions or [] if s.matches(finding)), None)
            if match:
                report.suppressed.append((finding, match.reason))
            else:
                report.failed.append(finding)
    return report
