"""CKV_OCA_6: an audit trail's logs are kept at least 180 days (its OSS bucket's lifecycle, its logstore's TTL)."""
from __future__ import annotations

from typing import Any

from opencode_settings import AUDIT_MIN_DAYS, AUDIT_PURPOSE

from .base import Rule

AUDIT_LOGSTORE = "actiontrail"


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    if resource_type == "alicloud_log_store":
        if conf.get("logstore_name") != AUDIT_LOGSTORE:
            return []
        days = conf.get("retention_period")
        return [] if isinstance(days, int) and days >= AUDIT_MIN_DAYS else [f"the trail's logstore keeps {days} days"]
    tags = _one(conf.get("tags")) or {}
    if not isinstance(tags, dict) or tags.get("purpose") != AUDIT_PURPOSE:
        return []
    found = []
    for rule in conf.get("lifecycle_rule") or []:
        if rule.get("enabled") is False:
            continue
        for block in ("expiration", "noncurrent_version_expiration"):
            for item in rule.get(block) or []:
                days = _one(item.get("days"))
                if isinstance(days, int) and days < AUDIT_MIN_DAYS:
                    found.append(f"lifecycle rule {rule.get('id')!r} {block.replace('_', ' ')} after {days} days")
    return found


RULE = Rule(
    id="CKV_OCA_6",
    title=f"An audit trail's logs are kept at least {AUDIT_MIN_DAYS} days",
    reason="Security reviews look back months; a trail that forgets in weeks cannot answer who did what.",
    fix=f"set audit.retention_days to {AUDIT_MIN_DAYS} or more",
    resource_types=("alicloud_oss_bucket", "alicloud_log_store"),
    violations=violations,
)
