"""Suppressions of policy findings: only in config/policy-suppressions.toml, each with its rule id,
optionally a resource glob ("resource.<logical id>"), and a written reason."""
from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

SUPPRESSIONS_FILE = Path(__file__).resolve().parents[3] / "config" / "policy-suppressions.toml"


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


