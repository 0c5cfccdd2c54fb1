"""opencode-alicloud's own policy rules (policy/rules/), as checkov checks: checkov stays the
external judge of the synthesized JSON, with the same rules the synth-time Aspect applies."""
from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from opencode_alicloud.policy.rules import Rule, all_rules

CATEGORIES = {
    "CKV_OCA_1": CheckCategories.NETWORKING,
    "CKV_OCA_2": CheckCategories.NETWORKING,
    "CKV_OCA_3": CheckCategories.IAM,
    "CKV_OCA_4": CheckCategories.ENCRYPTION,
    "CKV_OCA_5": CheckCategories.SECRETS,
    "CKV_OCA_6": CheckCategories.LOGGING,
    "CKV_OCA_7": CheckCategories.NETWORKING,
}


def plain(value: Any) -> Any:
    """checkov hands every attribute over as a one-item list; blocks as lists of such dicts."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            return [plain(item) for item in value]
        return plain(value[0]) if len(value) == 1 else [plain(item) for item in value]
    return value


class RuleCheck(BaseResourceCheck):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        super().__init__(name=rule.title, id=rule.id, categories=[CATEGORIES[rule.id]],
                         supported_resources=list(rule.resource_types))

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        found = self.rule.violations(self.entity_type, plain(conf))
        self.details.extend(found)
        return CheckResult.FAILED if found else CheckResult.PASSED


CHECKS = [RuleCheck(rule) for rule in all_rules()]
